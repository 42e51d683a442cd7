"""Every bad field of a RenderRequest is refused with a message naming it; good ones get defaults."""

from __future__ import annotations

import math

import pytest

from marquee.serving import InvalidArgument
from marquee.v1 import common_pb2, render_pb2
from render_server.config import RenderSettings
from render_server.draft_engine import DraftEngine
from render_server.validation import (
    MAX_GENRE_CHARS,
    MAX_GENRES,
    MAX_MOOD_CHARS,
    MAX_NEGATIVE_PROMPT_CHARS,
    MAX_PHRASE_CHARS,
    MAX_PROMPT_CHARS,
    MAX_TITLE_CHARS,
    MIN_BOX_SIDE,
    Limits,
    size_limits,
    validate_request,
)

LIMITS = Limits(max_size=512, max_boxes=3, default_size=512)


def obj(phrase: str = "horse", x1: float = 0.1, y1: float = 0.1, x2: float = 0.5, y2: float = 0.5):
    return render_pb2.RenderObject(phrase=phrase, box=common_pb2.Box(x1=x1, y1=y1, x2=x2, y2=y2))


#: (request fields, words the message must contain)
BAD_REQUESTS = [
    (dict(objects=[obj()] * 4), ["objects", "4", "at most 3", "max_boxes_per_image"]),
    (dict(objects=[obj(), obj(x2=1.2)]), ["objects[1].box.x2", "outside [0, 1]"]),
    (dict(objects=[obj(), obj(x1=-0.1)]), ["objects[1].box.x1", "outside [0, 1]"]),
    (dict(objects=[obj(x1=0.6, x2=0.4)]), ["objects[0].box", "inverted", "x1"]),
    (dict(objects=[obj(), obj(), obj(y1=0.5, y2=0.5)]), ["objects[2].box", "y1", "y2"]),
    (dict(objects=[obj(y2=math.nan)]), ["objects[0].box.y2", "nan"]),
    (dict(objects=[obj(x1=math.inf)]), ["objects[0].box.x1", "inf"]),
    (dict(objects=[render_pb2.RenderObject(phrase="sun")]), ["objects[0].box", "missing"]),
    (dict(objects=[obj(phrase="  ")]), ["objects[0].phrase", "empty"]),
    (dict(steps=201), ["steps", "1 and 200", "201"]),
    (dict(steps=-3), ["steps", "1 and 200", "-3"]),
    (dict(width=100), ["width", "multiple of 16", "100"]),
    (dict(height=-16), ["height", "multiple of 16"]),
    (dict(width=528), ["width", "528", "cap", "512"]),
    (dict(height=1024), ["height", "1024", "cap"]),
    (dict(guidance=-0.5), ["guidance", "-0.5"]),
    (dict(guidance=math.nan), ["guidance", "nan"]),
    (dict(prompt="", objects=[]), ["prompt", "empty", "objects"]),
    (dict(prompt="   "), ["prompt", "empty"]),
    (dict(preview_interval=-1), ["preview_interval", "-1"]),
    (dict(prompt="x" * 2001), ["prompt", "2001"]),
    # Every text field has a cap, named with the field in the refusal.
    (
        dict(title="t" * (MAX_TITLE_CHARS + 1)),
        ["title", f"{MAX_TITLE_CHARS + 1} characters", f"limit is {MAX_TITLE_CHARS}"],
    ),
    (dict(mood="m" * 2**20), ["mood", str(2**20), f"limit is {MAX_MOOD_CHARS}"]),
    (
        dict(negative_prompt="n" * (MAX_NEGATIVE_PROMPT_CHARS + 1)),
        ["negative_prompt", f"limit is {MAX_NEGATIVE_PROMPT_CHARS}"],
    ),
    (dict(genres=["Drama", "g" * 2**20]), ["genres[1]", str(2**20), f"limit is {MAX_GENRE_CHARS}"]),
    (dict(genres=["Drama"] * (MAX_GENRES + 1)), ["genres", f"{MAX_GENRES + 1} given", f"limit is {MAX_GENRES}"]),
    (
        dict(objects=[obj(), obj(phrase="p" * (MAX_PHRASE_CHARS + 1))]),
        ["objects[1].phrase", f"limit is {MAX_PHRASE_CHARS}"],
    ),
    # Degenerate boxes: a sliver of the image, or under two pixels at the size asked for.
    (dict(objects=[obj(x1=0.3, x2=0.3 + 1e-7)]), ["objects[0].box", "too small", "width", "min_box_side"]),
    (dict(objects=[obj(), obj(y1=0.5, y2=0.505)], width=512, height=512), ["objects[1].box", "height", "0.01"]),
    (
        dict(objects=[obj(x1=0.0, x2=0.1)], width=16, height=16),
        ["objects[0].box", "min_box_pixels 2", "16-pixel width"],
    ),
]


@pytest.mark.parametrize(("fields", "words"), BAD_REQUESTS)
def test_bad_field_is_named(fields: dict, words: list[str]) -> None:
    base = dict(prompt="a desert at dusk")
    base.update(fields)
    with pytest.raises(InvalidArgument) as error:
        validate_request(render_pb2.RenderRequest(**base), LIMITS)
    for word in words:
        assert word.lower() in error.value.message.lower(), error.value.message


def test_defaults_are_filled_in_and_a_random_seed_is_chosen() -> None:
    spec = validate_request(render_pb2.RenderRequest(prompt=" a desert "), LIMITS)
    assert (spec.prompt, spec.steps, spec.guidance, spec.width, spec.height, spec.preview_interval) == (
        "a desert",
        28,
        7.0,
        512,
        512,
        5,
    )
    seeds = {validate_request(render_pb2.RenderRequest(prompt="a"), LIMITS).seed for _ in range(8)}
    assert len(seeds) > 1  # random when unset


def test_explicit_values_are_kept_including_zeroes_that_mean_something() -> None:
    request = render_pb2.RenderRequest(
        objects=[obj("cowboy", 0.0, 0.0, 1.0, 1.0)],
        steps=200,
        guidance=0.0,
        width=16,
        height=512,
        seed=0,
        preview_interval=0,
        genres=["Western", " "],
    )
    spec = validate_request(request, LIMITS)
    assert spec.prompt == ""  # objects alone are enough
    assert spec.objects[0].box == (0.0, 0.0, 1.0, 1.0)
    assert (spec.steps, spec.guidance, spec.width, spec.height, spec.seed, spec.preview_interval) == (
        200,
        0.0,
        16,
        512,
        0,
        0,
    )
    assert spec.genres == ("Western",)


def test_text_at_its_cap_and_boxes_at_their_minimum_pass() -> None:
    side = 2 / 64  # two pixels at 64: more than MIN_BOX_SIDE, so the pixel minimum binds
    request = render_pb2.RenderRequest(
        prompt="p" * MAX_PROMPT_CHARS,
        title=" " + "t" * MAX_TITLE_CHARS + " ",
        mood="m" * MAX_MOOD_CHARS,
        negative_prompt="n" * MAX_NEGATIVE_PROMPT_CHARS,
        genres=["g" * MAX_GENRE_CHARS] * MAX_GENRES,
        objects=[obj("p" * MAX_PHRASE_CHARS, 0.5, 0.5, 0.5 + side, 0.5 + side)],
        width=64,
        height=64,
    )
    spec = validate_request(request, LIMITS)
    assert spec.title == "t" * MAX_TITLE_CHARS and len(spec.genres) == MAX_GENRES
    big = render_pb2.RenderRequest(prompt="p", objects=[obj(x1=0.2, x2=0.2 + MIN_BOX_SIDE)], width=512, height=512)
    assert validate_request(big, LIMITS).objects[0].box[2] == pytest.approx(0.2 + MIN_BOX_SIDE)


def test_the_size_cap_is_the_smaller_of_max_size_and_what_the_model_renders() -> None:
    settings = RenderSettings(_cli_parse_args=False, max_size=1536)
    engine = DraftEngine()
    assert size_limits(settings, engine).max_size == 1536  # no model limit
    engine.max_size = 512
    limits = size_limits(settings, engine)
    assert (limits.max_size, limits.default_size) == (512, 512)
    with pytest.raises(InvalidArgument) as error:
        validate_request(render_pb2.RenderRequest(prompt="p", height=528), limits)
    assert "height 528 is over this server's cap of 512" in error.value.message
    engine.max_size = 3072
    assert size_limits(settings, engine).max_size == 1536  # --max-size is lower
