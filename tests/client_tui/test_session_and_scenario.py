"""The session JSON, the scenario the console pre-fills, and the requests built from a session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client_tui.records import MovieRecord, global_prompt
from client_tui.scenario import default_scenario, top_genres
from client_tui.session import Session, SessionError, planning_context, render_request
from tests.client_tui.fixed_session import fixed_session


def _movie(movie_id: int, genres: list[str], plot: str = "", title: str = "M") -> MovieRecord:
    return MovieRecord(movie_id=movie_id, title=title, year=1990, genres=genres, plot=plot)


def test_top_genres_most_frequent_first_ties_by_first_appearance() -> None:
    watched = [
        _movie(1, ["Drama", "Comedy"]),
        _movie(2, ["Action", "Comedy"]),
        _movie(3, ["Action", "Sci-Fi", "Drama"]),
        _movie(4, ["Comedy"]),
    ]
    # Comedy 3, Drama 2 (seen before Action), Action 2, Sci-Fi 1.
    assert top_genres(watched) == ["Comedy", "Drama", "Action"]
    assert top_genres(watched, 5) == ["Comedy", "Drama", "Action", "Sci-Fi"]
    assert top_genres([]) == []


def test_default_scenario_has_mood_preference_and_every_plot() -> None:
    recs = [_movie(10, [], "A dog saves a town.", "Dog"), _movie(11, [], "", "Quiet")]
    text = default_scenario(["Comedy", "Drama"], recs)
    assert text.startswith("Mood preference: Comedy, Drama")
    assert "- Dog (1990): A dog saves a town." in text
    assert "- Quiet (1990): (no plot available)" in text


def test_default_scenario_fits_the_planner_cap() -> None:
    long_plot = "word " * 400
    recs = [_movie(i, [], long_plot, f"Movie {i}") for i in range(5)]
    capped = default_scenario(["Drama"], recs, max_plot_chars=400, max_chars=1200)
    assert len(capped) <= 1200
    # Shortened evenly: every movie keeps a line.
    assert all(f"- Movie {i} (1990): word" in capped for i in range(5))
    assert len(default_scenario(["Drama"], recs, max_plot_chars=400)) > 1200


def test_session_round_trips_through_json(tmp_path: Path) -> None:
    session = fixed_session()
    path = tmp_path / "session.json"
    path.write_text(session.to_json())
    loaded = Session.load(path)
    assert loaded == session
    raw = json.loads(path.read_text())
    assert raw["format"] == "marquee.session" and raw["version"] == 1
    assert raw["watched"][0]["display_title"] == "Toy Story (1995)"
    assert raw["layout"]["objects"][0]["box"] == {"x1": 0.05, "y1": 0.2, "x2": 0.55, "y2": 0.95}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"format": "something else"}', "not a Marquee session"),
        ('{"format": "marquee.session", "k": 11}', "k: Input should be less than or equal to 10"),
        ('{"format": "marquee.session", "session_id": "../../etc"}', "session_id"),
        ('{"format": "marquee.session", "surprise": 1}', "surprise"),
    ],
)
def test_bad_session_files_are_named(text: str, message: str) -> None:
    with pytest.raises(SessionError) as info:
        Session.from_json(text, source="x.json")
    assert message in str(info.value) and "x.json" in str(info.value)


def test_missing_session_file() -> None:
    with pytest.raises(SessionError, match="cannot read"):
        Session.load(Path("/nonexistent/session.json"))


def test_render_request_from_session() -> None:
    session = fixed_session()
    request = render_request(session)
    assert request.prompt == session.global_prompt
    assert [o.phrase for o in request.objects] == [
        "cowboy doll, worried frown",
        "space ranger, wings spread",
        "board game, glowing dice",
    ]
    assert request.objects[0].box.x2 == pytest.approx(0.55)
    assert (request.steps, request.width, request.height, request.seed) == (8, 256, 256, 7)
    assert request.HasField("seed") and request.preview_interval == 2
    assert list(request.genres) == session.top_genres and request.title == "Toys After Dark"
    session.render.seed = None
    assert not render_request(session).HasField("seed")
    session.layout = None
    with pytest.raises(SessionError, match="no layout"):
        render_request(session)


def test_global_prompt_and_planning_context() -> None:
    session = fixed_session()
    assert session.layout is not None
    assert global_prompt(session.layout) == (
        'Movie thumbnail for "Toys After Dark", cinematic, warm lamplight in a child\'s bedroom'
    )
    context = planning_context(session)
    assert list(context.watched_top_genres) == ["Children's", "Animation", "Comedy"]
    assert [m.movie_id for m in context.recommended_movies] == [3114, 2355, 260]
