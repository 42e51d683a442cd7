"""Where the MovieLens-1M data (and the optional plot files) are found, shared by every process.

Order: `MARQUEE_DATA_DIR`, then `./data`, then `../shared/data` (each also tried relative to the
repository root), else the official archive is downloaded from GroupLens into `./data` and its
checksum verified. The data is never committed: its licence forbids redistribution.

A data directory holds `ml-1m/` (`movies.dat` and `ratings.dat` or `user_sequences.txt`) and
optionally `plots/` (see `../shared/data/README.md`).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

ML1M_URL = "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
ML1M_MD5 = "c4d9eecfca2ab87c1945afe126590906"
ENV_VAR = "MARQUEE_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]


class DataNotFoundError(RuntimeError):
    """No data directory was found and none could be downloaded."""


@dataclass(frozen=True)
class DataLocation:
    root: Path
    #: How it was found: "env", "local", "shared" or "downloaded".
    source: str

    @property
    def ml1m(self) -> Path:
        return self.root / "ml-1m"

    @property
    def plots(self) -> Path:
        return self.root / "plots"


def _holds_movielens(root: Path) -> bool:
    return (root / "ml-1m" / "movies.dat").is_file()


def _candidates(cwd: Path) -> list[tuple[Path, str]]:
    seen: list[tuple[Path, str]] = []
    for base in (cwd, REPO_ROOT):
        for rel, source in (("data", "local"), ("../shared/data", "shared")):
            path = (base / rel).resolve()
            if path not in [p for p, _ in seen]:
                seen.append((path, source))
    return seen


def find_data_dir(
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    *,
    download: bool = True,
    fetch: Callable[[str], bytes] | None = None,
) -> DataLocation:
    """Finds the data directory, downloading MovieLens-1M as a last resort."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    explicit = env.get(ENV_VAR)
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not _holds_movielens(root):
            raise DataNotFoundError(
                f"{ENV_VAR}={explicit} has no ml-1m/movies.dat; point it at a directory holding "
                "ml-1m/ (MovieLens-1M) or unset it"
            )
        return DataLocation(root, "env")
    candidates = _candidates(cwd)
    for path, source in candidates:
        if _holds_movielens(path):
            return DataLocation(path, source)
    looked = ", ".join(str(p) for p, _ in candidates)
    if not download:
        raise DataNotFoundError(f"MovieLens-1M not found (looked in {ENV_VAR}, {looked})")
    target = (cwd / "data").resolve()
    try:
        download_movielens(target, fetch=fetch)
    except (OSError, urllib.error.URLError, ValueError, zipfile.BadZipFile) as exc:
        raise DataNotFoundError(
            f"MovieLens-1M not found (looked in {ENV_VAR}, {looked}) and the download from "
            f"{ML1M_URL} failed: {exc}. Set {ENV_VAR} to a directory holding ml-1m/."
        ) from exc
    return DataLocation(target, "downloaded")


def _http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def download_movielens(target: Path, *, fetch: Callable[[str], bytes] | None = None) -> Path:
    """Downloads the official ml-1m.zip, checks its MD5 and unpacks it to `target/ml-1m`."""
    payload = (fetch or _http_get)(ML1M_URL)
    digest = hashlib.md5(payload).hexdigest()
    if digest != ML1M_MD5:
        raise ValueError(f"checksum mismatch for {ML1M_URL}: got md5 {digest}, expected {ML1M_MD5}")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target) as tmp:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            archive.extractall(tmp)
        unpacked = Path(tmp) / "ml-1m"
        if not (unpacked / "movies.dat").is_file():
            raise ValueError(f"{ML1M_URL} does not hold ml-1m/movies.dat")
        final = target / "ml-1m"
        if final.exists():
            shutil.rmtree(final)
        unpacked.rename(final)
    return target / "ml-1m"
