"""The data directory is found in the documented order, or downloaded and verified."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from marquee import data_location
from marquee.data_location import DataNotFoundError, find_data_dir


def _make_data(root: Path) -> Path:
    (root / "ml-1m").mkdir(parents=True)
    (root / "ml-1m" / "movies.dat").write_text("1::Toy Story (1995)::Animation\n")
    return root


def test_env_wins(tmp_path: Path) -> None:
    data = _make_data(tmp_path / "mine")
    found = find_data_dir({"MARQUEE_DATA_DIR": str(data)}, cwd=tmp_path, download=False)
    assert found.root == data.resolve() and found.source == "env"


def test_env_pointing_nowhere_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"MARQUEE_DATA_DIR=.*nowhere"):
        find_data_dir({"MARQUEE_DATA_DIR": str(tmp_path / "nowhere")}, cwd=tmp_path)


def test_local_data_before_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_location, "REPO_ROOT", tmp_path / "elsewhere")
    work = tmp_path / "work" / "repo"
    work.mkdir(parents=True)
    _make_data(tmp_path / "work" / "shared" / "data")
    assert find_data_dir({}, cwd=work, download=False).source == "shared"
    _make_data(work / "data")
    found = find_data_dir({}, cwd=work, download=False)
    assert (found.source, found.root) == ("local", (work / "data").resolve())


def test_finds_the_real_shared_data(shared_data: Path, repo_root: Path) -> None:
    found = find_data_dir({}, cwd=repo_root, download=False)
    assert found.root == shared_data and (found.ml1m / "movies.dat").is_file()


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-1m/movies.dat", "1::Toy Story (1995)::Animation\n")
        archive.writestr("ml-1m/ratings.dat", "1::1::5::978300760\n")
    return buffer.getvalue()


def test_download_verifies_checksum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_location, "REPO_ROOT", tmp_path / "elsewhere")
    with pytest.raises(DataNotFoundError, match="checksum mismatch"):
        find_data_dir({}, cwd=tmp_path, fetch=lambda url: _zip_bytes())
    assert not (tmp_path / "data" / "ml-1m").exists()


def test_download_unpacks_when_checksum_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = _zip_bytes()
    monkeypatch.setattr(data_location, "REPO_ROOT", tmp_path / "elsewhere")
    monkeypatch.setattr(data_location, "ML1M_MD5", hashlib.md5(payload).hexdigest())
    urls: list[str] = []
    found = find_data_dir({}, cwd=tmp_path, fetch=lambda url: urls.append(url) or payload)
    assert urls == [data_location.ML1M_URL]
    assert found.source == "downloaded"
    assert (found.ml1m / "ratings.dat").read_text().startswith("1::1::5")


def test_download_failure_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_location, "REPO_ROOT", tmp_path / "elsewhere")

    def offline(url: str) -> bytes:
        raise OSError("network is unreachable")

    with pytest.raises(DataNotFoundError, match="Set MARQUEE_DATA_DIR"):
        find_data_dir({}, cwd=tmp_path, fetch=offline)
