"""Outputs get server-chosen unique names and are never seen half-written."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from render_server.output_store import OutputStore, atomic_write


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


def test_a_failed_write_leaves_neither_a_partial_file_nor_a_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "image.png"
    atomic_write(target, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, b"new content")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.png"]


def test_an_unusable_output_directory_fails_at_construction(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        OutputStore(blocker / "renders")
