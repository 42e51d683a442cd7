"""Where results are saved: names chosen by the server (never by a client), written atomically.

Layout under the output directory, as the seed kept it plus a record of each job:
    images/<name>.png              the rendered image
    images_with_layout/<name>.png  numbered boxes over the image
    layouts/<name>.png             numbered boxes on white
    metadata/<name>.json           the request and what the job used
A reader never sees a half-written file (`marquee.atomic_files`); files get one mode, 0644 unless
configured, as the client's exports do. Temporaries that a killed write left behind are swept when
the store opens, so they do not pile up across restarts.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marquee.atomic_files import DEFAULT_FILE_MODE, atomic_write_bytes, sweep_temporaries
from marquee.serving.structured_logs import get_logger

log = get_logger("render.outputs")

FOLDERS = {
    "image": ("images", ".png"),
    "layout_on_image": ("images_with_layout", ".png"),
    "layout_on_white": ("layouts", ".png"),
    "metadata": ("metadata", ".json"),
}


class OutputStore:
    """Saves each job's files under `root`; creating it up front makes a bad path fail at start-up."""

    def __init__(self, root: Path, *, file_mode: int = DEFAULT_FILE_MODE) -> None:
        self.root = Path(root)
        self.file_mode = file_mode
        for folder, _ in FOLDERS.values():
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise PermissionError(f"output directory {self.root} is not writable")
        swept = [path for folder, _ in FOLDERS.values() for path in sweep_temporaries(self.root / folder)]
        if swept:
            log.info("removed temporaries of interrupted writes", count=len(swept), output_dir=str(self.root))

    @staticmethod
    def name_for(job_id: str) -> str:
        """`<UTC time>-<job id>`: sorts by time, and the job id (a UUID) makes it unique."""
        return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{job_id}"

    def save(self, job_id: str, files: Mapping[str, bytes], metadata: Mapping[str, Any]) -> list[str]:
        """Writes `files` (keys of FOLDERS but "metadata") and the metadata JSON; their paths
        relative to `root`, metadata last so its presence means the job's files are complete."""
        name = self.name_for(job_id)
        relative = {kind: f"{FOLDERS[kind][0]}/{name}{FOLDERS[kind][1]}" for kind in (*files, "metadata")}
        for kind, data in files.items():
            atomic_write_bytes(self.root / relative[kind], data, mode=self.file_mode)
        record = {**metadata, "files": {k: v for k, v in relative.items() if k != "metadata"}}
        atomic_write_bytes(
            self.root / relative["metadata"], json.dumps(record, indent=2, sort_keys=True).encode(), mode=self.file_mode
        )
        return list(relative.values())
