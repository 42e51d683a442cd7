"""The TrueType fonts every drawn image uses (summary, layout visualisations, draft posters):
DejaVu Sans, shipped inside matplotlib (in the `tui` and `render` extras). Found without
importing matplotlib, which would cost start-up time."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageFont


class FontError(RuntimeError):
    """The package that carries the fonts is missing."""


@lru_cache(maxsize=1)
def _font_dir() -> Path:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise FontError(
            "matplotlib (which carries the DejaVu fonts) is not installed; "
            "install the `tui` or `render` extra, e.g. pip install -e '.[tui]'"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "mpl-data" / "fonts" / "ttf"
        if (candidate / "DejaVuSans.ttf").is_file():
            return candidate
    raise FontError("matplotlib's DejaVu fonts are missing (mpl-data/fonts/ttf)")


def font_path(*, bold: bool = False, mono: bool = False) -> Path:
    """The DejaVu Sans (or Sans Mono) file; raises FontError when matplotlib is missing."""
    name = "DejaVuSansMono" if mono else "DejaVuSans"
    return _font_dir() / f"{name}{'-Bold' if bold else ''}.ttf"


@lru_cache(maxsize=64)
def truetype(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at `size` pixels (at least 6)."""
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path(bold=bold)), max(6, int(size)))
