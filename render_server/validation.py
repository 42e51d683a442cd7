"""Turns a `RenderRequest` into a `RenderSpec` (`render_server.spec`) with every default filled in, or says precisely
which field is wrong (INVALID_ARGUMENT naming the field, the cap and, for lists, the index).

Every text field has a cap (advertised by DescribeEngine): the engines draw titles, genres and
phrases with PIL and encode prompts with tokenizers, whose cost grows with the text, so an
uncapped field could hold the single device for as long as its sender likes. Counts are checked
before the items they count and lengths before anything else reads the text, so validating even
the largest message the server accepts is a few passes over its bytes on the event loop.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from marquee.serving import InvalidArgument
from marquee.v1 import render_pb2
from render_server.config import (
    DEFAULT_GUIDANCE,
    DEFAULT_PREVIEW_INTERVAL,
    DEFAULT_SIZE,
    DEFAULT_STEPS,
    MAX_STEPS,
    SIZE_MULTIPLE,
    RenderSettings,
)
from render_server.spec import LayoutObject, RenderSpec

if TYPE_CHECKING:
    from render_server.engines import Engine

# Text caps, in characters after trimming surrounding spaces. CLIP reads 77 tokens and T5 256,
# so a longer prompt only costs time; titles, moods and genres are set in type on the poster.
MAX_PROMPT_CHARS = 2000
MAX_NEGATIVE_PROMPT_CHARS = 2000
MAX_TITLE_CHARS = 200
MAX_MOOD_CHARS = 300
MAX_GENRES = 20
MAX_GENRE_CHARS = 40
MAX_PHRASE_CHARS = 300
#: Each box side is at least this fraction of the image side: a box a hundredth of the image is
#: already under one token of the transformer's grid at 1024 px, so smaller ones guide nothing.
MIN_BOX_SIDE = 0.01
#: ...and at least this many pixels at the requested size, so that the box still has an inside
#: once its corners are rounded to pixels (a side under 2 px can round to nothing).
MIN_BOX_PIXELS = 2
MAX_GUIDANCE = 100.0
#: Seeds fit in an int64 on the wire; random ones stay small enough to read and retype.
RANDOM_SEED_BOUND = 2**32
#: Boxes arrive as float32: a side of exactly the minimum may read a hair below it.
_BOX_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Limits:
    """What this server accepts and what it fills in."""

    max_size: int
    max_boxes: int
    default_size: int
    default_steps: int = DEFAULT_STEPS
    default_guidance: float = DEFAULT_GUIDANCE
    default_preview_interval: int = DEFAULT_PREVIEW_INTERVAL


def size_limits(settings: RenderSettings, engine: Engine) -> Limits:
    """The server's limits: --max-size, lowered to what the loaded model can render (a multiple
    of 16), so that validation refuses what the model would fail on and DescribeEngine
    advertises the same number."""
    max_size = settings.max_size
    if engine.max_size is not None:
        max_size = min(max_size, engine.max_size // SIZE_MULTIPLE * SIZE_MULTIPLE)
    return Limits(max_size=max_size, max_boxes=engine.max_boxes, default_size=min(DEFAULT_SIZE, max_size))


class AdvertisedCaps(TypedDict):
    """The request caps, named as DescribeEngineResponse's fields."""

    max_prompt_chars: int
    max_title_chars: int
    max_mood_chars: int
    max_negative_prompt_chars: int
    max_genres: int
    max_genre_chars: int
    max_phrase_chars: int
    min_box_side: float
    min_box_pixels: int
    max_steps: int


def advertised_caps() -> AdvertisedCaps:
    """The request caps as DescribeEngineResponse fields."""
    return AdvertisedCaps(
        max_prompt_chars=MAX_PROMPT_CHARS,
        max_title_chars=MAX_TITLE_CHARS,
        max_mood_chars=MAX_MOOD_CHARS,
        max_negative_prompt_chars=MAX_NEGATIVE_PROMPT_CHARS,
        max_genres=MAX_GENRES,
        max_genre_chars=MAX_GENRE_CHARS,
        max_phrase_chars=MAX_PHRASE_CHARS,
        min_box_side=MIN_BOX_SIDE,
        min_box_pixels=MIN_BOX_PIXELS,
        max_steps=MAX_STEPS,
    )


def capped_text(name: str, value: str, cap: int) -> str:
    """`value` trimmed; INVALID_ARGUMENT naming `name` and `cap` when it is longer than `cap`."""
    text = value.strip()
    if len(text) > cap:
        raise InvalidArgument(f"{name} is {len(text)} characters; the limit is {cap} (DescribeEngine lists every cap)")
    return text


def _check_size(name: str, value: int, limits: Limits) -> int:
    if value == 0:
        return limits.default_size
    if value < 0 or value % SIZE_MULTIPLE:
        raise InvalidArgument(
            f"{name} must be a positive multiple of {SIZE_MULTIPLE} (0 means the default "
            f"{limits.default_size}), got {value}"
        )
    if value > limits.max_size:
        raise InvalidArgument(
            f"{name} {value} is over this server's cap of {limits.max_size} pixels (the most the "
            "loaded model and --max-size allow; DescribeEngine reports it as max_width/max_height)"
        )
    return value


def _check_box(index: int, obj: render_pb2.RenderObject, width: int, height: int) -> tuple[float, float, float, float]:
    where = f"objects[{index}].box"
    if not obj.HasField("box"):
        raise InvalidArgument(f"{where} is missing (object {index})")
    coords = {"x1": obj.box.x1, "y1": obj.box.y1, "x2": obj.box.x2, "y2": obj.box.y2}
    for key, value in coords.items():
        if not math.isfinite(value):
            raise InvalidArgument(f"{where}.{key} is {value} (object {index}); use a number in [0, 1]")
        if not 0.0 <= value <= 1.0:
            raise InvalidArgument(f"{where}.{key} = {value:g} is outside [0, 1] (object {index}); boxes are normalised")
    for low, high, side, pixels in (("x1", "x2", "width", width), ("y1", "y2", "height", height)):
        if coords[low] >= coords[high]:
            raise InvalidArgument(
                f"{where} is inverted or empty (object {index}): {low} = {coords[low]:g} must be "
                f"less than {high} = {coords[high]:g}"
            )
        # The larger of the two minimums binds: the fraction on big images, the pixels on small ones.
        minimum = max(MIN_BOX_SIDE, MIN_BOX_PIXELS / pixels)
        extent = coords[high] - coords[low]
        if extent < minimum - _BOX_TOLERANCE:
            raise InvalidArgument(
                f"{where} is too small (object {index}): its {side} {high} - {low} = {extent:.6g} must be "
                f"at least {minimum:.4g} (min_box_side {MIN_BOX_SIDE:g} of the image and min_box_pixels "
                f"{MIN_BOX_PIXELS} of the {pixels}-pixel {side}); make the box larger"
            )
    return (coords["x1"], coords["y1"], coords["x2"], coords["y2"])


def _genres(request: render_pb2.RenderRequest) -> tuple[str, ...]:
    if len(request.genres) > MAX_GENRES:
        raise InvalidArgument(f"genres: {len(request.genres)} given; the limit is {MAX_GENRES}")
    genres = (capped_text(f"genres[{i}]", g, MAX_GENRE_CHARS) for i, g in enumerate(request.genres))
    return tuple(g for g in genres if g)


def validate_request(request: render_pb2.RenderRequest, limits: Limits) -> RenderSpec:
    """The request as a `RenderSpec`; raises `InvalidArgument` naming the first bad field."""
    prompt = capped_text("prompt", request.prompt, MAX_PROMPT_CHARS)
    title = capped_text("title", request.title, MAX_TITLE_CHARS)
    mood = capped_text("mood", request.mood, MAX_MOOD_CHARS)
    negative_prompt = capped_text("negative_prompt", request.negative_prompt, MAX_NEGATIVE_PROMPT_CHARS)
    genres = _genres(request)
    if not prompt and not request.objects:
        raise InvalidArgument("prompt is empty and there are no objects: give a prompt, objects or both")
    if len(request.objects) > limits.max_boxes:
        raise InvalidArgument(
            f"objects: {len(request.objects)} given, but the model places at most {limits.max_boxes} "
            f"(max_boxes_per_image)"
        )
    # Sizes first: how small a box may be depends on them.
    width = _check_size("width", request.width, limits)
    height = _check_size("height", request.height, limits)
    objects = []
    for index, obj in enumerate(request.objects):
        phrase = capped_text(f"objects[{index}].phrase", obj.phrase, MAX_PHRASE_CHARS)
        if not phrase:
            raise InvalidArgument(f"objects[{index}].phrase is empty: say what goes in the box")
        objects.append(LayoutObject(phrase, _check_box(index, obj, width, height)))

    steps = request.steps or limits.default_steps
    if not 1 <= steps <= MAX_STEPS:
        raise InvalidArgument(
            f"steps must be between 1 and {MAX_STEPS} (0 means the default {limits.default_steps}), got {request.steps}"
        )
    guidance = request.guidance if request.HasField("guidance") else limits.default_guidance
    if not math.isfinite(guidance) or not 0.0 <= guidance <= MAX_GUIDANCE:
        raise InvalidArgument(f"guidance must be between 0 and {MAX_GUIDANCE:g}, got {guidance}")
    if request.HasField("preview_interval"):
        preview_interval = request.preview_interval
        if preview_interval < 0:
            raise InvalidArgument(f"preview_interval must be >= 0 (0 turns previews off), got {preview_interval}")
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
        title=title,
        mood=mood,
        genres=genres,
        negative_prompt=negative_prompt,
    )
