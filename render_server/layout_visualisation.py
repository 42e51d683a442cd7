"""The layout drawn as numbered boxes, over the rendered image and on white (as the seed saved
them beside each image), so a person can check where each object was asked to go."""

from __future__ import annotations

from typing import Sequence

from PIL import Image, ImageDraw

from marquee.fonts import truetype as font
from render_server.request_validation import LayoutObject

#: Ten colours that stay apart from each other (Tableau 10), one per box slot.
BOX_COLOURS = (
    (78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79),
    (237, 201, 72), (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172),
)


def box_colour(index: int) -> tuple[int, int, int]:
    return BOX_COLOURS[index % len(BOX_COLOURS)]


def pixel_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    return round(x1 * width), round(y1 * height), round(x2 * width) - 1, round(y2 * height) - 1


def draw_layout(image: Image.Image, objects: Sequence[LayoutObject]) -> Image.Image:
    """A copy of `image` with each object's box outlined and labelled "<n> <phrase>" (n from 1)."""
    canvas = image.convert("RGB")
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    line = max(1, round(min(width, height) / 200))
    label_font = font(max(9, round(min(width, height) / 32)), bold=True)
    for index, obj in enumerate(objects):
        colour = box_colour(index)
        x1, y1, x2, y2 = pixel_box(obj.box, width, height)
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=line)
        label = f"{index + 1} {obj.phrase}"
        left, top, right, bottom = draw.textbbox((0, 0), label, font=label_font)
        pad = max(1, line)
        tag_w, tag_h = right - left + 2 * pad, bottom - top + 2 * pad
        # Inside the box's top-left corner, nudged back into the image when the box touches an edge.
        tx = min(max(0, x1), max(0, width - tag_w))
        ty = min(max(0, y1), max(0, height - tag_h))
        draw.rectangle((tx, ty, tx + tag_w, ty + tag_h), fill=colour)
        draw.text((tx + pad - left, ty + pad - top), label, font=label_font, fill=(255, 255, 255))
    return canvas


def layout_on_white(objects: Sequence[LayoutObject], width: int, height: int) -> Image.Image:
    return draw_layout(Image.new("RGB", (width, height), (255, 255, 255)), objects)
