"""The draft compositor: deterministic for a seed, a preview after each layer, stoppable; its
labels apart and inside the picture on the worst layouts, degenerate boxes drawn; and it says,
through the real server, that its picture is a mock-up and which of the request it did not do."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from marquee.layout_drawing import box_colour, overlaps
from marquee.v1 import common_pb2, render_pb2
from render_server.draft_engine import DraftEngine, palette
from render_server.draft_poster_plan import plan_poster
from render_server.engines import JobCancelled
from render_server.spec import LayoutObject, RenderSpec
from tests.render_server.helpers import collect, request, running_server

OBJECTS = (
    LayoutObject("cowboy hat", (0.1, 0.1, 0.5, 0.6)),
    LayoutObject("old horse", (0.4, 0.4, 0.95, 0.95)),
    LayoutObject("setting sun", (0.6, 0.05, 0.9, 0.35)),
)


def spec(**overrides: object) -> RenderSpec:
    values: dict[str, object] = dict(
        prompt="a lone cowboy in a desert at dusk",
        objects=OBJECTS,
        steps=28,
        guidance=7.0,
        width=256,
        height=256,
        seed=11,
        preview_interval=5,
        title="The Last Ride",
        mood="dark",
        genres=("Western",),
    )
    values.update(overrides)
    return RenderSpec(**values)  # type: ignore[arg-type]


class Recorder:
    def __init__(self, stop_after: int | None = None) -> None:
        self.progress_steps: list[tuple[int, int]] = []
        self.preview_steps: list[int] = []
        self.pictures: list[Image.Image] = []
        self.stop_after = stop_after

    @property
    def stop_requested(self) -> bool:
        return self.stop_after is not None and len(self.progress_steps) > self.stop_after

    def progress(self, step: int, total: int, stage: str) -> None:
        self.progress_steps.append((step, total))

    def wants_preview(self, step: int) -> bool:
        return True

    def preview(self, step: int, picture: Image.Image) -> None:
        self.preview_steps.append(step)
        self.pictures.append(picture)


def pixels(engine: DraftEngine, **overrides: object) -> np.ndarray:
    return np.asarray(engine.render(spec(**overrides), Recorder()).image)


def test_same_seed_same_image_other_seed_or_palette_other_image() -> None:
    engine = DraftEngine()
    engine.load()
    first = pixels(engine)
    assert (first == pixels(engine)).all()
    assert not (first == pixels(engine, seed=12)).all()
    assert not (first == pixels(engine, genres=("Comedy",), mood="bright")).all()
    assert first.shape == (256, 256, 3)


def test_a_layer_at_a_time_with_a_preview_after_each() -> None:
    recorder = Recorder()
    output = DraftEngine().render(spec(), recorder)
    total = len(OBJECTS) + 3  # background, one per object, title, finish
    assert output.steps == total and output.layout_steps == 0
    assert recorder.progress_steps == [(step, total) for step in range(total + 1)]
    assert recorder.preview_steps == list(range(1, total))  # the last layer is the result itself
    # Each preview is a snapshot: later layers do not change it.
    assert all(p.size == (256, 256) for p in recorder.pictures)
    assert not (np.asarray(recorder.pictures[-1]) == np.asarray(output.image)).all()
    assert not (np.asarray(recorder.pictures[0]) == np.asarray(recorder.pictures[1])).all()
    silent = Recorder()
    DraftEngine().render(spec(preview_interval=0), silent)
    assert silent.preview_steps == []


def test_renders_at_the_size_asked_up_to_1024() -> None:
    # Its speed is a benchmark's business; here, that a full-size poster is what was asked.
    engine = DraftEngine()
    engine.load()
    for width, height in ((1024, 1024), (1024, 576), (64, 1024)):
        assert engine.render(spec(width=width, height=height), Recorder()).image.size == (width, height)


def test_stops_after_the_current_layer_when_asked() -> None:
    recorder = Recorder(stop_after=2)
    with pytest.raises(JobCancelled):
        DraftEngine().render(spec(), recorder)
    assert recorder.progress_steps[-1][0] == 2


def test_palette_follows_genre_and_mood() -> None:
    rng = lambda: np.random.default_rng(0)  # noqa: E731
    horror = palette("", ["Horror"], rng())
    comedy = palette("", ["Comedy"], rng())
    assert horror["bottom"] != comedy["bottom"]
    dark = palette("dark grim", ["Comedy"], rng())
    bright = palette("bright joyful", ["Comedy"], rng())
    assert sum(dark["bottom"]) < sum(bright["bottom"])


LONG = "monstrous beast with horns of black iron, scales that shimmer like oil and amber eyes " * 2
CROWDED = (
    LayoutObject("Agrabah, palace of golden domes", (0.05, 0.05, 0.7, 0.7)),
    LayoutObject("street thief", (0.06, 0.06, 0.66, 0.72)),
    LayoutObject("magic lamp", (0.04, 0.07, 0.72, 0.68)),
    LayoutObject(LONG, (0.05, 0.05, 0.75, 0.75)),
    LayoutObject("speck", (0.5, 0.5, 0.5000001, 0.5000001)),
)


@pytest.mark.parametrize("size", [64, 256, 1024])
@pytest.mark.parametrize("title", ["Aladdin", "The Extraordinarily Long And Winding Title Nobody Could Fit " * 2])
def test_labels_apart_inside_and_clear_of_the_title(size: int, title: str) -> None:
    """ "1 Agrabah" was hidden under "4 monstrous beast…", and a 1e-7-wide box made PIL raise."""
    crowded = spec(objects=CROWDED, width=size, height=size, title=title, genres=("Animation", "Comedy"))
    plan = plan_poster(crowded)
    placed = [label for label in plan.labels if label is not None]
    assert len(placed) == len(CROWDED)
    for label in placed:
        left, top, right, bottom = label.rect
        assert 0 <= left < right <= size and 0 <= top < bottom <= size
        assert not any(overlaps(label.rect, area) for area in plan.reserved), (label, plan.title.text)
    assert not any(overlaps(a.rect, b.rect) for a, b in itertools.combinations(placed, 2))
    assert placed[0].text.startswith("1 Agra") and placed[3].text.startswith("4")
    assert plan.title.rect[0] >= 0 and plan.title.rect[2] <= size  # the title is not cut either
    image = DraftEngine().render(crowded, Recorder()).image
    # Each label's tag is painted in its box's colour (the colour of box N in every picture).
    pixels = np.asarray(image).astype(int)
    for label in placed:
        left, top, right, bottom = label.rect
        tag = pixels[top:bottom, left:right].reshape(-1, 3)
        assert (np.abs(tag - box_colour(label.index)).sum(axis=1) < 40).mean() > 0.3, label


async def test_the_server_says_the_draft_is_a_mock_up_and_what_it_did(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        described = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
        for words in (
            "layout mock-up without a diffusion model",
            "--engine creatilayout",
            "HF_TOKEN",
            "HuiZhang0812/CreatiLayout",
            "local directory",
        ):
            assert words in described.engine_notice, words
        for steps, asked in ((28, 28), (0, 28), (3, 3)):
            responses = await collect(server.stub.Render(request(steps=steps, width=64, height=64)))
            meta = responses[-1].result.metadata
            layers = 3 + 3  # background, the three objects, title, finish
            assert (meta.steps, meta.steps_requested) == (layers, asked)
            assert f"composed in {layers} layers" in meta.notice
            assert f"the {asked} denoising steps and guidance 7 asked for were not run" in meta.notice
            assert "--engine creatilayout" in meta.notice


def test_line_breaks_and_control_characters_in_text_fields_are_drawn_on_one_line() -> None:
    """A genre with a line break made Pillow's measuring raise (INTERNAL, found by the fuzz
    suite); escapes and NULs must not reach a picture either."""
    from marquee.layout_drawing import one_line

    hostile = "one\r\ntwo\n\tthree\x1b[31m\u202efour\x00"
    assert one_line(hostile) == "one two three[31mfour"
    engine = DraftEngine()
    engine.load()
    picture = engine.render(
        spec(
            prompt=hostile,
            title=hostile,
            mood=hostile,
            genres=(hostile, "\n\t"),
            objects=(LayoutObject(hostile, (0.1, 0.1, 0.6, 0.6)),),
        ),
        Recorder(),
    ).image
    assert picture.size == (256, 256)


async def test_the_layout_over_a_draft_shows_each_label_once_where_the_draft_put_it(tmp_path: Path) -> None:
    """The draft keeps its labels clear of the title; the layout drawn over it used to place
    them without that rule, so a label near the title showed twice (once over the title)."""
    objects = (
        LayoutObject("a lone astronaut", (0.1, 0.05, 0.6, 0.5)),
        LayoutObject("red planet", (0.5, 0.4, 0.95, 0.9)),
        LayoutObject("broken ship", (0.05, 0.6, 0.45, 0.95)),
    )
    drawn = spec(objects=objects, width=512, height=512, title="The Martian", genres=("Sci-Fi", "Drama"))
    plan = plan_poster(drawn)
    async with running_server(tmp_path) as server:
        responses = await collect(
            server.stub.Render(
                request(
                    title=drawn.title,
                    genres=list(drawn.genres),
                    width=512,
                    height=512,
                    objects=[
                        render_pb2.RenderObject(
                            phrase=o.phrase, box=common_pb2.Box(x1=o.box[0], y1=o.box[1], x2=o.box[2], y2=o.box[3])
                        )
                        for o in objects
                    ],
                )
            )
        )
    result = responses[-1].result
    image = np.asarray(Image.open(io.BytesIO(result.image.data)).convert("RGB")).astype(int)
    on_image = np.asarray(Image.open(io.BytesIO(result.layout_on_image.data)).convert("RGB")).astype(int)
    changed = np.abs(image - on_image).sum(-1) > 0
    allowed = np.zeros_like(changed)
    for label in plan.labels:
        assert label is not None
        left, top, right, bottom = label.rect
        allowed[top:bottom, left:right] = True
    band = plan.style.line + 1
    for left, top, right, bottom in plan.boxes:
        ring = np.zeros_like(changed)
        ring[max(0, top - band) : bottom + band + 1, max(0, left - band) : right + band + 1] = True
        ring[top + band : bottom - band, left + band : right - band] = False
        allowed |= ring
    assert changed.any()  # the outlines, crisp again over the vignette
    assert not (changed & ~allowed).any(), np.argwhere(changed & ~allowed)[:5]
