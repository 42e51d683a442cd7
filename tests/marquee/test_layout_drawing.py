"""The one layout drawing (`marquee.layout_drawing`): on the worst layouts the planners produce,
at thumbnail and full sizes, every label stays inside the picture, overlaps no other, starts with
its box number and is shortened only with an ellipsis; degenerate boxes are drawn, never raise.
The same checks run on layouts the real offline planner makes from the real plots."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from client_tui.scenario import default_scenario
from layout_server.offline_planner import OfflinePlanner
from layout_server.poster_templates import TEMPLATES
from marquee.layout_drawing import (
    ELLIPSIS,
    LabelStyle,
    PlacedLabel,
    box_colour,
    draw_layout,
    label_text,
    layout_on_white,
    overlaps,
    pixel_box,
)
from marquee.v1 import common_pb2, layout_pb2
from recommender_server.movies import load_movies

Objects = list[tuple[str, tuple[float, float, float, float]]]
LONG = (
    "a towering monstrous beast with horns of black iron, scales that shimmer like oil, and eyes "
    "that burn amber in the dark."
)  # 120 characters, as the planners' longest features
assert len(LONG) == 120

WORST: dict[str, Objects] = {
    "five overlapping": [
        ("Agrabah", (0.05, 0.05, 0.7, 0.7)),
        ("street thief", (0.06, 0.06, 0.66, 0.72)),
        ("magic lamp", (0.04, 0.07, 0.72, 0.68)),
        ("monstrous beast", (0.05, 0.05, 0.75, 0.75)),
        ("flying carpet", (0.08, 0.04, 0.7, 0.7)),
    ],
    "long phrases": [(f"object {i}, {LONG}", (0.1 * i, 0.1 * i, 0.1 * i + 0.5, 0.1 * i + 0.5)) for i in range(5)],
    "edges and corners": [
        ("top left", (0.0, 0.0, 0.4, 0.4)),
        ("top right", (0.6, 0.0, 1.0, 0.4)),
        ("bottom left", (0.0, 0.6, 0.4, 1.0)),
        ("bottom right", (0.6, 0.6, 1.0, 1.0)),
        ("whole frame", (0.0, 0.0, 1.0, 1.0)),
    ],
    "identical": [(f"twin {i} {LONG[:40]}", (0.3, 0.3, 0.7, 0.7)) for i in range(5)],
    "tiny and degenerate": [
        ("sliver", (0.5, 0.5, 0.5000001, 0.9)),
        ("point", (0.2, 0.2, 0.2, 0.2)),
        ("reversed", (0.9, 0.9, 0.6, 0.6)),
        ("out of range", (-0.5, -0.2, 1.7, 0.0000001)),
        ("flat at the bottom", (0.0, 1.0, 1.0, 1.0)),
    ],
    "ten boxes": [(f"item {i} {LONG[:30]}", (0.05 * i, 0.08 * i, 0.05 * i + 0.4, 0.08 * i + 0.2)) for i in range(10)],
}
SIZES = [(64, 64), (256, 256), (1024, 576), (576, 1024)]


def check_labels(
    objects: Sequence[tuple[str, Sequence[float]]],
    labels: Sequence[PlacedLabel | None],
    size: tuple[int, int],
    style: LabelStyle,
) -> None:
    width, height = size
    placed = [label for label in labels if label is not None]
    for label in placed:
        left, top, right, bottom = label.rect
        assert 0 <= left < right <= width and 0 <= top < bottom <= height, (label, size)
        assert style.measure(label.text) == (right - left, bottom - top), label
        full = label_text(label.index, objects[label.index][0])
        # The whole label, or its start and an ellipsis, or (crowded out) the number alone.
        assert (
            label.text == full
            or label.text == str(label.index + 1)
            or (label.text.endswith(ELLIPSIS) and full.startswith(label.text[:-1]))
        ), label
    for a, b in itertools.combinations(placed, 2):
        assert not overlaps(a.rect, b.rect), (a, b, size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(WORST))
def test_worst_layouts_labels_inside_and_apart(name: str, size: tuple[int, int]) -> None:
    objects = WORST[name]
    drawn = draw_layout(Image.new("RGB", size, "white"), objects)
    style = LabelStyle.for_size(*size)
    check_labels(objects, drawn.labels, size, style)
    assert drawn.image.size == size
    # Up to five boxes, even a 64-pixel thumbnail has room for every number.
    if len(objects) <= 5 or min(size) >= 256:
        assert all(label is not None for label in drawn.labels), drawn.labels
    # What the rectangles say is what was painted: each label's tag is in its box's colour.
    pixels = np.asarray(drawn.image)
    for label in drawn.labels:
        if label is not None:
            left, top, right, bottom = label.rect
            tag = pixels[top:bottom, left:right].reshape(-1, 3)
            assert (np.abs(tag.astype(int) - box_colour(label.index)).sum(axis=1) < 10).mean() > 0.4


def test_the_reported_overlap_is_gone() -> None:
    """ "1 Agrabah" was hidden under "4 monstrous beast…": boxes 1 and 4 share their corner."""
    objects = [
        ("Agrabah, palace of golden domes", (0.1, 0.1, 0.6, 0.6)),
        ("thief", (0.3, 0.5, 0.9, 0.9)),
        ("lamp", (0.6, 0.1, 0.9, 0.4)),
        ("monstrous beast with " + LONG, (0.1, 0.1, 0.8, 0.8)),
    ]
    for size in ((1024, 1024), (256, 256)):
        drawn = draw_layout(Image.new("RGB", size), objects)
        one, four = drawn.labels[0], drawn.labels[3]
        assert one is not None and four is not None
        assert not overlaps(one.rect, four.rect)
        assert one.text.startswith("1 Agrabah") and four.text.startswith("4 monstrous")


def test_a_free_box_gets_its_whole_label_inside_its_top_left_corner() -> None:
    drawn = draw_layout(Image.new("RGB", (512, 512)), [("cowboy hat", (0.25, 0.25, 0.75, 0.75))])
    label = drawn.labels[0]
    assert label is not None and label.text == "1 cowboy hat"
    assert label.rect[:2] == drawn.boxes[0][:2] == (128, 128)


def test_labels_avoid_reserved_areas() -> None:
    title = (0, 0, 512, 120)
    drawn = draw_layout(Image.new("RGB", (512, 512)), [("hat", (0.0, 0.0, 0.5, 0.5))], reserved=[title])
    assert drawn.labels[0] is not None and not overlaps(drawn.labels[0].rect, title)


@pytest.mark.parametrize(
    "box",
    [
        (0.5, 0.5, 0.5000001, 0.5000001),
        (0.3, 0.3, 0.3, 0.8),
        (0.8, 0.8, 0.2, 0.2),
        (1.0, 1.0, 1.0, 1.0),
        (-3.0, -3.0, -1.0, -1.0),
        (0.0, 0.0, float("nan"), float("inf")),
    ],
)
@pytest.mark.parametrize("size", [(16, 16), (64, 48), (1024, 1024)])
def test_degenerate_boxes_are_at_least_a_pixel_and_drawn(box: tuple[float, ...], size: tuple[int, int]) -> None:
    left, top, right, bottom = pixel_box(box, *size)
    assert 0 <= left <= right < size[0] and 0 <= top <= bottom < size[1]
    assert layout_on_white([("speck", box)], *size).size == size
    # The outline pixel at the box's corner is box 1's colour unless its label sits over it.
    drawn = draw_layout(Image.new("RGB", size, "white"), [("speck", box)])
    label = drawn.labels[0]
    if label is None or not (label.rect[0] <= left < label.rect[2] and label.rect[1] <= top < label.rect[3]):
        assert drawn.image.getpixel((left, top)) == box_colour(0)


def test_pixel_maths_covers_exactly_the_box() -> None:
    # x from round(x1·w) to round(x2·w) − 1: halves of the picture meet without a gap or overlap.
    assert pixel_box((0.0, 0.0, 0.5, 1.0), 100, 50) == (0, 0, 49, 49)
    assert pixel_box((0.5, 0.0, 1.0, 1.0), 100, 50) == (50, 0, 99, 49)


# -- the real offline planner over the real plots ---------------------------------------------

WATCHED_SETS = {
    "Aladdin and friends": (588, 595, 2081, 1),  # Aladdin, Beauty and the Beast, Little Mermaid, Toy Story
    "sci-fi horror": (1214, 1240, 1200, 541),  # Alien, Terminator, Aliens, Blade Runner
    "crime": (858, 1221, 2194, 1213),  # The Godfather I and II, The Untouchables, GoodFellas
    "long plots": (2858, 260, 1196, 1210, 2571),  # American Beauty, Star Wars IV to VI, The Matrix
}


@pytest.fixture(scope="module")
def planned_layouts(shared_data: Path) -> list[tuple[str, layout_pb2.Layout]]:
    """Every template's layout for each watched set (its plots as the recommended movies)."""
    from client_tui.records import MovieRecord
    from client_tui.scenario import top_genres

    catalog = load_movies(shared_data / "ml-1m", shared_data / "plots")
    planner = OfflinePlanner()
    layouts: list[tuple[str, layout_pb2.Layout]] = []
    for name, ids in WATCHED_SETS.items():
        movies = [catalog[i] for i in ids]
        protos = [
            common_pb2.Movie(
                movie_id=m.movie_id,
                title=m.title,
                year=m.year,
                genres=list(m.genres),
                plot=m.plot,
                display_title=m.display_title,
            )
            for m in movies
        ]
        assert all(p.plot for p in protos), name
        records = [MovieRecord.from_proto(p) for p in protos]
        genres = top_genres(records)
        context = layout_pb2.PlanningContext(watched_top_genres=genres, recommended_movies=protos)
        scenario = default_scenario(genres, records)
        layouts.append((name, planner.plan(scenario, context).layout))
        for template in TEMPLATES:
            layouts.append((f"{name}/{template.name}", planner.plan(scenario, context, template=template.name).layout))
    return layouts


@pytest.mark.parametrize("size", [(64, 64), (512, 512), (1024, 576)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_planned_layouts_labels_inside_and_apart(
    planned_layouts: list[tuple[str, layout_pb2.Layout]], size: tuple[int, int]
) -> None:
    style = LabelStyle.for_size(*size)
    shortened = 0
    for name, layout in planned_layouts:
        objects = [
            (f"{o.name}, {o.feature}" if o.feature else o.name, (o.box.x1, o.box.y1, o.box.x2, o.box.y2))
            for o in layout.objects
        ]
        drawn = draw_layout(Image.new("RGB", size, "white"), objects)
        check_labels(objects, drawn.labels, size, style)
        assert all(label is not None for label in drawn.labels), name
        shortened += sum(
            label.text != label_text(label.index, objects[label.index][0])
            for label in drawn.labels
            if label is not None
        )
    if size[0] >= 512:  # at full size most phrases are shown whole
        assert shortened < sum(len(layout.objects) for _, layout in planned_layouts) / 2
