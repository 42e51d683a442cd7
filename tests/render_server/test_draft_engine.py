"""The draft compositor: fast, deterministic for a seed, a preview after each layer, stoppable."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from render_server.draft_engine import DraftEngine, palette
from render_server.engines import JobCancelled
from render_server.request_validation import LayoutObject, RenderSpec

OBJECTS = (
    LayoutObject("cowboy hat", (0.1, 0.1, 0.5, 0.6)),
    LayoutObject("old horse", (0.4, 0.4, 0.95, 0.95)),
    LayoutObject("setting sun", (0.6, 0.05, 0.9, 0.35)),
)


def spec(**overrides: object) -> RenderSpec:
    values: dict[str, object] = dict(
        prompt="a lone cowboy in a desert at dusk", objects=OBJECTS, steps=28, guidance=7.0, width=256,
        height=256, seed=11, preview_interval=5, title="The Last Ride", mood="dark", genres=("Western",),
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


def test_well_under_a_second_at_1024() -> None:
    engine = DraftEngine()
    engine.load()
    engine.render(spec(width=64, height=64), Recorder())
    started = time.perf_counter()
    engine.render(spec(width=1024, height=1024), Recorder())
    assert time.perf_counter() - started < 0.6


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
