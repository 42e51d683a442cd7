"""One atomic-write implementation for the servers and the client: whole files, one mode, and
what a killed write leaves behind is swept."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marquee.atomic_files import (
    DEFAULT_FILE_MODE,
    STALE_AFTER_S,
    atomic_write_bytes,
    atomic_write_text,
    is_temporary,
    sweep_temporaries,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_get_the_default_mode_or_the_configured_one(tmp_path: Path) -> None:
    written = atomic_write_text(tmp_path / "sub" / "a.json", "{}")
    assert written.read_text() == "{}" and _mode(written) == DEFAULT_FILE_MODE == 0o644
    private = atomic_write_bytes(tmp_path / "b.png", b"png", mode=0o600)
    assert _mode(private) == 0o600
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.json", "b.png"]


def test_a_failed_write_keeps_the_old_content_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = atomic_write_bytes(tmp_path / "image.png", b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["image.png"]


def test_a_killed_write_leaves_a_temporary_that_the_sweep_removes_once_stale(tmp_path: Path) -> None:
    # A real writer killed between writing and renaming.
    script = (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from marquee import atomic_files\n"
        "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
        f"atomic_files.atomic_write_bytes(Path({str(tmp_path / 'out.png')!r}), b'x' * 4096)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert done.returncode == -9
    (leftover,) = tmp_path.iterdir()
    assert is_temporary(leftover) and leftover.name.startswith(".out.png.")
    unrelated = tmp_path / ".keep.tmp.bak"
    unrelated.write_text("not ours")
    assert sweep_temporaries(tmp_path) == []  # a fresh one may be a live write of another process
    old = time.time() - STALE_AFTER_S - 1
    os.utime(leftover, (old, old))
    os.utime(unrelated, (old, old))
    assert sweep_temporaries(tmp_path) == [leftover]
    assert [p.name for p in tmp_path.iterdir()] == [unrelated.name]
    assert sweep_temporaries(tmp_path / "missing") == []
