"""Where results are saved: names chosen by the server (never by a client), written atomically.

Layout under the output directory, as the seed kept it plus a record of each job:
    images/<name>.png              the rendered image
    images_with_layout/<name>.png  numbered boxes over the image
    layouts/<name>.png             numbered boxes on white
    metadata/<name>.json           the request and what the job used
A reader never sees a half-written file: each is written to a hidden temporary file in the same
directory, flushed to disk, then renamed over its final name (`os.replace` is atomic on POSIX).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

FOLDERS = {
    "image": ("images", ".png"),
    "layout_on_image": ("images_with_layout", ".png"),
    "layout_on_white": ("layouts", ".png"),
    "metadata": ("metadata", ".json"),
}


def atomic_write(path: Path, data: bytes) -> None:
    """Writes `data` to `path` so that `path` holds either nothing (or its old content) or all of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class OutputStore:
    """Saves each job's files under `root`; creating it up front makes a bad path fail at start-up."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        for folder, _ in FOLDERS.values():
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"output directory {self.root} is not writable")

    @staticmethod
    def name_for(job_id: str) -> str:
        """`<UTC time>-<job id>`: sorts by time, and the job id (a UUID) makes it unique."""
        return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{job_id}"

    def save(self, job_id: str, files: Mapping[str, bytes], metadata: Mapping[str, Any]) -> list[str]:
        """Writes `files` (keys of FOLDERS but "metadata") and the metadata JSON; their paths
        relative to `root`, metadata last so its presence means the job's files are complete."""
        name = self.name_for(job_id)
        relative = {
            kind: f"{FOLDERS[kind][0]}/{name}{FOLDERS[kind][1]}" for kind in (*files, "metadata")
        }
        for kind, data in files.items():
            atomic_write(self.root / relative[kind], data)
        record = {**metadata, "files": {k: v for k, v in relative.items() if k != "metadata"}}
        atomic_write(
            self.root / relative["metadata"],
            json.dumps(record, indent=2, sort_keys=True).encode(),
        )
        return list(relative.values())
