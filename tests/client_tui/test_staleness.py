"""What each product of the flow was made from, and the session saying so when an upstream
change makes it out of date: in `Session.stale_steps`, through save/load, and in the summary."""

from __future__ import annotations

import json

from client_tui.records import MovieRecord
from client_tui.session import Session
from client_tui.summary import summary_sections
from tests.client_tui.fake_servers import CATALOG, movie
from tests.client_tui.fixed_session import fixed_session


def _made(session: Session) -> Session:
    """`session` as the flow leaves it: each product recorded when it was made."""
    session.record_recommended()
    session.record_planned()
    session.record_rendered()
    return session


def _catalog_movie(movie_id: int) -> MovieRecord:
    return MovieRecord.from_proto(movie(next(e for e in CATALOG if e[0] == movie_id)))


def test_a_fresh_session_is_not_stale() -> None:
    assert _made(fixed_session()).stale_steps() == {}


def test_adding_a_watched_movie_makes_everything_downstream_stale() -> None:
    session = _made(fixed_session())
    session.watched = [*session.watched, _catalog_movie(260)]
    stale = session.stale_steps()
    assert list(stale) == ["recommendations", "scenario", "layout", "image"]
    assert stale["recommendations"] == "recommendations were made from 2 watched movies; the list now has 3"
    assert "out-of-date recommendations" in stale["scenario"]
    assert "out-of-date" in stale["layout"] and "out-of-date" in stale["image"]
    # Back to what the recommendations were made from: nothing is stale any more.
    session.watched = session.watched[:2]
    assert session.stale_steps() == {}


def test_changing_k_or_the_order_or_the_movies_is_said_in_words() -> None:
    session = _made(fixed_session())
    session.k = 5
    assert session.stale_steps()["recommendations"] == "recommendations were asked with k=3; k is now 5"
    session.k = 3
    session.watched = list(reversed(session.watched))
    assert "reordered" in session.stale_steps()["recommendations"]
    session.watched = [session.watched[0], _catalog_movie(260)]
    assert session.stale_steps()["recommendations"] == (
        "recommendations were made from a different list of 2 watched movies"
    )
    session.watched = []
    assert session.stale_steps()["recommendations"].endswith("the list now has none")


def test_recommending_again_clears_it() -> None:
    session = _made(fixed_session())
    session.watched = [*session.watched, _catalog_movie(260)]
    session.k = 4
    session.record_recommended()
    # The recommendations and the scenario rewritten with them are current; the layout and the
    # image were made from the scenario before, which the recommend step rewrites.
    session.scenario = "a new pre-filled scenario"
    stale = session.stale_steps()
    assert "recommendations" not in stale and "scenario" not in stale
    assert stale["layout"] == "the scenario was edited after the layout was planned"
    session.record_planned()
    session.record_rendered()
    assert session.stale_steps() == {}


def test_edits_after_planning_or_rendering() -> None:
    session = _made(fixed_session())
    assert session.layout is not None
    session.layout = session.layout.model_copy(update={"title": "Another title"})
    assert session.stale_steps() == {"image": "the layout changed after the image was rendered"}
    session.record_rendered()
    session.global_prompt = "something else"
    assert session.stale_steps() == {"image": "the global prompt changed after the image was rendered"}
    session.record_rendered()
    session.render.steps = 30
    assert session.stale_steps() == {"image": "the render settings changed after the image was rendered (steps 8 → 30)"}


def test_stale_state_survives_save_and_load() -> None:
    session = _made(fixed_session())
    session.watched = [*session.watched, _catalog_movie(260)]
    loaded = Session.from_json(session.to_json())
    assert loaded.stale_steps() == session.stale_steps()
    assert loaded.made_from.recommended_from == [1, 2]


def test_an_old_session_file_without_the_record_loads_and_is_not_called_stale() -> None:
    raw = json.loads(fixed_session().to_json())
    del raw["made_from"]
    old = Session.from_json(json.dumps(raw))
    assert old.made_from.recommended_from is None
    old.watched = [*old.watched, _catalog_movie(260)]
    # Nothing was recorded, so nothing can be judged: no false alarm on old files.
    assert old.stale_steps() == {}


def test_the_summary_marks_each_stale_section_in_words() -> None:
    session = _made(fixed_session())
    assert not any("OUT OF DATE" in heading for heading in summary_sections(session))
    session.watched = [*session.watched, _catalog_movie(260)]
    sections = summary_sections(session)
    marked = [heading for heading in sections if heading.endswith("— OUT OF DATE")]
    assert [h.split(" (")[0].split(" —")[0] for h in marked] == ["Recommended", "Scenario", "Layout", "Render"]
    recommended = next(h for h in marked if h.startswith("Recommended"))
    assert sections[recommended][0] == (
        "Out of date: recommendations were made from 2 watched movies; the list now has 3."
    )
    # The watched list itself is current and not marked.
    assert len(sections["Watched"]) == 3
