"""Numbered layout boxes drawn on white or over an image, for the summary when the render server
did not send its own visualisations (e.g. a session re-exported without a render). The colours are
the ones the console's layout canvas uses, so box 2 looks the same everywhere."""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from marquee.fonts import font_path
from client_tui.session import LayoutObjectRecord

PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#9a6324",
           "#808000", "#000075")


def box_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold=True)), size)


def pixel_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (min(max(v, 0.0), 1.0) for v in box)
    left, right = sorted((round(x1 * (width - 1)), round(x2 * (width - 1))))
    top, bottom = sorted((round(y1 * (height - 1)), round(y2 * (height - 1))))
    return left, top, right, bottom


def draw_layout(
    objects: Sequence[LayoutObjectRecord],
    size: tuple[int, int],
    background: Image.Image | None = None,
) -> Image.Image:
    """Boxes numbered from 1, on `background` (resized to `size`) or on white."""
    width, height = size
    if background is None:
        canvas = Image.new("RGB", size, "white")
    else:
        canvas = background.convert("RGB").resize(size)
    draw = ImageDraw.Draw(canvas)
    line = max(2, min(width, height) // 160)
    font = _font(max(12, min(width, height) // 24))
    for index, obj in enumerate(objects):
        colour = box_colour(index)
        left, top, right, bottom = pixel_box(obj.box.as_list(), width, height)
        draw.rectangle((left, top, right, bottom), outline=colour, width=line)
        label = str(index + 1)
        tl, tt, tr, tb = draw.textbbox((0, 0), label, font=font)
        pad = line + 2
        tag = (left, top, left + (tr - tl) + 2 * pad, top + (tb - tt) + 2 * pad)
        draw.rectangle(tag, fill=colour)
        draw.text((left + pad - tl, top + pad - tt), label, fill="white", font=font)
    return canvas
