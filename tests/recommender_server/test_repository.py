"""The Triton-style model repository: the committed config parses as Triton's ModelConfig, and
version folders follow Triton's version policy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from recommender_server.repository import RepositoryError, load_entry, select_versions


def test_committed_config_is_a_triton_model_config(committed_repository: Path) -> None:
    model_dir = committed_repository / "sasrec"
    config = text_format.Parse((model_dir / "config.pbtxt").read_text(), mc.ModelConfig())
    assert config.name == "sasrec"
    assert config.platform == "onnxruntime_onnx"
    assert config.max_batch_size >= 64
    assert config.HasField("dynamic_batching")
    (inp,) = config.input
    assert (inp.name, inp.data_type, list(inp.dims)) == ("movie_ids", mc.TYPE_INT64, [200])
    (out,) = config.output
    assert (out.name, out.data_type, list(out.dims)) == ("scores", mc.TYPE_FP32, [3706])
    labels = (model_dir / out.label_filename).read_text().split()
    assert len(labels) == 3706 and labels == sorted(labels, key=int)
    assert (model_dir / "1" / "model.onnx").stat().st_size > 100_000


def _policy(text: str) -> mc.ModelConfig:
    return text_format.Parse(text, mc.ModelConfig())


@pytest.mark.parametrize(
    ("policy", "chosen"),
    [
        ("", [3]),
        ("version_policy { latest { num_versions: 2 } }", [2, 3]),
        ("version_policy { all { } }", [1, 2, 3]),
        ("version_policy { specific { versions: [1, 3, 9] } }", [1, 3]),
    ],
)
def test_version_policy(policy: str, chosen: list[int]) -> None:
    assert select_versions(_policy(policy), [1, 2, 3]) == chosen


def test_highest_version_folder_is_served(tiny_repository: Path) -> None:
    entry = load_entry(tiny_repository, "sasrec")
    assert list(entry.versions) == [2]
    assert entry.latest_version == 2
    assert entry.labels["scores"][:3] == ["1", "2", "3"]


def test_version_policy_in_the_config_wins(tiny_repository: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(tiny_repository, repo)
    config_path = repo / "sasrec" / "config.pbtxt"
    config = text_format.Parse(config_path.read_text(), mc.ModelConfig())
    config.version_policy.specific.versions.append(1)
    config_path.write_text(text_format.MessageToString(config))
    assert list(load_entry(repo, "sasrec").versions) == [1]


def test_repository_errors_name_what_is_wrong(tiny_repository: Path, tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="model 'nope' not found"):
        load_entry(tiny_repository, "nope")
    repo = tmp_path / "repo"
    shutil.copytree(tiny_repository, repo)
    (repo / "sasrec" / "movie_ids.txt").unlink()
    with pytest.raises(RepositoryError, match=r"movie_ids\.txt not found: named by output 'scores'"):
        load_entry(repo, "sasrec")
    (repo / "sasrec" / "config.pbtxt").write_text("name: 'sasrec' max_batch_size: [")
    with pytest.raises(RepositoryError, match=r"config\.pbtxt is not a valid Triton ModelConfig"):
        load_entry(repo, "sasrec")
    empty = tmp_path / "empty" / "sasrec"
    empty.mkdir(parents=True)
    shutil.copy(tiny_repository / "sasrec" / "config.pbtxt", empty)
    with pytest.raises(RepositoryError, match="no version folder to serve"):
        load_entry(empty.parent, "sasrec")
