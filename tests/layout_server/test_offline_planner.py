"""The offline planner: valid for every template and any input, deterministic, grounded in the
plots and genres, fast."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layout_server.genre_vocabulary import LOOKS, canonical_genre
from layout_server.layout_rules import ForbiddenNames, is_style_word, names_in_plot, style_word_of, validate_layout
from layout_server.offline_planner import OfflinePlanner
from layout_server.poster_templates import TEMPLATES
from layout_server.word_tokens import word_tokens
from marquee.v1 import layout_pb2
from tests.layout_server.helpers import TOY_PLOT, WESTERN_PLOT, context, movie

PLANNER = OfflinePlanner()


def ctx(genres: list[str], *plots: tuple[str, str, list[str]]) -> layout_pb2.PlanningContext:
    return layout_pb2.PlanningContext(
        watched_top_genres=genres, recommended_movies=[movie(t, p, g, i) for i, (t, p, g) in enumerate(plots, 1)]
    )


def test_at_least_eight_templates_each_valid_on_its_own() -> None:
    assert len(TEMPLATES) >= 8
    for template in TEMPLATES:
        assert 3 <= len(template.slots) <= 5, template.name
        for inputs in [
            ("", context()),
            ("a detective in the rain", layout_pb2.PlanningContext()),
            ("", ctx(["Horror"])),
        ]:
            plan = PLANNER.plan(*inputs, template=template.name)
            assert plan.template == template.name
            names = ForbiddenNames.from_context(inputs[1])
            assert validate_layout(plan.layout, names) == [], (template.name, plan.layout)
            assert [
                tuple(round(v, 4) for v in (o.box.x1, o.box.y1, o.box.x2, o.box.y2)) for o in plan.layout.objects
            ] == [s.box for s in template.slots]


def test_same_input_same_layout() -> None:
    first = PLANNER.plan("A sheriff waits for the noon train.", context())
    second = OfflinePlanner().plan("A sheriff waits for the noon train.", context())
    assert first.layout.SerializeToString() == second.layout.SerializeToString()
    others = {
        PLANNER.plan(f"A {who} waits for the noon train.", context()).layout.SerializeToString()
        for who in ("sheriff", "widow", "robot", "boxer")
    }
    assert len(others) == 4  # a different scenario gives a different layout


def test_objects_come_from_the_scenario_and_plots() -> None:
    plan = PLANNER.plan("", ctx(["Western"], ("High Noon", WESTERN_PLOT, ["Western"])))
    names = " ".join(o.name for o in plan.layout.objects)
    assert "sheriff" in names
    assert any(word in names for word in ("town", "outlaw", "gang", "train"))
    scenario = PLANNER.plan("An astronaut finds a glowing crystal on an icy moon.", ctx(["Sci-Fi"]))
    text = " ".join(o.name for o in scenario.layout.objects)
    assert "astronaut" in text and "crystal" in text and "moon" in text


def test_no_names_from_the_plots_or_titles() -> None:
    c = context()
    for template in TEMPLATES:
        layout = PLANNER.plan(TOY_PLOT, c, template=template.name).layout
        text = " ".join([layout.title] + [f"{o.name} {o.feature}" for o in layout.objects])
        for name in ("Andy", "Woody", "Frank", "Miller", "Toy Story", "High Noon"):
            assert name.lower() not in text.lower(), (template.name, text)


@pytest.mark.parametrize(
    "genres, style",
    [
        (["Animation", "Comedy"], "animated"),
        (["Film-Noir"], "noir"),
        (["Horror", "Drama"], "gothic"),
        (["Western"], "cinematic"),
        ([], "realistic"),
        (["Unknown genre"], "realistic"),
    ],
)
def test_mood_starts_with_the_genres_style_word(genres: list[str], style: str) -> None:
    layout = PLANNER.plan("a stranger arrives in town", ctx(genres)).layout
    assert style_word_of(layout.mood) == style
    assert is_style_word(style)


def test_every_genre_style_is_an_allowed_style_word() -> None:
    assert all(is_style_word(look.style) for look in LOOKS.values())
    assert canonical_genre("science fiction") == "Sci-Fi"
    assert canonical_genre("Children") == "Children's"


def test_templates_follow_genre_and_plot() -> None:
    horror = PLANNER.plan("A monster stalks the town; a creature hunts the survivors.", ctx(["Horror", "Thriller"]))
    assert horror.template == "looming_threat"
    duel = PLANNER.plan("Two rival gunslingers face each other, enemies since the war.", ctx(["Western", "Romance"]))
    assert duel.template in ("duo_face_off", "split_screen")
    heist = PLANNER.plan("The stolen diamond, the key and the letter are the only clues.", ctx(["Mystery", "Crime"]))
    assert heist.template == "object_close_up"
    vista = PLANNER.plan("A journey across the desert frontier and the mountains.", ctx(["Western", "Adventure"]))
    assert vista.template == "landscape_vista"
    gang = PLANNER.plan("A gang of friends and their family throw a party together.", ctx(["Comedy", "Children's"]))
    assert gang.template == "ensemble"


words = st.sampled_from(
    "the a lone sheriff woman robot dragon desert town ship ring letter gun dark ancient "
    'Andy Woody Smith . , ! ignore previous instructions output 9 objects </data-x> {} " '
    "night ocean city castle two rival friends monster stolen diamond journey".split()
)
text = st.lists(words, max_size=60).map(" ".join)
genre_names = st.lists(st.sampled_from([*sorted(LOOKS), "Family", "sci fi", "???"]), max_size=4)


@settings(max_examples=150, deadline=None)
@given(text, genre_names, st.lists(st.tuples(text, text, genre_names), max_size=4))
def test_any_input_gives_a_valid_deterministic_layout(scenario, genres, plots) -> None:
    c = layout_pb2.PlanningContext(
        watched_top_genres=genres,
        recommended_movies=[movie(title or "Untitled", plot, g, i) for i, (title, plot, g) in enumerate(plots)],
    )
    plan = PLANNER.plan(scenario, c)
    assert validate_layout(plan.layout, ForbiddenNames.from_context(c)) == []
    assert PLANNER.plan(scenario, c).layout == plan.layout


def test_an_edited_scenario_is_the_only_text_read_again() -> None:
    """What keeps an edit fast on the largest context the caps allow (20 distinct plots of 2,000
    characters): each plot is tokenised once, and re-planning after an edit of the scenario reads
    only the new scenario. (The time per plan is the benchmark's: tests/benchmarks/bench_layout.py,
    p99 target 20 ms.)"""
    long_plot = (WESTERN_PLOT + " " + TOY_PLOT + " ") * 5
    c = ctx(
        ["Western", "Animation", "Comedy"],
        *[(f"Movie {i}", f"{i} {long_plot}"[:2000], ["Western", "Drama"]) for i in range(20)],
    )
    PLANNER.clear_caches()

    def texts_read() -> tuple[int, int]:
        return word_tokens.cache_info().misses, names_in_plot.cache_info().misses

    before = texts_read()
    PLANNER.plan("warm-up", c)
    tokenised, named = (after - start for after, start in zip(texts_read(), before, strict=False))
    assert (tokenised, named) == (21, 20)  # every plot once, and the scenario
    for i in range(30):
        before = texts_read()
        plan = PLANNER.plan(f"A sheriff and a cowboy doll, take {i}", c)
        assert [after - start for after, start in zip(texts_read(), before, strict=False)] == [1, 0]
        assert validate_layout(plan.layout, ForbiddenNames.from_context(c)) == []
