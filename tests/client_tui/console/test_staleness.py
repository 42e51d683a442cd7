"""The console never contradicts itself: changing the watched movies or k after recommending
marks the recommendations, scenario, layout and image out of date in every step, the summary
and the export say so, a saved session keeps it, and recommending again clears it."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from client_tui.console.app import MarqueeConsole
from client_tui.console.stale_notice import StaleNotice
from client_tui.session import Session
from client_tui.summary import SummaryImages
from tests.client_tui.console.helpers import all_serving, make_console, notifications, wait_for
from tests.client_tui.fake_servers import FakeStack, frame
from tests.client_tui.fixed_session import fixed_session

SIZE = (150, 48)
#: Each step's notice, as the tab that shows it.
NOTICES = {
    "f1": "#watched-stale",
    "f2": "#recommendations-stale",
    "f3": "#layout-stale",
    "f4": "#render-stale",
    "f5": "#summary-stale",
}


def _made_session() -> Session:
    """The fixed finished session, with what each product was made from recorded (as the flow does)."""
    session = fixed_session()
    session.record_recommended()
    session.record_planned()
    session.record_rendered()
    return session


def _console(stack: FakeStack, session: Session | None = None) -> MarqueeConsole:
    app = make_console(stack.endpoints(), session=session or _made_session())
    app.images = SummaryImages(image=frame(256, 256, 8, 8))
    return app


async def _notices_on_every_step(pilot: Pilot, app: MarqueeConsole) -> dict[str, str]:
    """Visits each step and returns the text of its out-of-date line, "" when it is not shown."""
    seen: dict[str, str] = {}
    for key, notice_id in NOTICES.items():
        await pilot.press(key)
        await pilot.pause()
        notice = app.query_one(notice_id, StaleNotice)
        shown = notice.display and notice.region.width > 0 and notice.region.height > 0
        seen[key] = str(notice.render()) if shown else ""
    return seen


async def _add_matrix(pilot: Pilot, app: MarqueeConsole) -> None:
    await pilot.press("f1")
    app.watched_step.search_input.focus()
    await pilot.press(*"matrix")
    await wait_for(
        pilot,
        lambda: app.watched_step.results and app.watched_step.results[0].movie_id == 2571,
        what="matrix in the results",
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: [m.movie_id for m in app.session.watched] == [1, 2, 2571])


async def test_adding_a_watched_movie_marks_every_step_and_the_summary(fake_stack: FakeStack) -> None:
    app = _console(fake_stack)
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        assert set((await _notices_on_every_step(pilot, app)).values()) == {""}
        await _add_matrix(pilot, app)
        seen = await _notices_on_every_step(pilot, app)
        for key, text in seen.items():
            assert text.startswith("⚠ Out of date: recommendations, scenario, layout, image."), (key, text)
        reason = "Recommendations were made from 2 watched movies; the list now has 3."
        assert reason in seen["f1"] and reason in seen["f2"] and reason in seen["f5"]
        assert "The scenario was written from out-of-date recommendations." in seen["f3"]
        assert "The image was rendered from an out-of-date layout." in seen["f4"]
        assert all("Recommend again (F6)" in text for text in seen.values())
        # The summary marks the stale sections in words.
        generation = app.summary_step.summary_generation
        app.summary_step.compose_summary()
        await wait_for(pilot, lambda: app.summary_step.summary_generation > generation, what="summary")
        assert app.session.summary is not None
        headings = list(app.session.summary.sections)
        assert "Scenario — OUT OF DATE" in headings and "Layout — OUT OF DATE" in headings
        assert "Render — OUT OF DATE" in headings
        assert any(h.startswith("Recommended") and h.endswith("OUT OF DATE") for h in headings)
        # Recommending again clears the recommendations and the scenario it rewrites; the layout
        # and image were made from the old scenario and still say so, with what to do.
        await pilot.press("f2", "f6")
        await wait_for(pilot, lambda: "recommendations" not in app.session.stale_steps(), what="fresh recommendations")
        seen = await _notices_on_every_step(pilot, app)
        assert seen["f1"] == "" and seen["f2"] == ""
        assert "The scenario was edited after the layout was planned. Plan again (F7)" in seen["f3"]
        assert seen["f4"].startswith("⚠ Out of date: layout, image.")
        await pilot.press("f3", "f7")
        await wait_for(pilot, lambda: "layout" not in app.session.stale_steps(), what="planned again")
        # The planner wrote the prompt anew from its layout: only the image is behind now.
        assert app.session.stale_steps() == {"image": "the global prompt changed after the image was rendered"}
        assert "Render again (F8)" in (await _notices_on_every_step(pilot, app))["f4"]


async def test_changing_k_marks_the_recommendations_stale(fake_stack: FakeStack) -> None:
    app = _console(fake_stack)
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await pilot.press("f2")
        k = app.query_one("#k", Input)
        k.value = "4"
        await wait_for(pilot, lambda: app.session.k == 4)
        seen = await _notices_on_every_step(pilot, app)
        assert "Recommendations were asked with k=3; k is now 4." in seen["f2"]
        assert all(text for text in seen.values())
        # Back to 3: the recommendations match again.
        await pilot.press("f2")
        k.value = "3"
        await wait_for(pilot, lambda: app.session.stale_steps() == {})
        assert set((await _notices_on_every_step(pilot, app)).values()) == {""}


async def test_export_and_a_saved_session_keep_the_stale_state(fake_stack: FakeStack, tmp_path: Path) -> None:
    app = _console(fake_stack)
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await _add_matrix(pilot, app)
        app.summary_step.export(tmp_path)
        await wait_for(
            pilot,
            lambda: (tmp_path / "session.json").exists() and any("Exported into" in n for n in notifications(app)),
            what="export",
        )
        note = next(n for n in notifications(app) if "Exported into" in n)
        assert "marked out of date: recommendations, scenario, layout, image" in note
    saved = Session.load(tmp_path / "session.json")
    assert list(saved.stale_steps()) == ["recommendations", "scenario", "layout", "image"]
    assert saved.summary is not None and "Scenario — OUT OF DATE" in saved.summary.sections
    # Opened again in a new console: every step says it at once.
    reopened = make_console(fake_stack.endpoints(), session_path=tmp_path / "session.json")
    async with reopened.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: [m.movie_id for m in reopened.session.watched] == [1, 2, 2571], what="session opened"
        )
        seen = await _notices_on_every_step(pilot, reopened)
        assert all(
            "Recommendations were made from 2 watched movies; the list now has 3." in seen[k]
            for k in ("f1", "f2", "f5")
        )
        assert all(seen.values())
