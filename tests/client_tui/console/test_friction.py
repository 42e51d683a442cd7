"""Keyboard and screen friction in the console: Down from the search box into the matches,
Enter in the export folder exports (with progress, off the event loop), the footer lists the
flow keys F6-F9, and the layout editor is usable on a 100×30 terminal."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widget import Widget
from textual.widgets import Button, Input, LoadingIndicator, OptionList, TabbedContent

from client_tui.console import summary_step
from client_tui.console.app import MarqueeConsole
from client_tui.console.layout_editor import ObjectRow
from client_tui.summary import SummaryImages
from tests.client_tui.console.helpers import all_serving, make_console, wait_for
from tests.client_tui.fake_servers import FakeStack, frame
from tests.client_tui.fixed_session import fixed_session


def _visible(app: MarqueeConsole, widget: Widget) -> bool:
    """On screen and not covered: what is drawn at the widget's centre is the widget itself."""
    region = widget.region
    if region.width == 0 or region.height == 0:
        return False
    at, _ = app.screen.get_widget_at(region.x + region.width // 2, region.y + region.height // 2)
    return at is widget or widget in at.ancestors_with_self


async def test_down_moves_from_the_search_box_into_the_matches(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints())
    async with app.run_test(size=(150, 48)) as pilot:
        await all_serving(pilot)
        await pilot.press(*"star")
        await wait_for(pilot, lambda: len(app.watched_step.results) >= 3, what="star results")
        await pilot.press("down")
        matches = app.query_one("#watched-results", OptionList)
        assert app.focused is matches and matches.highlighted == 0
        await pilot.press("down", "enter")
        await wait_for(
            pilot, lambda: [m.movie_id for m in app.session.watched] == [app.watched_step.results[1].movie_id]
        )


async def test_the_footer_lists_the_flow_keys(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints())
    async with app.run_test(size=(100, 30)) as pilot:
        await all_serving(pilot)
        wanted = {"f6": "Recommend", "f7": "Plan", "f8": "Render", "f9": "Cancel"}

        def shown() -> dict[str, str]:
            keys = app.query("FooterKey")
            return {k.key: k.description for k in keys if k.key in wanted and _visible(app, k)}  # type: ignore[attr-defined]

        await wait_for(pilot, lambda: shown() == wanted, what="F6-F9 visible in the footer at 100 columns")


async def test_the_layout_editor_is_usable_at_100_by_30(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints(), session=fixed_session())
    async with app.run_test(size=(100, 30)) as pilot:
        await all_serving(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: len(app.query(ObjectRow)) == 3)
        editor_ids = ["layout-title", "layout-mood", "add-object"]
        for row in range(3):
            editor_ids += [f"obj-{row}-{field}" for field in ("name", "feature", "x1", "y1", "x2", "y2", "remove")]
        editor_ids += ["scenario", "plan"]
        # Tab through the step: every field and button of the editor is reached, scrolled into
        # view when focused, and wide enough to read what it holds.
        reached: set[str] = set()
        for _ in range(80):
            if reached == set(editor_ids):
                break
            await pilot.press("tab")
            await pilot.pause()
            focused = app.focused
            if focused is None or focused.id not in editor_ids:
                continue
            reached.add(focused.id)
            assert _visible(app, focused), f"{focused.id} is focused but not visible"
            if isinstance(focused, Input) and focused.id not in ("layout-title", "layout-mood"):
                min_width = 6 if focused.id.endswith(("x1", "y1", "x2", "y2")) else 16
                assert focused.region.width >= min_width, (focused.id, focused.region)
        assert reached == set(editor_ids)
        # Typing in a field reached this way edits the layout.
        app.query_one("#obj-2-name", Input).focus()
        await pilot.pause()
        await pilot.press("end", *" glowing")
        await wait_for(pilot, lambda: app.session.layout.objects[2].name == "board game glowing")


async def test_enter_in_the_export_folder_exports_with_progress(
    fake_stack: FakeStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hold the export (the real one) until the test has seen the progress, so the check does
    # not depend on how fast the disk is.
    release = threading.Event()
    real_export = summary_step.export_session

    def held_export(*args, **kwargs):  # type: ignore[no-untyped-def]
        release.wait(30)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(summary_step, "export_session", held_export)
    app = make_console(fake_stack.endpoints(), session=fixed_session())
    app.images = SummaryImages(image=frame(256, 256, 8, 8))
    async with app.run_test(size=(150, 48)) as pilot:
        await all_serving(pilot)
        await pilot.press("f5")
        folder = app.query_one("#export-dir", Input)
        folder.value = str(tmp_path / "out")
        folder.focus()
        await pilot.press("enter")
        progress = app.query_one("#export-progress", LoadingIndicator)
        await wait_for(pilot, lambda: app.summary_step.busy, what="export running")
        assert progress.display and progress.region.height > 0
        assert "Exporting into" in str(app.query_one("#summary-status").render())
        assert app.query_one("#export", Button).disabled
        # The screen still answers keys while the export runs.
        await pilot.press("f1")
        assert app.query_one("#steps", TabbedContent).active == "watched"
        release.set()
        await wait_for(pilot, lambda: not app.summary_step.busy, what="export done")
        assert (tmp_path / "out" / "summary.png").exists() and (tmp_path / "out" / "session.json").exists()
        assert not app.query_one("#export", Button).disabled
        assert "Wrote" in str(app.query_one("#summary-status").render())
