"""TrueType fonts for drawn text: DejaVu Sans from matplotlib's bundled fonts when matplotlib is
installed, Pillow's embedded FreeType font otherwise (both scale to any size)."""

from __future__ import annotations

import functools
from pathlib import Path

from PIL import ImageFont


@functools.lru_cache(maxsize=None)
def _dejavu_dir() -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return folder if (folder / "DejaVuSans.ttf").is_file() else None


@functools.lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """A sans-serif font at `size` pixels."""
    size = max(6, int(size))
    folder = _dejavu_dir()
    if folder is not None:
        return ImageFont.truetype(str(folder / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)
    return ImageFont.load_default(size=size)
