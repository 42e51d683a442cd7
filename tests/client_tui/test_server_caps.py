"""The client's view of the servers' caps agrees with the servers: what `fit_context` forwards
passes the layout server's own request checks, the defaults are the servers' defaults, and text
over a cap is named with its cap."""

from __future__ import annotations

import pytest

from client_tui.server_caps import (
    ELLIPSIS,
    EngineCaps,
    OverCap,
    PlannerCaps,
    check_boxes,
    check_scenario,
    check_size,
    clip_text,
    fit_context,
    fit_default_size,
)
from layout_server.config import LayoutSettings
from layout_server.validation import (
    MAX_GENRE_CHARS,
    MAX_GENRES,
    MAX_MOVIE_GENRES,
    MAX_MOVIE_TITLE_CHARS,
    Caps,
    check_context,
)
from marquee.serving import InvalidArgument
from marquee.v1 import common_pb2, layout_pb2


def _oversized_context(caps: Caps) -> layout_pb2.PlanningContext:
    long_words = "a tale of " * 1000
    movie = common_pb2.Movie(
        movie_id=1,
        title="T" * (MAX_MOVIE_TITLE_CHARS + 5),
        display_title="Long " * 100,
        year=1999,
        genres=[f"Genre{i}" + "x" * MAX_GENRE_CHARS for i in range(MAX_MOVIE_GENRES + 3)],
        plot=long_words[: caps.max_plot_chars + 18],
    )
    return layout_pb2.PlanningContext(
        watched_top_genres=["Drama" * 20] * (MAX_GENRES + 2),
        recommended_movies=[movie] * (caps.max_recommended_movies + 4),
    )


@pytest.mark.parametrize("server", [Caps(), Caps(max_plot_chars=150, max_recommended_movies=2)])
def test_a_fitted_context_passes_the_layout_servers_checks(server: Caps) -> None:
    context = _oversized_context(server)
    with pytest.raises(InvalidArgument):
        check_context(context, server)  # what the client forwarded before it clipped
    advertised = layout_pb2.DescribePlannerResponse(
        max_plot_chars=server.max_plot_chars,
        max_recommended_movies=server.max_recommended_movies,
        max_genres=MAX_GENRES,
        max_genre_chars=MAX_GENRE_CHARS,
        max_movie_title_chars=MAX_MOVIE_TITLE_CHARS,
        max_movie_genres=MAX_MOVIE_GENRES,
    )
    fitted = fit_context(context, PlannerCaps.from_proto(advertised))
    check_context(fitted, server)
    assert len(fitted.recommended_movies) == server.max_recommended_movies
    first = fitted.recommended_movies[0]
    assert first.plot.endswith(ELLIPSIS) and first.plot.startswith("a tale of a tale")
    assert (first.movie_id, first.year) == (1, 1999)
    assert len(context.recommended_movies[0].plot) == server.max_plot_chars + 18  # the original is untouched


def test_defaults_are_the_servers_defaults(clean_env: None) -> None:
    """A server that does not advertise a cap (0) is assumed to have its documented default."""
    settings = LayoutSettings(_cli_parse_args=False)
    caps = PlannerCaps.from_proto(layout_pb2.DescribePlannerResponse())
    assert (
        caps.max_scenario_chars,
        caps.max_plot_chars,
        caps.max_system_instruction_chars,
        caps.max_recommended_movies,
    ) == (
        settings.max_scenario_chars,
        settings.max_plot_chars,
        settings.max_system_instruction_chars,
        settings.max_recommended_movies,
    )
    assert (caps.max_genres, caps.max_genre_chars, caps.max_movie_title_chars, caps.max_movie_genres) == (
        MAX_GENRES,
        MAX_GENRE_CHARS,
        MAX_MOVIE_TITLE_CHARS,
        MAX_MOVIE_GENRES,
    )


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short enough", 40, "short enough"),
        ("  spaces   collapse\nhere ", 40, "spaces collapse here"),
        ("one two three four", 12, "one two…"),
        ("unbreakablewordhere", 8, "unbreak…"),
        ("one two three", 8, "one two…"),
        ("anything", 0, "anything"),
    ],
)
def test_clip_text_cuts_at_a_word_within_the_limit(text: str, limit: int, expected: str) -> None:
    clipped = clip_text(text, limit)
    assert clipped == expected
    assert limit <= 0 or len(clipped) <= limit


def test_text_the_person_typed_is_named_with_its_cap() -> None:
    with pytest.raises(OverCap, match=r"^--scenario has 4001 characters; the layout server takes at most 4000"):
        check_scenario("x" * 4001, PlannerCaps(), "--scenario")
    check_scenario("x" * 4000, PlannerCaps(), "--scenario")
    engine = EngineCaps(max_width=1536, max_height=1536, max_boxes=4)
    with pytest.raises(OverCap, match=r"^--size 2048x512 is over the render engine's cap of 1536x1536"):
        check_size(2048, 512, engine, "--size")
    with pytest.raises(OverCap, match="places at most 4: remove 1"):
        check_boxes(5, engine)
    check_size(4096, 4096, EngineCaps(), "--size")  # a server that advertises nothing is not second-guessed


def test_a_default_size_shrinks_to_the_engine() -> None:
    assert fit_default_size(1024, 1024, EngineCaps(max_width=600, max_height=512)) == (592, 512)
    assert fit_default_size(1024, 768, EngineCaps()) == (1024, 768)
