"""Mechanical fixes that make an almost-valid layout valid, each one reported.

What can be fixed without guessing the author's intent: swapped corners (reorder), coordinates
outside the image (clamp), boxes below the minimum area (grow around their centre), more than five
objects (keep the first five, after dropping those that name a movie or a person), a mood line
without a style word (prefix one), text over the length limits (shorten). What cannot (too few
objects, empty names, non-numbers) is left for a re-ask or the offline planner.
"""

from __future__ import annotations

import math

from layout_server.layout_rules import (
    AREA_TOLERANCE,
    MAX_FEATURE_CHARS,
    MAX_MOOD_CHARS,
    MAX_NAME_CHARS,
    MAX_OBJECTS,
    MAX_TITLE_CHARS,
    MIN_BOX_AREA,
    MIN_OBJECTS,
    ForbiddenNames,
    box_area,
    is_style_word,
    style_word_of,
)
from marquee.v1 import common_pb2, layout_pb2

_DECIMALS = 10_000  # boxes are written with 4 decimals
_MIN_SIDE = 0.01
# Grown boxes aim a little above the minimum so that they pass without the rounding tolerance
# (a 0.4 x 0.4 box can compute to 0.15999999999999998 even in float64).
_GROW_TARGET = MIN_BOX_AREA * 1.001


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(high, max(low, value))


def grown_box(
    x1: float, y1: float, x2: float, y2: float, min_area: float = _GROW_TARGET
) -> tuple[float, float, float, float]:
    """The smallest box of the same centre and shape (as far as the image allows) with at least
    `min_area`, inside the unit square. Expects x1 <= x2 and y1 <= y2 within 0..1."""
    width, height = max(x2 - x1, _MIN_SIDE), max(y2 - y1, _MIN_SIDE)
    if width * height < min_area:
        scale = math.sqrt(min_area / (width * height))
        width, height = width * scale, height * scale
        if width > 1.0:
            width, height = 1.0, min_area
        elif height > 1.0:
            width, height = min_area, 1.0
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left = _clamp(cx - width / 2, 0.0, 1.0 - width)
    top = _clamp(cy - height / 2, 0.0, 1.0 - height)
    # Round outwards so the written (4-decimal) box keeps the area.
    return (
        math.floor(left * _DECIMALS) / _DECIMALS,
        math.floor(top * _DECIMALS) / _DECIMALS,
        min(1.0, math.ceil((left + width) * _DECIMALS) / _DECIMALS),
        min(1.0, math.ceil((top + height) * _DECIMALS) / _DECIMALS),
    )


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut or text[:limit]


def _repair(repairs: list[layout_pb2.LayoutRepair], field: str, description: str) -> None:
    repairs.append(layout_pb2.LayoutRepair(field=field, description=description))


def _repair_box(box: common_pb2.Box, field: str, repairs: list[layout_pb2.LayoutRepair]) -> None:
    coords = [box.x1, box.y1, box.x2, box.y2]
    if not all(math.isfinite(value) for value in coords):
        return  # nothing sensible to grow from
    x1, y1, x2, y2 = coords
    if x1 > x2:
        x1, x2 = x2, x1
        _repair(repairs, field, "swapped x1 and x2 (x1 is the left edge)")
    if y1 > y2:
        y1, y2 = y2, y1
        _repair(repairs, field, "swapped y1 and y2 (y1 is the top edge)")
    clamped = [_clamp(v) for v in (x1, y1, x2, y2)]
    if clamped != [x1, y1, x2, y2]:
        _repair(repairs, field, f"clamped [{x1:.4g}, {y1:.4g}, {x2:.4g}, {y2:.4g}] into 0..1")
        x1, y1, x2, y2 = clamped
    box.x1, box.y1, box.x2, box.y2 = x1, y1, x2, y2
    before = box_area(box)
    if x1 < x2 and y1 < y2 and before >= MIN_BOX_AREA - AREA_TOLERANCE:
        return
    box.x1, box.y1, box.x2, box.y2 = grown_box(x1, y1, x2, y2)
    _repair(
        repairs,
        field,
        f"grew the box from area {max(before, 0.0):.4f} to "
        f"{box_area(box):.4f} around its centre (minimum {MIN_BOX_AREA})",
    )


def _names_something(obj: layout_pb2.LayoutObject, names: ForbiddenNames) -> str | None:
    for text in (obj.name, obj.feature):
        found = names.movie_named_in(text) or names.person_named_in(text)
        if found:
            return found
    return None


def repair_layout(
    layout: layout_pb2.Layout, names: ForbiddenNames | None = None, *, style_word: str = "realistic"
) -> tuple[layout_pb2.Layout, list[layout_pb2.LayoutRepair]]:
    """A repaired copy of `layout` and the repairs made (field names refer to the copy, except
    for dropped objects, which refer to the original positions)."""
    names = names or ForbiddenNames()
    fixed = layout_pb2.Layout()
    fixed.CopyFrom(layout)
    repairs: list[layout_pb2.LayoutRepair] = []

    fixed.title, fixed.mood = fixed.title.strip(), fixed.mood.strip()
    if fixed.mood and not is_style_word(style_word_of(fixed.mood)):
        fixed.mood = f"{style_word}, {fixed.mood}"
        _repair(repairs, "mood", f"prefixed the style word {style_word!r}")
    for field, limit in (("title", MAX_TITLE_CHARS), ("mood", MAX_MOOD_CHARS)):
        value = getattr(fixed, field)
        if len(value) > limit:
            setattr(fixed, field, _shorten(value, limit))
            _repair(repairs, field, f"shortened to {limit} characters")

    # Drop objects that cannot be used (no name, or naming a movie or person) while enough
    # remain; the rest of their problems are left for the re-ask.
    kept: list[tuple[int, layout_pb2.LayoutObject]] = list(enumerate(fixed.objects))
    for index, obj in list(kept):
        if len(kept) <= MIN_OBJECTS:
            break
        reason = "has no name" if not obj.name.strip() else None
        named = _names_something(obj, names)
        if named:
            reason = f"names {named!r}"
        if reason:
            kept.remove((index, obj))
            _repair(repairs, f"objects[{index}]", f"dropped the object: it {reason}")
    if len(kept) > MAX_OBJECTS:
        for index, _obj in kept[MAX_OBJECTS:]:
            _repair(
                repairs,
                f"objects[{index}]",
                f"dropped the object: a layout holds at most {MAX_OBJECTS} (kept the first five)",
            )
        kept = kept[:MAX_OBJECTS]
    objects = [obj for _, obj in kept]
    del fixed.objects[:]
    fixed.objects.extend(objects)

    for index, obj in enumerate(fixed.objects):
        prefix = f"objects[{index}]"
        obj.name, obj.feature = obj.name.strip(), obj.feature.strip()
        for field, limit in (("name", MAX_NAME_CHARS), ("feature", MAX_FEATURE_CHARS)):
            value = getattr(obj, field)
            if len(value) > limit:
                setattr(obj, field, _shorten(value, limit))
                _repair(repairs, f"{prefix}.{field}", f"shortened to {limit} characters")
        if obj.HasField("box"):
            _repair_box(obj.box, f"{prefix}.box", repairs)
    return fixed, repairs
