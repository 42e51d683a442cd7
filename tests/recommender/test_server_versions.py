"""A repository with two versions of a (tiny) model: the server serves the highest, as Triton
does; batching can be switched off; the options are documented."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException

from client_tui.local_stack import LocalStack
from tests.recommender.conftest import TINY_IDS


@pytest.fixture(scope="module")
def client(tiny_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[triton.InferenceServerClient]:
    stack = LocalStack({"recommender": ["--model-repository", str(tiny_repository), "--no-dynamic-batching",
                                        "--intra-op-threads", "1"]},
                       tmp_path_factory.mktemp("recommender_versions_logs"), grace_period=3.0)
    stack.start(timeout=120)
    try:
        with triton.InferenceServerClient(stack.addresses()["recommender"]) as c:
            yield c
    finally:
        stack.stop()


def test_highest_version_is_served(client: triton.InferenceServerClient, tiny_repository: Path) -> None:
    assert list(client.get_model_metadata("sasrec").versions) == ["2"]
    batch = np.zeros((2, 200), dtype=np.int64)
    batch[0, -2:] = [1, 5]
    batch[1, -1] = 233
    tensor = triton.InferInput("movie_ids", [2, 200], "INT64")
    tensor.set_data_from_numpy(batch)
    result = client.infer("sasrec", [tensor])
    assert result.get_response().model_version == "2"
    version_two = ort.InferenceSession(str(tiny_repository / "sasrec" / "2" / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
    version_one = ort.InferenceSession(str(tiny_repository / "sasrec" / "1" / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
    scores = result.as_numpy("scores")
    assert scores.shape == (2, len(TINY_IDS))
    assert np.abs(scores - version_two.run(None, {"movie_ids": batch})[0]).max() <= 1e-5
    assert np.abs(scores - version_one.run(None, {"movie_ids": batch})[0]).max() > 1e-3
    with pytest.raises(InferenceServerException) as info:
        client.infer("sasrec", [tensor], model_version="1")
    assert info.value.status() == "StatusCode.NOT_FOUND"


def test_without_dynamic_batching_every_request_runs_alone(client: triton.InferenceServerClient) -> None:
    tensor = triton.InferInput("movie_ids", [1, 200], "INT64")
    tensor.set_data_from_numpy(np.zeros((1, 200), dtype=np.int64))
    def runs_by_size() -> dict[int, int]:
        stats = client.get_inference_statistics("sasrec").model_stats[0]
        return {b.batch_size: b.compute_infer.count for b in stats.batch_stats}

    before = runs_by_size()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: client.infer("sasrec", [tensor]), range(12)))
    after = runs_by_size()
    grown = {size: after[size] - before.get(size, 0) for size in after if after[size] != before.get(size, 0)}
    assert grown == {1: 12}


def test_help_documents_every_option() -> None:
    out = subprocess.run([sys.executable, "-m", "recommender_server", "--help"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    for flag in ("--model-repository", "--model-name", "--dynamic-batching", "--batch-window-ms",
                 "--max-batch-size", "--intra-op-threads", "--data-dir", "MARQUEE_MODEL_REPOSITORY"):
        assert flag in out, flag


def test_missing_repository_is_a_configuration_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "recommender_server", "--model-repository",
                           str(tmp_path / "nowhere"), "--port", "0", "--metrics-port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "nowhere: no such directory" in done.stdout + done.stderr
