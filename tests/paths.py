"""Where the suite finds the repository and the shared data beside the clone (`../shared`)."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = (REPO_ROOT / ".." / "shared").resolve()
SHARED_DATA = SHARED / "data"
CREATILAYOUT_FIXTURES = SHARED / "fixtures" / "creatilayout"
#: The tiny CreatiLayout pipeline (random weights, every released module) the render tests load.
TINY_PIPELINE = CREATILAYOUT_FIXTURES / "tiny" / "pipeline"
