"""Files written so that a reader never sees half of one, by the servers and the client alike.

Each write goes to a hidden temporary sibling (`.<name>.<random>.tmp`), is flushed to disk, given
its final mode, then renamed over the target (`os.replace` is atomic within a file system). A
process killed mid-write leaves only such a temporary behind; `sweep_temporaries` removes them.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

#: Outputs are meant to be read by other users and tools (image viewers, web servers), as files
#: created with the usual umask 022 are; `mkstemp` alone would leave them 0600.
DEFAULT_FILE_MODE = 0o644
TEMPORARY_SUFFIX = ".tmp"
#: A temporary untouched this long belongs to a dead writer: a write takes milliseconds, and a
#: younger one may be a live write of another process sharing the folder. Short enough that a
#: server restarted after a crash (imports alone take seconds) sweeps what the crash left.
STALE_AFTER_S = 10.0


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = DEFAULT_FILE_MODE) -> Path:
    """Writes `data` to `path` (creating its folder): `path` holds its old content or all of
    `data`, never part of it, and gets permission bits `mode`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    return path


def atomic_write_text(path: Path, text: str, *, mode: int = DEFAULT_FILE_MODE) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def is_temporary(path: Path) -> bool:
    """Whether `path` is named like a temporary of `atomic_write_bytes`."""
    return path.name.startswith(".") and path.name.endswith(TEMPORARY_SUFFIX)


def sweep_temporaries(folder: Path, *, stale_after_s: float = STALE_AFTER_S) -> list[Path]:
    """Removes the temporaries that killed writes left directly in `folder`, if untouched for
    `stale_after_s` seconds; returns what it removed."""
    removed: list[Path] = []
    cutoff = time.time() - stale_after_s
    try:
        candidates = [p for p in Path(folder).iterdir() if is_temporary(p)]
    except FileNotFoundError:
        return removed
    for path in candidates:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime <= cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue  # another process finished or swept it meanwhile
    return removed
