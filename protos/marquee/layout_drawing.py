"""Layout boxes drawn as numbered, coloured outlines with "N phrase" labels: the one drawing the
render server (layout over the image and on white, the draft engine's objects), the client's
summary and the console share, so box N has the same colour, outline and label everywhere.

Labels stay inside the picture and never overlap each other (nor any reserved area, such as a
draft poster's title): each is tried at places around its box (inside top-left, outside above
or below, the other corners, beside, centred), then shortened with an ellipsis, then reduced to
its number, then searched for across the picture; a label that fits nowhere is left out rather
than drawn over another. Degenerate boxes (reversed, zero or 1e-7 wide, out of range, NaN) are
drawn at least one pixel wide and never raise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from marquee.fonts import truetype

#: One colour per box slot (Trubetskoy's distinct colours), box 1 first.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),
    (60, 180, 75),
    (67, 99, 216),
    (245, 130, 49),
    (145, 30, 180),
    (66, 212, 244),
    (240, 50, 230),
    (154, 99, 36),
    (128, 128, 0),
    (0, 0, 117),
)
ELLIPSIS = "…"

#: [left, top, right, bottom] in pixels; right and bottom inclusive (as Pillow draws them).
PixelBox = tuple[int, int, int, int]
#: [left, top, right, bottom) in pixels; right and bottom exclusive, so areas add up.
Rect = tuple[int, int, int, int]


def box_colour(index: int) -> tuple[int, int, int]:
    """The RGB colour of box `index` (0-based)."""
    return PALETTE[index % len(PALETTE)]


def box_hex(index: int) -> str:
    """The colour of box `index` as "#rrggbb" (for terminal styles)."""
    return "#{:02x}{:02x}{:02x}".format(*box_colour(index))


def label_ink(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `colour` (the light cyan needs black)."""
    r, g, b = colour
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 160 else (255, 255, 255)


def one_line(text: str) -> str:
    """`text` as one line to draw: whitespace runs (line breaks, tabs) become one space and other
    control characters go (Pillow cannot measure multi-line text, and a terminal escape in a
    request must not reach a picture)."""
    printable = "".join(c for c in text if c.isprintable() or c.isspace())
    return " ".join(printable.split())


def label_text(index: int, phrase: str) -> str:
    """ "3 old horse, dusty saddle": the box number (from 1) and what goes in it."""
    phrase = one_line(phrase)
    return f"{index + 1} {phrase}" if phrase else str(index + 1)


def _unit(value: float) -> float:
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0


def pixel_box(box: Sequence[float], width: int, height: int) -> PixelBox:
    """Normalised [x1, y1, x2, y2] to the inclusive pixels it covers: x from round(x1·w) to
    round(x2·w) − 1, clamped to the picture, corners sorted, at least one pixel each way."""
    x1, y1, x2, y2 = (_unit(float(v)) for v in box)
    x1, x2 = sorted((x1, x2))
    y1, y2 = sorted((y1, y2))
    left = min(round(x1 * width), width - 1)
    top = min(round(y1 * height), height - 1)
    right = min(max(round(x2 * width) - 1, left), width - 1)
    bottom = min(max(round(y2 * height) - 1, top), height - 1)
    return left, top, right, bottom


@dataclass(frozen=True)
class PlacedLabel:
    index: int
    text: str
    #: [left, top, right, bottom) in pixels, inside the picture.
    rect: Rect


@dataclass(frozen=True)
class LabelStyle:
    """The label font and the outline width for a picture of a given size."""

    font: ImageFont.FreeTypeFont
    pad: int
    line: int

    @classmethod
    def for_size(cls, width: int, height: int) -> LabelStyle:
        side = min(width, height)
        size = max(8, round(side / 34))
        return cls(font=truetype(size, bold=True), pad=max(1, size // 6), line=max(1, round(side / 220)))

    def measure(self, text: str) -> tuple[int, int]:
        """The tag (text plus padding) a label needs, in whole pixels."""
        ascent, descent = self.font.getmetrics()
        right = self.font.getbbox(text, anchor="ls")[2]
        return math.ceil(max(right, 1)) + 2 * self.pad, ascent + descent + 2 * self.pad


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def ellipsised(text: str, max_width: int, measure: Callable[[str], tuple[int, int]]) -> str:
    """`text` cut (with "…") so its tag is at most `max_width` wide; never shorter than its
    leading box number."""
    if measure(text)[0] <= max_width:
        return text
    number, _, _ = text.partition(" ")
    low, high = 0, len(text) - len(number)  # characters kept after the number
    while low < high:  # the longest cut that fits
        middle = (low + high + 1) // 2
        if measure(text[: len(number) + middle].rstrip() + ELLIPSIS)[0] <= max_width:
            low = middle
        else:
            high = middle - 1
    kept = text[: len(number) + low].rstrip()
    return kept + ELLIPSIS if kept != number else number


def _variants(
    text: str, box_width: int, picture_width: int, measure: Callable[[str], tuple[int, int]]
) -> Iterator[str]:
    number = text.partition(" ")[0]
    # A label may reach past a narrow box, but never across more than half the picture.
    widest = min(picture_width, max(box_width, picture_width // 2))
    seen: set[str] = set()
    for limit in (widest, widest // 2, widest // 4):
        variant = ellipsised(text, limit, measure)
        if variant not in seen and variant != number:
            seen.add(variant)
            yield variant
    yield number


def _spots(box: PixelBox, tw: int, th: int) -> Iterator[tuple[int, int]]:
    left, top, right, bottom = box
    end_x, end_y = right + 1, bottom + 1
    yield left, top  # inside, top-left
    yield left, top - th  # outside, above
    yield left, end_y  # outside, below
    yield left, end_y - th  # inside, bottom-left
    yield end_x - tw, top  # inside, top-right
    yield end_x - tw, end_y - th  # inside, bottom-right
    yield end_x - tw, top - th  # outside, above right
    yield end_x - tw, end_y  # outside, below right
    yield left - tw, top  # beside, left
    yield end_x, top  # beside, right
    yield (left + end_x - tw) // 2, (top + end_y - th) // 2  # centred


def _scan(box: PixelBox, tw: int, th: int, width: int, height: int) -> Iterator[tuple[int, int]]:
    """Every place on a half-label grid, nearest the box's top-left corner first."""
    step_x, step_y = max(1, tw // 2), max(1, th // 2)
    xs = sorted({*range(0, width - tw + 1, step_x), width - tw})
    ys = sorted({*range(0, height - th + 1, step_y), height - th})
    yield from sorted(((x, y) for x in xs for y in ys), key=lambda p: (p[0] - box[0]) ** 2 + (p[1] - box[1]) ** 2)


def place_labels(
    boxes: Sequence[PixelBox],
    texts: Sequence[str],
    size: tuple[int, int],
    measure: Callable[[str], tuple[int, int]],
    reserved: Iterable[Rect] = (),
) -> list[PlacedLabel | None]:
    """Where each box's label goes (in box order: box 1 gets the best place), as rectangles
    inside the picture that overlap neither each other nor `reserved`; None for a label that
    fits nowhere (only in a picture too small for every number)."""
    width, height = size
    taken: list[Rect] = list(reserved)
    placed: list[PlacedLabel | None] = []

    def free(x: int, y: int, tw: int, th: int) -> Rect | None:
        rect = (x, y, x + tw, y + th)
        return None if any(overlaps(rect, other) for other in taken) else rect

    for index, (box, text) in enumerate(zip(boxes, texts, strict=False)):
        found: PlacedLabel | None = None
        for variant in _variants(text, box[2] - box[0] + 1, width, measure):
            tw, th = measure(variant)
            if tw > width or th > height:
                continue
            for x, y in _spots(box, tw, th):
                rect = free(min(max(x, 0), width - tw), min(max(y, 0), height - th), tw, th)
                if rect is not None:
                    found = PlacedLabel(index, variant, rect)
                    break
            if found is not None:
                break
        if found is None:
            # Crowded around the box: the nearest free place anywhere, longest text first.
            for variant in _variants(text, box[2] - box[0] + 1, width, measure):
                tw, th = measure(variant)
                if tw > width or th > height:
                    continue
                for x, y in _scan(box, tw, th, width, height):
                    rect = free(x, y, tw, th)
                    if rect is not None:
                        found = PlacedLabel(index, variant, rect)
                        break
                if found is not None:
                    break
        if found is not None:
            taken.append(found.rect)
        placed.append(found)
    return placed


def draw_outline(draw: ImageDraw.ImageDraw, box: PixelBox, index: int, line: int) -> None:
    """Box `index`'s outline; never thicker than the box is wide, so a tiny box stays a box."""
    left, top, right, bottom = box
    width = max(1, min(line, (right - left + 2) // 2, (bottom - top + 2) // 2))
    draw.rectangle(box, outline=box_colour(index), width=width)


def draw_label(draw: ImageDraw.ImageDraw, label: PlacedLabel, style: LabelStyle) -> None:
    colour = box_colour(label.index)
    left, top, right, bottom = label.rect
    draw.rectangle((left, top, right - 1, bottom - 1), fill=colour)
    ascent = style.font.getmetrics()[0]
    draw.text(
        (left + style.pad, top + style.pad + ascent), label.text, font=style.font, fill=label_ink(colour), anchor="ls"
    )


@dataclass
class DrawnLayout:
    image: Image.Image
    boxes: list[PixelBox]
    #: One per box, in box order; None where no label fits.
    labels: list[PlacedLabel | None]


def draw_layout(
    canvas: Image.Image, objects: Sequence[tuple[str, Sequence[float]]], reserved: Iterable[Rect] = ()
) -> DrawnLayout:
    """A copy of `canvas` with each (phrase, normalised box) outlined in its colour and labelled
    "N phrase"; all outlines first, then all labels, so no box is drawn over a label."""
    image = canvas.convert("RGB")
    width, height = image.size
    style = LabelStyle.for_size(width, height)
    boxes = [pixel_box(box, width, height) for _, box in objects]
    texts = [label_text(index, phrase) for index, (phrase, _) in enumerate(objects)]
    labels = place_labels(boxes, texts, (width, height), style.measure, reserved)
    draw = ImageDraw.Draw(image)
    for index, box in enumerate(boxes):
        draw_outline(draw, box, index, style.line)
    for label in labels:
        if label is not None:
            draw_label(draw, label, style)
    return DrawnLayout(image=image, boxes=boxes, labels=labels)


def layout_on_image(
    image: Image.Image, objects: Sequence[tuple[str, Sequence[float]]], reserved: Iterable[Rect] = ()
) -> Image.Image:
    """The boxes over `image` (its size); labels clear of `reserved`, the areas the picture keeps
    free of labels itself, so labels it already shows are drawn on themselves, not twice."""
    return draw_layout(image, objects, reserved).image


def layout_on_white(objects: Sequence[tuple[str, Sequence[float]]], width: int, height: int) -> Image.Image:
    """The boxes on a white `width` × `height` picture."""
    return draw_layout(Image.new("RGB", (width, height), (255, 255, 255)), objects).image
