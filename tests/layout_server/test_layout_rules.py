"""The layout rules: each one broken on purpose, the float32 tolerance, names of movies and people."""

from __future__ import annotations

import pytest

from layout_server.layout_rules import AREA_TOLERANCE, MIN_BOX_AREA, ForbiddenNames, names_in_plot, validate_layout
from marquee.v1 import layout_pb2
from tests.layout_server.helpers import GOOD_BOXES, TOY_PLOT, context, make, movie


def codes(layout: layout_pb2.Layout, names: ForbiddenNames | None = None) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in validate_layout(layout, names)]


def test_a_good_layout_has_no_problems() -> None:
    assert validate_layout(make()) == []


@pytest.mark.parametrize(
    "box, expected",
    [
        ((-0.1, 0.0, 0.5, 0.5), ["box_out_of_range"]),
        ((0.0, 0.0, 1.2, 0.5), ["box_out_of_range"]),
        ((0.6, 0.0, 0.1, 0.9), ["box_inverted"]),
        ((0.0, 0.9, 1.0, 0.1), ["box_inverted"]),
        ((0.3, 0.3, 0.3, 0.9), ["box_inverted"]),  # zero width
        ((0.0, 0.0, 0.3, 0.3), ["box_too_small"]),
        ((0.0, 0.0, 0.399, 0.4), ["box_too_small"]),  # 0.1596: beyond the tolerance
        ((float("nan"), 0.0, 0.5, 0.5), ["box_not_finite"]),
    ],
)
def test_box_rules(box, expected) -> None:
    layout = make([box, *GOOD_BOXES])
    assert [code for field, code in codes(layout) if field == "objects[0].box"] == expected


@pytest.mark.parametrize("x1, y1", [(0.0, 0.0), (0.1, 0.1), (0.3, 0.2), (0.6, 0.6), (0.17, 0.53), (0.33, 0.07)])
def test_a_0_4_square_passes_anywhere(x1: float, y1: float) -> None:
    # In float32, 0.4 x 0.4 comes out a hair below or above 0.16 depending on the position.
    layout = make([(x1, y1, x1 + 0.4, y1 + 0.4), *GOOD_BOXES])
    box = layout.objects[0].box
    area = (box.x2 - box.x1) * (box.y2 - box.y1)
    assert abs(area - MIN_BOX_AREA) < AREA_TOLERANCE
    assert validate_layout(layout) == []


def test_object_count() -> None:
    assert codes(make(GOOD_BOXES[:2])) == [("objects", "too_few_objects")]
    assert codes(make(GOOD_BOXES * 2)) == [("objects", "too_many_objects")]
    assert codes(make(GOOD_BOXES + GOOD_BOXES[:2])) == []  # five overlapping boxes are fine


def test_text_rules() -> None:
    assert codes(make(title=" ")) == [("title", "title_empty")]
    assert codes(make(title="x" * 81)) == [("title", "title_too_long")]
    assert codes(make(mood="")) == [("mood", "mood_empty")]
    assert codes(make(mood="dusty golden light")) == [("mood", "mood_style")]
    assert codes(make(mood="Animated, bright candy colours")) == []
    layout = make()
    layout.objects[1].name = ""
    layout.objects[2].feature = "y" * 121
    assert codes(layout) == [("objects[1].name", "name_empty"), ("objects[2].feature", "feature_too_long")]
    layout.objects[0].ClearField("box")
    assert ("objects[0].box", "box_missing") in codes(layout)


def test_movies_and_people_are_not_named() -> None:
    names = ForbiddenNames.from_context(context())
    layout = make()
    layout.objects[0].name = "toy story cowboy"  # two-word title, any case
    layout.objects[1].feature = "looks like Woody"  # a character of the plot
    layout.objects[2].name = "Dr. Kimble"  # honorific + name
    assert codes(layout, names) == [
        ("objects[0].name", "names_movie"),
        ("objects[1].feature", "names_person"),
        ("objects[2].name", "names_person"),
    ]
    # Common words that happen to be capitalised or to match a one-word title are fine.
    heat = ForbiddenNames.from_movies([movie("Heat", "", ["Action"])])
    fine = make()
    fine.objects[0].name = "Heat haze over the road"
    fine.objects[1].feature = "woody brown bark"
    assert validate_layout(fine, heat) == [] and validate_layout(fine, names) == []
    fine.objects[2].feature = "a Heat-style shootout"
    assert codes(fine, heat) == [("objects[2].feature", "names_movie")]


def test_titles_in_movielens_form() -> None:
    names = ForbiddenNames.from_movies(
        [
            movie("Shawshank Redemption, The", "", []),
            movie("City of Lost Children, The (Cité des enfants perdus, La)", "", []),
        ]
    )
    assert names.movie_named_in("the shawshank redemption poster") == "Shawshank Redemption"
    assert names.movie_named_in("cite des enfants perdus") is not None
    assert names.movie_named_in("a lost child in the city") is None


def test_names_in_plot_are_characters_not_sentence_starts() -> None:
    found = names_in_plot(TOY_PLOT)
    assert {"Andy", "Woody"} <= found
    assert "When" not in found and "A" not in found
