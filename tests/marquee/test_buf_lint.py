"""`make lint` (buf lint) passes on the contracts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is needed to install buf")
def test_buf_lint_passes(repo_root: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "lint"], cwd=repo_root, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
