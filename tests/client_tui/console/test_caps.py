"""Server caps in the console: text the person typed past a cap is reported beside its field
before any call; what the console forwards on the person's behalf (plots, the pre-filled
scenario) is clipped to fit; a failed plan leaves the scenario editable and says what to do;
the draft engine's notice is shown with its picture."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select, Static

from client_tui.connections import Endpoints
from client_tui.console.app import MarqueeConsole
from client_tui.console.layout_editor import ObjectRow
from client_tui.server_caps import PlannerCaps
from marquee.local_stack import LocalStack
from tests.client_tui.console.helpers import all_serving, make_console, wait_for
from tests.client_tui.fake_servers import FakeStack
from tests.client_tui.fixed_session import fixed_session

SIZE = (150, 48)


def _text(app: MarqueeConsole, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_typed_text_over_a_cap_is_reported_at_its_field_before_any_call(fake_stack: FakeStack) -> None:
    app = make_console(fake_stack.endpoints(), session=fixed_session())
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await wait_for(pilot, lambda: app.layout_step.max_scenario_chars == 4000, what="planner caps")
        await pilot.press("f3")
        scenario = app.query_one("#scenario")
        scenario.load_text("word " * 820)  # type: ignore[attr-defined]  # 4100 characters
        await wait_for(pilot, lambda: len(app.session.scenario) == 4100)
        check = _text(app, "#scenario-check")
        assert "✕ 4100 characters: the planner takes at most 4000. Shorten the scenario by 100" in check
        await pilot.press("f7")
        await pilot.pause(0.3)
        assert fake_stack.layout.requests == []
        assert "Not planned: the scenario is longer than the planner takes" in _text(app, "#plan-note")
        assert app.focused is scenario
        # The system instruction likewise, opened where it can be fixed.
        scenario.load_text("A short scenario.")  # type: ignore[attr-defined]
        instruction = app.query_one("#instruction")
        instruction.load_text("x" * 8001)  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: app.session.system_instruction == "x" * 8001)
        await pilot.press("f7")
        await pilot.pause(0.3)
        assert fake_stack.layout.requests == []
        assert "the planner takes at most 8000" in _text(app, "#instruction-check")
        assert app.query_one("#instruction-box").collapsed is False  # type: ignore[attr-defined]
        # Fixed: planning goes ahead.
        await pilot.click("#reset-instruction")
        await pilot.press("f7")
        await wait_for(pilot, lambda: len(fake_stack.layout.requests) == 1, what="plan request")
        assert fake_stack.layout.requests[0].scenario == "A short scenario."


@pytest.mark.slow
async def test_real_servers_long_plots_a_failed_plan_caps_and_the_draft_notice(real_stack: LocalStack) -> None:
    app = make_console(Endpoints.from_sources(real_stack.addresses(), {}))
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await wait_for(
            pilot,
            lambda: app.planner_info is not None and app.engine_info is not None,
            timeout=30,
            what="DescribePlanner and DescribeEngine",
        )
        caps = PlannerCaps.from_proto(app.planner_info)
        # Titanic's recommendations carry plots over the planner's cap (the CLI's reported case).
        await pilot.press(*"titanic")
        await wait_for(
            pilot,
            lambda: any(m.label == "Titanic (1997)" for m in app.watched_step.results),
            timeout=20,
            what="Titanic (1997) found",
        )
        await pilot.press("down")
        index = next(i for i, m in enumerate(app.watched_step.results) if m.label == "Titanic (1997)")
        await pilot.press(*["down"] * index, "enter")
        await wait_for(pilot, lambda: [m.label for m in app.session.watched] == ["Titanic (1997)"])
        await pilot.press("f2", "f6")
        await wait_for(pilot, lambda: len(app.session.recommendations) == 5, timeout=30, what="recommendations")
        assert len(app.session.scenario) <= caps.max_scenario_chars
        # A failed plan (the LLM planner, none configured) leaves everything usable.
        await pilot.press("f3")
        app.query_one("#planner", Select).value = "llm"
        await wait_for(pilot, lambda: app.session.planner == "llm")
        await pilot.press("f7")
        await wait_for(pilot, lambda: "Planning failed" in _text(app, "#plan-note"), timeout=30, what="plan failure")
        note = _text(app, "#plan-note")
        assert "press Plan (F7) again" in note and "Not planned yet" not in note
        app.query_one("#scenario").focus()
        await pilot.press("ctrl+home", *"Night. ")
        await wait_for(pilot, lambda: app.session.scenario.startswith("Night. "))
        app.query_one("#planner", Select).value = "offline"
        await wait_for(pilot, lambda: app.session.planner == "offline")
        await pilot.press("f7")
        await wait_for(
            pilot,
            lambda: app.session.layout is not None and len(app.query(ObjectRow)) >= 3,
            timeout=60,
            what="offline plan",
        )
        assert "Planned by the offline planner" in _text(app, "#plan-note")
        # A title typed past the render server's cap is marked at the field as it is typed.
        limit = app.engine_info.max_title_chars
        title = app.query_one("#layout-title", Input)
        planned_title = title.value
        title.value = "t" * (limit + 3)
        await wait_for(pilot, lambda: "the title has" in _text(app, "#editor-check"))
        assert f"the render server takes at most {limit}: shorten it by 3" in _text(app, "#editor-check")
        assert title.has_class("-invalid") and app.query_one("#editor-check").display
        title.value = planned_title
        await wait_for(pilot, lambda: _text(app, "#editor-check") == "")
        assert not title.has_class("-invalid") and not app.query_one("#editor-check").display
        # The draft engine's picture comes with its notice, on the render and summary steps.
        await pilot.press("f4")
        for field, value in (("width", "64"), ("height", "64"), ("steps", "2"), ("preview_interval", "0")):
            app.query_one(f"#param-{field}", Input).value = value
        await pilot.press("f8")
        await wait_for(
            pilot,
            lambda: app.session.result is not None and app.summary_step.summary_generation > 0,
            timeout=60,
            what="draft render and summary",
        )
        assert app.session.result.engine == "draft" and app.session.result.notice
        assert "layout mock-up" in _text(app, "#engine-notice")
        assert app.query_one("#engine-notice").display
        assert "layout mock-up" in _text(app, "#summary-notice")
        assert app.query_one("#summary-notice").display
        assert app.session.stale_steps() == {}
