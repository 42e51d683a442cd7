"""Outputs get server-chosen unique names and are never seen half-written."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from marquee.atomic_files import STALE_AFTER_S, atomic_write_bytes
from render_server.output_store import FOLDERS, OutputStore


def test_save_writes_every_file_under_unique_names(tmp_path: Path) -> None:
    store = OutputStore(tmp_path / "out")
    first = store.save("a" * 32, {"image": b"png-1", "layout_on_white": b"png-2"}, {"seed": 1})
    second = store.save("b" * 32, {"image": b"png-3"}, {"seed": 2})
    assert first[0].startswith("images/") and first[-1].startswith("metadata/")
    assert set(first).isdisjoint(second)
    assert (store.root / first[0]).read_bytes() == b"png-1"
    record = json.loads((store.root / first[-1]).read_text())
    assert record["seed"] == 1 and record["files"]["layout_on_white"] == first[1]
    assert not [p for p in store.root.rglob("*") if p.name.startswith(".")]  # no temporary left


def test_outputs_are_world_readable_unless_configured(tmp_path: Path) -> None:
    store = OutputStore(tmp_path / "out")
    paths = store.save("c" * 32, {"image": b"png"}, {"seed": 3})
    assert {stat.S_IMODE((store.root / p).stat().st_mode) for p in paths} == {0o644}
    private = OutputStore(tmp_path / "private", file_mode=0o600)
    paths = private.save("d" * 32, {"image": b"png"}, {"seed": 4})
    assert {stat.S_IMODE((private.root / p).stat().st_mode) for p in paths} == {0o600}


def test_opening_the_store_sweeps_stale_temporaries_of_killed_writes(tmp_path: Path) -> None:
    root = tmp_path / "out"
    OutputStore(root)
    stale = [root / folder / f".x{ext}.abc123.tmp" for folder, ext in FOLDERS.values()]
    fresh = root / "images" / ".y.png.def456.tmp"
    old = time.time() - STALE_AFTER_S - 5
    for path in (*stale, fresh):
        path.write_bytes(b"half")
    for path in stale:
        os.utime(path, (old, old))
    kept = atomic_write_bytes(root / "images" / "done.png", b"png")
    os.utime(kept, (old, old))
    OutputStore(root)  # a restart
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == [".y.png.def456.tmp", "done.png"]


def test_an_unusable_output_directory_fails_at_construction(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        OutputStore(blocker / "renders")


def test_the_server_option_sets_the_mode_of_every_saved_file(tmp_path: Path) -> None:
    """--output-file-mode reaches the store (default 0644, as the client writes); a mode that is
    not octal is refused when the settings are read."""
    import pydantic

    from render_server.service import RenderModelService
    from tests.render_server.helpers import settings

    assert RenderModelService(settings(tmp_path / "default")).store.file_mode == 0o644
    assert RenderModelService(settings(tmp_path / "private", output_file_mode="0600")).store.file_mode == 0o600
    with pytest.raises(pydantic.ValidationError):
        settings(tmp_path / "bad", output_file_mode="rw-r--r--")
