"""Repair: each fix on its own, what it must not touch, and a property over random boxes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from layout_server.layout_repair import grown_box, repair_layout
from layout_server.layout_rules import MIN_BOX_AREA, ForbiddenNames, box_problems, validate_layout
from marquee.v1 import common_pb2, layout_pb2
from tests.layout_server.helpers import GOOD_BOXES, context, make


def test_a_valid_layout_is_left_alone() -> None:
    layout = make()
    fixed, repairs = repair_layout(layout)
    assert repairs == [] and fixed == layout


def test_the_original_is_not_modified() -> None:
    layout = make([(0.9, 0.9, 0.1, 0.1), *GOOD_BOXES])
    before = layout.SerializeToString()
    repair_layout(layout)
    assert layout.SerializeToString() == before


def test_grow_keeps_the_centre_and_stays_inside() -> None:
    x1, y1, x2, y2 = grown_box(0.45, 0.45, 0.55, 0.55)
    assert (x2 - x1) * (y2 - y1) >= MIN_BOX_AREA
    assert abs((x1 + x2) / 2 - 0.5) < 1e-3 and abs((y1 + y2) / 2 - 0.5) < 1e-3
    # A sliver in a corner: grows, shifted inside the image.
    x1, y1, x2, y2 = grown_box(0.99, 0.0, 1.0, 0.02)
    assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1 and (x2 - x1) * (y2 - y1) >= MIN_BOX_AREA
    # A full-height line: one side would exceed 1, the other takes the rest.
    x1, y1, x2, y2 = grown_box(0.5, 0.0, 0.5, 1.0)
    assert (y1, y2) == (0.0, 1.0) and (x2 - x1) >= MIN_BOX_AREA


def test_mood_without_style_word_gets_one() -> None:
    fixed, repairs = repair_layout(make(mood="dusty golden light"), style_word="animated")
    assert fixed.mood == "animated, dusty golden light"
    assert [(r.field, r.description) for r in repairs] == [("mood", "prefixed the style word 'animated'")]


def test_objects_naming_movies_are_dropped_only_while_three_remain() -> None:
    names = ForbiddenNames.from_context(context())
    layout = make(GOOD_BOXES + GOOD_BOXES[:1])
    layout.objects[1].name = "High Noon clock"
    fixed, repairs = repair_layout(layout, names)
    assert [o.name for o in fixed.objects] == ["rider 0", "rider 2", "rider 3"]
    assert repairs[0].field == "objects[1]" and "High Noon" in repairs[0].description
    assert validate_layout(fixed, names) == []
    # With only three objects nothing is dropped: the problem is left for the re-ask.
    three = make()
    three.objects[0].name = "High Noon clock"
    fixed, repairs = repair_layout(three, names)
    assert len(fixed.objects) == 3 and validate_layout(fixed, names)[0].code == "names_movie"


def test_too_few_objects_cannot_be_repaired() -> None:
    fixed, _ = repair_layout(make(GOOD_BOXES[:2]))
    assert [p.code for p in validate_layout(fixed)] == ["too_few_objects"]


def test_long_text_is_shortened_at_a_word() -> None:
    layout = make(title="The " + "very " * 30 + "long title")
    fixed, repairs = repair_layout(layout)
    assert len(fixed.title) <= 80 and not fixed.title.endswith(" ")
    assert repairs[0].field == "title"


coordinate = st.floats(min_value=-2.0, max_value=3.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(coordinate, coordinate, coordinate, coordinate), min_size=3, max_size=9))
def test_any_finite_boxes_come_out_valid(boxes) -> None:
    layout = layout_pb2.Layout(title="T", mood="realistic, calm")
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        layout.objects.add(name=f"thing {i}", feature="plain", box=common_pb2.Box(x1=x1, y1=y1, x2=x2, y2=y2))
    fixed, _ = repair_layout(layout)
    assert validate_layout(fixed) == []
    for i, obj in enumerate(fixed.objects):
        assert box_problems(obj.box, f"objects[{i}].box") == []
