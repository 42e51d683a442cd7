"""Fixtures every test area shares."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.paths import REPO_ROOT, SHARED_DATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` (MovieLens-1M and plots); CI has it beside the clone."""
    if not (SHARED_DATA / "ml-1m" / "movies.dat").is_file():
        pytest.fail(f"{SHARED_DATA} is missing: the suite expects ../shared beside the clone")
    return SHARED_DATA


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MARQUEE_* setting leaks into a test from the developer's shell."""
    for key in list(os.environ):
        if key.startswith("MARQUEE_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    """Torch in a test process uses one thread: the tests' tiny models are faster so, and the
    cores are shared with the other test workers and the server processes."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
