"""Render server fixtures (the helpers are in `tests/render_server/helpers.py`)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_marquee_env(clean_env: None) -> None:
    """No MARQUEE_* variable from the shell changes a test's settings."""
