"""Turns a `RenderRequest` into a `RenderSpec` with every default filled in, or says precisely
which field is wrong (INVALID_ARGUMENT naming the field and, for objects, the index)."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

from marquee.serving import InvalidArgument
from marquee.v1 import render_pb2
from render_server.config import (
    DEFAULT_GUIDANCE,
    DEFAULT_PREVIEW_INTERVAL,
    DEFAULT_STEPS,
    MAX_STEPS,
    SIZE_MULTIPLE,
)

MAX_PROMPT_CHARS = 2000
MAX_PHRASE_CHARS = 300
MAX_GUIDANCE = 100.0
#: Seeds fit in an int64 on the wire; random ones stay small enough to read and retype.
RANDOM_SEED_BOUND = 2**32


@dataclass(frozen=True)
class Limits:
    """What this server accepts and what it fills in."""

    max_size: int
    max_boxes: int
    default_size: int
    default_steps: int = DEFAULT_STEPS
    default_guidance: float = DEFAULT_GUIDANCE
    default_preview_interval: int = DEFAULT_PREVIEW_INTERVAL


@dataclass(frozen=True)
class LayoutObject:
    phrase: str
    #: Normalised (x1, y1, x2, y2), origin top-left.
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class RenderSpec:
    """A validated render job: every value is set and within limits."""

    prompt: str
    objects: tuple[LayoutObject, ...]
    steps: int
    guidance: float
    width: int
    height: int
    seed: int
    preview_interval: int
    title: str = ""
    mood: str = ""
    genres: tuple[str, ...] = ()
    negative_prompt: str = ""


def _check_size(name: str, value: int, limits: Limits) -> int:
    if value == 0:
        return limits.default_size
    if value < 0 or value % SIZE_MULTIPLE:
        raise InvalidArgument(
            f"{name} must be a positive multiple of {SIZE_MULTIPLE} (0 means the default "
            f"{limits.default_size}), got {value}"
        )
    if value > limits.max_size:
        raise InvalidArgument(f"{name} {value} is over this server's cap of {limits.max_size} pixels")
    return value


def _check_box(index: int, obj: render_pb2.RenderObject) -> tuple[float, float, float, float]:
    where = f"objects[{index}].box"
    if not obj.HasField("box"):
        raise InvalidArgument(f"{where} is missing (object {index}, {obj.phrase!r})")
    coords = {"x1": obj.box.x1, "y1": obj.box.y1, "x2": obj.box.x2, "y2": obj.box.y2}
    for key, value in coords.items():
        if not math.isfinite(value):
            raise InvalidArgument(f"{where}.{key} is {value} (object {index}); use a number in [0, 1]")
        if not 0.0 <= value <= 1.0:
            raise InvalidArgument(
                f"{where}.{key} = {value:g} is outside [0, 1] (object {index}); boxes are normalised"
            )
    for low, high in (("x1", "x2"), ("y1", "y2")):
        if coords[low] >= coords[high]:
            raise InvalidArgument(
                f"{where} is inverted or empty (object {index}): {low} = {coords[low]:g} must be "
                f"less than {high} = {coords[high]:g}"
            )
    return (coords["x1"], coords["y1"], coords["x2"], coords["y2"])


def validate_request(request: render_pb2.RenderRequest, limits: Limits) -> RenderSpec:
    """The request as a `RenderSpec`; raises `InvalidArgument` naming the first bad field."""
    prompt = request.prompt.strip()
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InvalidArgument(f"prompt is {len(prompt)} characters; the limit is {MAX_PROMPT_CHARS}")
    if not prompt and not request.objects:
        raise InvalidArgument("prompt is empty and there are no objects: give a prompt, objects or both")
    if len(request.objects) > limits.max_boxes:
        raise InvalidArgument(
            f"objects: {len(request.objects)} given, but the model places at most {limits.max_boxes} "
            f"(max_boxes_per_image)"
        )
    objects = []
    for index, obj in enumerate(request.objects):
        phrase = obj.phrase.strip()
        if not phrase:
            raise InvalidArgument(f"objects[{index}].phrase is empty: say what goes in the box")
        if len(phrase) > MAX_PHRASE_CHARS:
            raise InvalidArgument(
                f"objects[{index}].phrase is {len(phrase)} characters; the limit is {MAX_PHRASE_CHARS}"
            )
        objects.append(LayoutObject(phrase, _check_box(index, obj)))

    steps = request.steps or limits.default_steps
    if not 1 <= steps <= MAX_STEPS:
        raise InvalidArgument(
            f"steps must be between 1 and {MAX_STEPS} (0 means the default {limits.default_steps}), "
            f"got {request.steps}"
        )
    guidance = request.guidance if request.HasField("guidance") else limits.default_guidance
    if not math.isfinite(guidance) or not 0.0 <= guidance <= MAX_GUIDANCE:
        raise InvalidArgument(f"guidance must be between 0 and {MAX_GUIDANCE:g}, got {guidance}")
    width = _check_size("width", request.width, limits)
    height = _check_size("height", request.height, limits)
    if request.HasField("preview_interval"):
        preview_interval = request.preview_interval
        if preview_interval < 0:
            raise InvalidArgument(
                f"preview_interval must be >= 0 (0 turns previews off), got {preview_interval}"
            )
    else:
        preview_interval = limits.default_preview_interval
    seed = request.seed if request.HasField("seed") else secrets.randbelow(RANDOM_SEED_BOUND)
    return RenderSpec(
        prompt=prompt,
        objects=tuple(objects),
        steps=steps,
        guidance=float(guidance),
        width=width,
        height=height,
        seed=seed,
        preview_interval=preview_interval,
        title=request.title.strip(),
        mood=request.mood.strip(),
        genres=tuple(g.strip() for g in request.genres if g.strip()),
        negative_prompt=request.negative_prompt.strip(),
    )
