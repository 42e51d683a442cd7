"""The TrueType fonts the summary is drawn with: DejaVu Sans, shipped inside matplotlib (the `tui`
extra). Found without importing matplotlib, which would cost the console's start-up time."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path


class FontError(RuntimeError):
    """The package that carries the fonts is missing."""


@lru_cache(maxsize=1)
def _font_dir() -> Path:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise FontError("matplotlib is not installed; install the client with pip install -e '.[tui]'")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "mpl-data" / "fonts" / "ttf"
        if (candidate / "DejaVuSans.ttf").is_file():
            return candidate
    raise FontError("matplotlib's DejaVu fonts are missing (mpl-data/fonts/ttf)")


def font_path(*, bold: bool = False, mono: bool = False) -> Path:
    name = "DejaVuSansMono" if mono else "DejaVuSans"
    return _font_dir() / f"{name}{'-Bold' if bold else ''}.ttf"
