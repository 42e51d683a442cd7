"""The console driven with Pilot against fake servers with fixed data: each step, errors that
keep the work, the command palette, previews that never block keys, sessions."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import DataTable, Input, OptionList, Static, TabbedContent

from client_tui.console.commands import console_commands
from client_tui.console.layout_canvas import LayoutCanvas
from client_tui.console.layout_editor import ObjectRow
from client_tui.console.server_status import ServerBadge
from client_tui.export import export_session
from client_tui.session import Session
from client_tui.summary import SummaryImages
from layout_server.prompting import DEFAULT_SYSTEM_INSTRUCTION
from tests.client_tui.console.helpers import all_serving, make_console, notifications, wait_for
from tests.client_tui.fake_servers import FakeStack, frame
from tests.client_tui.fixed_session import fixed_session

SIZE = (150, 48)


async def _pick_toy_story(pilot, app) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*"toy")
    await wait_for(pilot, lambda: [m.movie_id for m in app.watched_step.results][:2] == [1, 3114], what="toy results")
    await pilot.press("enter")
    await wait_for(pilot, lambda: [m.movie_id for m in app.session.watched] == [1])


async def test_search_as_you_type_multi_select_and_details(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints())
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        assert app.focused is app.watched_step.search_input
        await pilot.press("s", "t", "a", "r")
        await wait_for(pilot, lambda: len(app.watched_step.results) == 3, what="star results")
        assert app.watched_step.last_search is not None and app.watched_step.last_search[0] == "star"
        details = str(app.query_one("#details", Static).render())
        assert "Star Wars: Episode IV - A New Hope" in details and "1977" in details
        assert "Action, Adventure, Fantasy, Sci-Fi" in details and "farm boy" in details
        # Pick two from the list with the keyboard.
        await pilot.press("tab", "enter", "down", "down", "enter")
        await wait_for(pilot, lambda: [m.movie_id for m in app.session.watched] == [260, 1210])
        results = app.query_one("#watched-results", OptionList)
        assert str(results.get_option_at_index(0).prompt).startswith("✓ ")
        # Search again: the picks stay.
        app.watched_step.search_input.focus()
        await pilot.press(*(["backspace"] * 4), *"toy")
        await wait_for(pilot, lambda: [m.movie_id for m in app.watched_step.results][:2] == [1, 3114])
        await pilot.press("enter")
        await wait_for(pilot, lambda: [m.movie_id for m in app.session.watched] == [260, 1210, 1])
        # Delete removes the highlighted watched movie.
        watched = app.query_one("#watched-list", OptionList)
        watched.focus()
        watched.highlighted = 1
        await pilot.press("delete")
        await wait_for(pilot, lambda: [m.movie_id for m in app.session.watched] == [260, 1])
        # An empty query clears the results without calling the server.
        app.watched_step.search_input.focus()
        await pilot.press(*(["backspace"] * 3))
        await wait_for(pilot, lambda: app.watched_step.results == [])


async def test_recommend_then_scenario_is_prefilled(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints())
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await _pick_toy_story(pilot, app)
        await pilot.press("f2")
        assert app.query_one("#steps", TabbedContent).active == "recommendations"
        k = app.query_one("#k", Input)
        k.value = "3"
        await pilot.press("f6")
        await wait_for(pilot, lambda: len(app.session.recommendations) == 3, what="3 recommendations")
        table = app.query_one("#recommendations-table", DataTable)
        assert table.row_count == 3
        assert table.get_row_at(0) == ["1", "Bug's Life, A (1998)", "5.00", "Animation, Children's, Comedy"]
        assert "circus bugs" in str(app.query_one("#rec-details", Static).render())
        await pilot.press("f3")
        scenario = app.query_one("#scenario").text  # type: ignore[attr-defined]
        assert scenario.startswith("Mood preference: Animation, Children's, Comedy")
        assert "- Toy Story 2 (1999): Woody is stolen by a toy collector." in scenario
        # k out of range is refused in the widget.
        await pilot.press("f2")
        k.value = "11"
        await pilot.click("#recommend")
        assert "k must be a whole number from 1 to 10" in str(app.query_one("#rec-status").render())


async def test_plan_draw_edit_and_validate(fake_stack: FakeStack) -> None:
    session = fixed_session()
    session.layout = None
    session.plan = None
    app = make_console(fake_stack.endpoints(), session=session)
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await pilot.press("f3", "f7")
        await wait_for(
            pilot,
            lambda: app.session.layout is not None and len(app.query(ObjectRow)) == 3,
            what="planned layout in the editor",
        )
        assert "offline planner (auto asked)" in str(app.query_one("#plan-note", Static).render())
        canvas = app.query_one(LayoutCanvas)
        drawn = str(canvas.render())
        assert "┌1" in drawn and "┌2" in drawn and "┌3" in drawn
        legend = str(app.query_one("#legend").render())
        assert "1  cowboy doll — worried frown" in legend
        # Shrink box 1: the planner's validation flags it as you type.
        generation = app.layout_step.validation_generation
        x2 = app.query_one("#obj-0-x2", Input)
        x2.value = "0.15"
        await wait_for(pilot, lambda: app.layout_step.validation_generation > generation, what="validation")
        problems = str(app.query_one("#problems", Static).render())
        assert "objects[0].box: the box covers 16% of the image or less" in problems
        assert app.session.layout.objects[0].box.x2 == 0.15
        # Not a number: said at once, with the field.
        generation = app.layout_step.validation_generation
        app.query_one("#obj-1-y1", Input).value = "abc"
        await wait_for(pilot, lambda: app.layout_step.validation_generation > generation)
        problems = str(app.query_one("#problems", Static).render())
        assert "y1 of object 2 must be a number from 0 to 1, not 'abc'" in problems
        # Title and mood are editable and feed the global prompt.
        app.query_one("#layout-title", Input).value = "Night Shift"
        await wait_for(pilot, lambda: app.session.layout.title == "Night Shift")
        assert app.session.global_prompt.startswith('Movie thumbnail for "Night Shift"')
        # Remove one object: too few. What was typed in the other rows stays.
        await pilot.click("#obj-2-remove")
        await wait_for(pilot, lambda: len(app.query(ObjectRow)) == 2)
        await wait_for(
            pilot,
            lambda: "a layout needs 3 to 5 objects, it has 2" in str(app.query_one("#problems", Static).render()),
            what="object count problem",
        )
        assert app.query_one("#obj-1-y1", Input).value == "abc"
        assert "y1 of object 2 must be a number" in str(app.query_one("#problems", Static).render())
        await pilot.click("#add-object")
        await wait_for(pilot, lambda: len(app.session.layout.objects) == 3)
        await wait_for(pilot, lambda: "it has 2" not in str(app.query_one("#problems", Static).render()))


async def test_system_instruction_default_and_override(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints(), session=fixed_session())
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await wait_for(pilot, lambda: app.planner_info is not None)
        area = app.query_one("#instruction")
        # The planner's own default instruction, as DescribePlanner gives it.
        assert area.text == DEFAULT_SYSTEM_INSTRUCTION  # type: ignore[attr-defined]
        area.load_text("Only use warm colours.")  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: app.session.system_instruction == "Only use warm colours.")
        await pilot.press("f7")
        await wait_for(pilot, lambda: len(fake_stack.layout.requests) == 1)
        assert fake_stack.layout.requests[0].system_instruction == "Only use warm colours."


async def test_llm_error_is_a_notification_and_the_work_is_kept(fake_stack: FakeStack) -> None:
    session = fixed_session()
    app = make_console(fake_stack.endpoints(), session=session)
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await pilot.press("f3")
        app.layout_step.set_planner("llm")
        app.session.planner = "llm"
        await pilot.press("f7")
        await wait_for(pilot, lambda: any("no LLM is configured" in n for n in notifications(app)))
        note = next(n for n in notifications(app) if "no LLM" in n)
        assert "Your work so far is kept." in note
        assert app.session.layout == fixed_session().layout
        assert len(app.query(ObjectRow)) == 3


async def test_server_down_keeps_work_and_shows_state(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints(), session=fixed_session())
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        fake_stack.servers["recommender"].stop(grace=None)
        badge = app.query_one("#badge-recommender", ServerBadge)
        await wait_for(
            pilot, lambda: badge.state is not None and badge.state.status == "unreachable", what="badge unreachable"
        )
        assert "recommender unreachable" in str(badge.render())
        await pilot.press("f2", "f6")
        await wait_for(pilot, lambda: any("Cannot reach the recommender server" in n for n in notifications(app)))
        assert [m.movie_id for m in app.session.watched] == [1, 2]
        assert len(app.session.recommendations) == 3


async def test_command_palette_reaches_every_step(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints())
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in console_commands(app)]
        for title in (
            "Go to Watched",
            "Go to Recommendations",
            "Go to Scenario & layout",
            "Go to Render",
            "Go to Summary",
            "Recommend",
            "Plan layout",
            "Render",
            "Cancel render",
            "Compose summary",
            "Export",
            "Save session",
            "Open session",
        ):
            assert title in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"go to render")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.query_one("#steps", TabbedContent).active == "render")
        for key, step in (("f1", "watched"), ("f2", "recommendations"), ("f3", "layout"), ("f5", "summary")):
            await pilot.press(key)
            assert app.query_one("#steps", TabbedContent).active == step


async def test_render_progress_previews_cancel_and_result(slow_fake_stack: FakeStack) -> None:
    app = make_console(slow_fake_stack.endpoints(), session=fixed_session())
    behaviour = slow_fake_stack.behaviour
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await pilot.press("f4")
        app.query_one("#param-steps", Input).value = "30"
        app.query_one("#param-preview_interval", Input).value = "1"
        await pilot.press("f8")
        preview = app.render_step.preview
        await wait_for(pilot, lambda: preview.frames_shown >= 2, what="previews")
        status = str(app.query_one("#render-status", Static).render())
        assert "denoising: step" in status and "/30" in status
        assert app.query_one("#cancel").disabled is False
        await pilot.click("#cancel")
        await wait_for(pilot, lambda: not app.render_step.running)
        assert "Cancelled" in str(app.query_one("#render-status", Static).render())
        await wait_for(pilot, lambda: behaviour.cancelled == ["job-1"], what="server saw the cancel")
        assert app.session.result is not None  # the fixed session's earlier result is kept
        assert app.session.render.steps == 30
        # Render again, to the end.
        app.query_one("#param-steps", Input).value = "4"
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.render_step.render_generation == 1, timeout=20, what="render result")
        assert app.session.result.job_id == "job-2" and app.session.result.steps == 4
        assert app.images.image is not None and app.images.image.size == (256, 256)
        await wait_for(pilot, lambda: app.summary_step.summary_generation >= 1, what="summary")
        assert app.session.summary is not None and "image" in app.session.summary.regions


async def test_preview_frames_never_block_keys(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints(), session=fixed_session())
    big = frame(1024, 1024, 3, 10)
    import io

    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    data = buffer.getvalue()
    typed = "keys are never dropped while frames are"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        prompt = app.query_one("#prompt", Input)
        prompt.value = ""
        prompt.focus()
        preview = app.render_step.preview

        async def flood() -> None:
            for _ in range(120):
                preview.offer(data, "flood")
                await asyncio.sleep(0)

        task = asyncio.create_task(flood())
        await pilot.press(*typed)
        await task
        await wait_for(pilot, lambda: not preview._decoding, what="decoder idle")
    assert prompt.value == typed
    assert preview.frames_offered == 120
    assert preview.frames_shown + preview.frames_dropped == 120 and preview.frames_dropped > 0


async def test_open_session_restores_every_step_and_exports(fake_stack: FakeStack, tmp_path: Path) -> None:
    session = fixed_session()
    final = frame(256, 256, 8, 8)
    export_session(
        session, SummaryImages(image=final, layout_on_image=final, layout_on_white=final), tmp_path / "saved"
    )
    app = make_console(fake_stack.endpoints(), session_path=tmp_path / "saved" / "session.json")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.session.session_id == "0123456789ab", what="session opened")
        await wait_for(pilot, lambda: app.summary_step.summary_generation >= 1)
        assert [m.movie_id for m in app.watched_step.watched] == [1, 2]
        assert app.query_one("#recommendations-table", DataTable).row_count == 3
        assert app.query_one("#obj-0-name", Input).value == "cowboy doll"
        assert app.query_one("#param-seed", Input).value == "7"
        assert app.render_step.preview.has_image
        # Re-export into another folder from the Summary step.
        await pilot.press("f5")
        app.query_one("#export-dir", Input).value = str(tmp_path / "again")
        await pilot.click("#export")
        await wait_for(pilot, lambda: (tmp_path / "again" / "session.json").is_file())
        again = Session.load(tmp_path / "again" / "session.json")
        assert again.layout == session.layout and again.files.image == "final.png"
        # A broken session file is a notification, not a crash.
        (tmp_path / "broken.json").write_text("{")
        app.query_one("#session-path", Input).value = str(tmp_path / "broken.json")
        await pilot.click("#open")
        await wait_for(pilot, lambda: any("is not JSON" in n for n in notifications(app)))
        assert app.session.session_id == "0123456789ab"


async def test_queue_position_is_shown_while_waiting() -> None:
    from tests.client_tui.fake_servers import RenderBehaviour

    with FakeStack(RenderBehaviour(queued_events=3)) as stack:
        app = make_console(stack.endpoints(), session=fixed_session())
        async with app.run_test(size=SIZE) as pilot:
            step = app.render_step
            shown: list[str] = []
            original = step.show_queued

            def spy(position: int, depth: int) -> None:
                original(position, depth)
                shown.append(step.status)

            step.show_queued = spy  # type: ignore[method-assign]
            await pilot.press("f4", "f8")
            await wait_for(pilot, lambda: app.render_step.render_generation == 1, what="render")
    assert shown == [
        "Queued: 2 job(s) ahead (queue depth 3).",
        "Queued: 1 job(s) ahead (queue depth 2).",
        "Queued: next to run (queue depth 1).",
    ]


async def test_a_full_render_queue_is_shown_as_a_wait_then_the_render_runs() -> None:
    """It used to say the stream was cut and a replica was being tried."""
    from tests.client_tui.fake_servers import RenderBehaviour

    behaviour = RenderBehaviour(queue_full_calls=1, retry_after=2)
    with FakeStack(behaviour) as stack:
        app = make_console(stack.endpoints(), session=fixed_session())
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f4", "f8")
            await wait_for(pilot, lambda: "queue full" in app.render_step.status, what="the wait shown")
            assert app.render_step.status == (
                "Render queue full; retrying in 2 s (the server expects room in about 2 s; waited 0 of 300 s)."
            )
            await wait_for(pilot, lambda: app.render_step.render_generation == 1, what="render")
            assert not any("replica" in n for n in notifications(app))
    assert behaviour.calls == 2 and app.session.result is not None
