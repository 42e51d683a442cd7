"""Render server fixtures (the helpers are in `tests/render_server/helpers.py`)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_marquee_env(clean_env: None) -> None:
    """No MARQUEE_* variable from the shell changes a test's settings."""


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> None:
    """The tiny model is faster on one thread, and other tests share the two cores."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
