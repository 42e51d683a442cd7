"""Where the draft poster's type goes (the title, the genre line, the frame) and every object
label, decided before any layer is drawn, so that no later layer covers or cuts a label."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from marquee.fonts import truetype as font
from marquee.layout_drawing import (
    LabelStyle,
    PixelBox,
    PlacedLabel,
    Rect,
    ellipsised,
    label_text,
    one_line,
    pixel_box,
    place_labels,
)
from render_server.spec import LayoutObject, RenderSpec


@dataclass(frozen=True)
class PlacedText:
    text: str
    font: ImageFont.FreeTypeFont
    #: Where Pillow is asked to draw (top-left anchor).
    origin: tuple[float, float]
    #: The ink's bounding rectangle [left, top, right, bottom), shadow included.
    rect: Rect
    shadow: int = 0


@dataclass(frozen=True)
class PosterPlan:
    """Where the type goes, decided before any layer is drawn."""

    title: PlacedText
    genre_line: PlacedText | None
    #: What labels keep clear of: the title, the genre line and the frame.
    reserved: list[Rect]
    style: LabelStyle
    boxes: list[PixelBox]
    labels: list[PlacedLabel | None]


def plan_poster(spec: RenderSpec) -> PosterPlan:
    """Every label placed up front, clear of the title, the genre line and the frame, so a later
    layer never covers or cuts one."""
    width, height = spec.width, spec.height
    title = _plan_title(width, height, one_line(spec.title) or one_line(spec.prompt), spec.objects)
    genre_line = _plan_genre_line(width, height, spec.genres)
    reserved = [title.rect, *_frame_strips(width, height)]
    if genre_line is not None:
        reserved.append(genre_line.rect)
    style = LabelStyle.for_size(width, height)
    boxes = [pixel_box(obj.box, width, height) for obj in spec.objects]
    labels = place_labels(
        boxes,
        [label_text(i, obj.phrase) for i, obj in enumerate(spec.objects)],
        (width, height),
        style.measure,
        reserved,
    )
    return PosterPlan(title, genre_line, reserved, style, boxes, labels)


def frame_width(width: int, height: int) -> int:
    return max(1, round(min(width, height) / 100))


def _frame_strips(width: int, height: int) -> list[Rect]:
    frame = frame_width(width, height)
    return [
        (0, 0, width, frame),
        (0, height - frame, width, height),
        (0, 0, frame, height),
        (width - frame, 0, width, height),
    ]


def _ink_rect(origin: tuple[float, float], bbox: tuple[float, float, float, float], shadow: int) -> Rect:
    x, y = origin
    left, top, right, bottom = bbox
    return (math.floor(x + left), math.floor(y + top), math.ceil(x + right) + shadow, math.ceil(y + bottom) + shadow)


def _plan_title(width: int, height: int, title: str, objects: Sequence[LayoutObject]) -> PlacedText:
    """The title in capitals, in one or two lines, in the top or bottom band (whichever the
    layout leaves freer)."""
    title = (title or "Untitled").upper()
    top_use = sum(max(0.0, 0.25 - o.box[1]) * (o.box[2] - o.box[0]) for o in objects)
    bottom_use = sum(max(0.0, o.box[3] - 0.75) * (o.box[2] - o.box[0]) for o in objects)
    at_top = top_use < bottom_use
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    size = max(8, round(height / 9))
    # Smaller type until the title fits in two lines (down to 6 px, for the tiniest pictures);
    # at the smallest size, a title that still does not fit is cut with an ellipsis.
    while True:
        title_font = font(size, bold=True)
        lines = _wrap_to(title, title_font, width * 0.92, measure)
        if len(lines) <= 2 or size <= 6:
            break
        size = max(6, round(size * 0.85))
    if len(lines) > 2:
        lines = [
            lines[0],
            ellipsised(
                f"{lines[1]} {lines[2]}",
                int(width * 0.92),
                lambda t: (math.ceil(measure.textlength(t, font=title_font)), 0),
            ),
        ]
    text = "\n".join(lines)
    bbox = measure.multiline_textbbox((0, 0), text, font=title_font, align="center")
    tw, th = bbox[2] - bbox[0], bbox[3] - bbox[1]
    origin = ((width - tw) / 2 - bbox[0], (height * 0.08 if at_top else height * 0.95 - th) - bbox[1])
    shadow = max(1, size // 18)
    return PlacedText(text, title_font, origin, _ink_rect(origin, bbox, shadow), shadow)


def _wrap_to(
    text: str, title_font: ImageFont.FreeTypeFont, max_width: float, measure: ImageDraw.ImageDraw
) -> list[str]:
    """Word wrap by rendered width; a word wider than a line is broken."""
    chars = max(1, len(text))
    while True:
        lines = textwrap.wrap(text, chars) or [text]
        if chars == 1 or all(measure.textlength(line, font=title_font) <= max_width for line in lines):
            return lines
        chars -= 1


def _plan_genre_line(width: int, height: int, genres: Sequence[str]) -> PlacedText | None:
    if not genres:
        return None
    small = font(max(6, round(height / 40)))
    line = "  •  ".join(one_line(g).upper() for g in genres if one_line(g))
    if not line:
        return None
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    if measure.textlength(line, font=small) > width - 4 * frame_width(width, height):
        return None  # a picture too narrow for it: no line rather than a cut one
    origin = ((width - measure.textlength(line, font=small)) / 2, frame_width(width, height) * 2)
    return PlacedText(line, small, origin, _ink_rect(origin, measure.textbbox((0, 0), line, font=small), 0))
