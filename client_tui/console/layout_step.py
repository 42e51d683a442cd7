"""Step 3, Scenario & layout: the scenario (pre-filled, editable), the planner choice and its
system instruction, the planned layout on a canvas with a legend, every field editable, and the
planner's validation problems shown as you edit. Planning and validating run in this step's
workers."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Collapsible, Label, Select, Static

from client_tui import flow
from client_tui.console.fields import StepTextArea
from client_tui.console.layout_canvas import LayoutCanvas, LayoutLegend
from client_tui.console.layout_editor import LayoutEditor
from client_tui.console.stale_notice import StaleNotice
from client_tui.console.step import Step
from client_tui.errors import ServerError
from client_tui.records import LayoutRecord, PlannerChoice, PlanRecord, ProblemRecord, global_prompt
from client_tui.server_caps import PlannerCaps
from marquee.v1 import layout_pb2, render_pb2

PLANNERS: list[tuple[str, PlannerChoice]] = [
    ("auto: the LLM when configured, else offline", "auto"),
    ("LLM", "llm"),
    ("offline", "offline"),
]
#: Validation waits this long after an edit, so typing a number sends one check, not one a key.
VALIDATE_DELAY = 0.15


def length_check(text: str, limit: int, what: str) -> tuple[Text, bool]:
    """The line under a text field: its length against the planner's cap; (line, over the cap)."""
    if limit <= 0:
        return Text(f"{len(text)} characters", style="dim"), False
    if len(text) <= limit:
        return Text(f"{len(text)} / {limit} characters", style="dim"), False
    return Text(
        f"✕ {len(text)} characters: the planner takes at most {limit}. Shorten the {what} by "
        f"{len(text) - limit} before planning.",
        style="bold red",
    ), True


def plan_description(plan: PlanRecord | None) -> str:
    if plan is None:
        return "Not planned yet: press Plan (F7)."
    note = f"Planned by the {plan.description}."
    if plan.repairs:
        note += " Repairs: " + "; ".join(r.description for r in plan.repairs)
    return note


def problems_text(problems: list[ProblemRecord] | None, checked: bool) -> Text:
    if problems is None or not checked:
        return Text("Not checked yet.", style="dim")
    if not problems:
        return Text("✓ The layout is valid.", style="bold green")
    text = Text()
    for index, problem in enumerate(problems):
        if index:
            text.append("\n")
        text.append("✕ ", "bold red")
        if problem.field:
            text.append(f"{problem.field}: ", "bold")
        text.append(problem.message)
    return text


class LayoutStep(Step):
    DEFAULT_CSS = """
    LayoutStep { layout: horizontal; }
    LayoutStep #scenario-column { width: 2fr; padding: 0 1 0 0; }
    LayoutStep #layout-column { width: 3fr; }
    LayoutStep #scenario { height: 1fr; min-height: 6; }
    LayoutStep .length-check { height: auto; padding: 0 1; }
    LayoutStep #planner-row { height: 3; }
    LayoutStep #planner { width: 1fr; }
    LayoutStep #plan-note { height: auto; color: $text-muted; padding: 0 1; }
    LayoutStep #instruction { height: 10; }
    LayoutStep #plan-note.-failed { color: $text-error; }
    LayoutStep Collapsible { height: auto; }
    LayoutStep #canvas-row { height: 14; }
    LayoutStep #canvas { width: 1fr; }
    LayoutStep #legend-column { width: 1fr; padding: 0 0 0 1; }
    LayoutStep #problems { height: auto; padding: 0 1; border: round $secondary; }
    LayoutStep Label.heading { text-style: bold; color: $accent; }
    """

    class PromptDerived(Message):
        """A new layout (planned or edited) rewrote the global prompt derived from it."""

        def __init__(self, prompt: str) -> None:
            super().__init__()
            self.prompt = prompt

    layout_record: reactive[LayoutRecord | None] = reactive(None, always_update=True, init=False)
    aspect: reactive[float] = reactive(1.0, init=False)
    problems: reactive[list[ProblemRecord] | None] = reactive(None, always_update=True)
    plan_note: reactive[str] = reactive(plan_description(None), init=False)
    #: The planner's caps (DescribePlanner); 0: unknown, not checked here (the server still is).
    max_scenario_chars: reactive[int] = reactive(0, init=False)
    max_instruction_chars: reactive[int] = reactive(0, init=False)
    busy: reactive[bool] = reactive(False, init=False)
    default_instruction: reactive[str] = reactive("", init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Counts plans and validations answered (the tests wait on it).
        self.validation_generation = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="scenario-column"):
            yield StaleNotice(("scenario", "layout"), id="layout-stale")
            yield Label("Scenario (edit freely)", classes="heading")
            yield StepTextArea(id="scenario", soft_wrap=True, show_line_numbers=False)
            yield Static(id="scenario-check", classes="length-check")
            with Horizontal(id="planner-row"):
                yield Select(PLANNERS, value="auto", allow_blank=False, id="planner")
                yield Button("Plan", id="plan", variant="primary")
            yield Static(self.plan_note, id="plan-note")
            with Collapsible(title="System instruction (LLM planner)", collapsed=True, id="instruction-box"):
                yield StepTextArea(id="instruction", soft_wrap=True)
                yield Static(id="instruction-check", classes="length-check")
                yield Button("Reset to the planner's default", id="reset-instruction")
        with VerticalScroll(id="layout-column"):
            with Horizontal(id="canvas-row"):
                yield LayoutCanvas(id="canvas")
                with Vertical(id="legend-column"):
                    yield Label("Legend", classes="heading")
                    yield LayoutLegend(id="legend")
            yield Label("Problems", classes="heading")
            yield Static(problems_text(None, False), id="problems")
            yield Label("Edit the layout", classes="heading")
            yield LayoutEditor(id="editor")

    def on_mount(self) -> None:
        # Watchers of a closing widget are skipped: a late Describe answer cannot reach it.
        self.watch(self.app, "planner_info", self._planner_described, init=False)
        self.watch(self.app, "engine_info", self._engine_described, init=False)

    def _planner_described(self, info: layout_pb2.DescribePlannerResponse | None) -> None:
        if info is not None:
            self.show_planner(info, self.session.system_instruction)

    def _engine_described(self, info: render_pb2.DescribeEngineResponse | None) -> None:
        if info is not None:
            self.show_engine(info)

    async def show_session(self) -> None:
        session = self.session
        self.set_scenario(session.scenario)
        self.set_planner(session.planner)
        self.set_instruction(session.system_instruction)
        self.aspect = session.render.width / session.render.height
        await self.load_layout(session.layout)
        self.show_plan(session.plan)
        self.problems = list(session.problems) if session.layout is not None and session.problems else None

    # -- attributes down ---------------------------------------------------------------------

    def watch_plan_note(self, note: str) -> None:
        self.query_one("#plan-note", Static).update(note)
        self.query_one("#plan-note", Static).remove_class("-failed")

    def show_planner(self, info: layout_pb2.DescribePlannerResponse, instruction: str | None) -> None:
        """The planner's default instruction and caps (DescribePlanner); `instruction`: the
        session's override, kept over the default."""
        self.default_instruction = info.default_system_instruction
        caps = PlannerCaps.from_proto(info)
        self.max_scenario_chars = caps.max_scenario_chars
        self.max_instruction_chars = caps.max_system_instruction_chars
        if instruction is not None:
            self.set_instruction(instruction)

    def show_engine(self, info: render_pb2.DescribeEngineResponse) -> None:
        """The render server's caps on the layout's text, checked in the editor as you type."""
        self.query_one("#editor", LayoutEditor).set_text_caps(
            {"title": info.max_title_chars, "mood": info.max_mood_chars, "phrase": info.max_phrase_chars}
        )

    def show_plan(self, plan: PlanRecord | None) -> None:
        self.plan_note = plan_description(plan)

    def show_plan_error(self, error: str) -> None:
        """A failed plan: the scenario and the layout so far stay as they were, editable, and the
        note says what went wrong and what to do next."""
        self.plan_note = (
            f"Planning failed: {error} The scenario and the layout so far are kept: edit the "
            "scenario (or pick another planner) and press Plan (F7) again."
        )
        self.query_one("#plan-note", Static).add_class("-failed")

    def watch_max_scenario_chars(self) -> None:
        self._check_lengths()

    def watch_max_instruction_chars(self) -> None:
        self._check_lengths()

    def _check_lengths(self) -> list[str]:
        """Updates the lines under the scenario and the instruction; what is over a cap."""
        over: list[str] = []
        for area_id, limit, what in (
            ("scenario", self.max_scenario_chars, "scenario"),
            ("instruction", self.max_instruction_chars, "system instruction"),
        ):
            line, too_long = length_check(self.query_one(f"#{area_id}", StepTextArea).text, limit, what)
            self.query_one(f"#{area_id}-check", Static).update(line)
            if too_long:
                over.append(area_id)
        return over

    def request_plan(self) -> None:
        """Checks the typed text against the planner's caps, then plans (F7 and the button alike);
        an over-long field is reported beside it, and nothing is sent."""
        over = self._check_lengths()
        if "scenario" in over:
            self.plan_note = "Not planned: the scenario is longer than the planner takes (see below it)."
            self.query_one("#scenario", StepTextArea).focus()
            return
        if "instruction" in over:
            self.query_one("#instruction-box", Collapsible).collapsed = False
            self.plan_note = "Not planned: the system instruction is longer than the planner takes."
            self.query_one("#instruction", StepTextArea).focus()
            return
        self.plan()

    @work(exclusive=True, group="plan")
    async def plan(self) -> None:
        session = self.session
        self.busy = True
        self.plan_note = f"Planning with the {session.planner} planner ..."
        previous_prompt = session.global_prompt
        try:
            await flow.plan(self.gateway, session, self.planner_caps)
        except (ServerError, flow.InputError) as error:
            if self.showing:
                self.show_plan_error(str(error))
            self.report(error)
            return
        finally:
            if self.showing:
                self.busy = False
        if not self.showing:
            return
        await self.load_layout(session.layout)
        if not self.showing:
            return
        self.show_plan(session.plan)
        self.edited()
        self.problems = []
        self.validation_generation += 1
        if previous_prompt != session.global_prompt:
            self.post_message(self.PromptDerived(session.global_prompt))
        assert session.plan is not None
        self.notify(f"Layout planned by the {session.plan.description}.")

    @work(exclusive=True, group="validate")
    async def validate(self, layout: LayoutRecord, input_problems: list[ProblemRecord]) -> None:
        await asyncio.sleep(VALIDATE_DELAY)
        if not self.showing:
            return
        problems = list(input_problems)
        try:
            context = flow.planning_context(self.session, self.planner_caps)
            reply = await self.gateway.validate_layout(layout.to_proto(), context)
            problems.extend(ProblemRecord.from_proto(p) for p in reply.problems)
        except ServerError as error:
            problems.append(
                ProblemRecord(code="unchecked", field="", message=f"could not check with the planner: {error.advice}")
            )
        self.session.problems = problems
        if not self.showing:
            return
        self.problems = problems
        self.validation_generation += 1

    def watch_busy(self, busy: bool) -> None:
        self.query_one("#plan", Button).disabled = busy

    def watch_problems(self, problems: list[ProblemRecord] | None) -> None:
        self.query_one("#problems", Static).update(problems_text(problems, problems is not None))

    def watch_aspect(self, aspect: float) -> None:
        self.query_one("#canvas", LayoutCanvas).aspect = aspect

    def watch_layout_record(self, layout: LayoutRecord | None) -> None:
        """Redraws canvas and legend (the editor keeps its own copy while the operator types)."""
        self.query_one("#canvas", LayoutCanvas).layout_record = layout
        self.query_one("#legend", LayoutLegend).layout_record = layout

    async def load_layout(self, layout: LayoutRecord | None) -> None:
        """A new layout from outside (planner, session): into the editor, canvas and legend."""
        await self.query_one("#editor", LayoutEditor).load(layout)
        self.layout_record = layout

    def set_scenario(self, scenario: str) -> None:
        area = self.query_one("#scenario", StepTextArea)
        with area.prevent(StepTextArea.Changed):
            area.load_text(scenario)
        self._check_lengths()

    def set_planner(self, planner: PlannerChoice) -> None:
        select = self.query_one("#planner", Select)
        with select.prevent(Select.Changed):
            select.value = planner

    def set_instruction(self, instruction: str | None) -> None:
        area = self.query_one("#instruction", StepTextArea)
        with area.prevent(StepTextArea.Changed):
            area.load_text(instruction if instruction is not None else self.default_instruction)
        self._check_lengths()

    def watch_default_instruction(self, default: str) -> None:
        area = self.query_one("#instruction", StepTextArea)
        if not area.text.strip():
            with area.prevent(StepTextArea.Changed):
                area.load_text(default)
        self._check_lengths()

    # -- messages up -------------------------------------------------------------------------

    @on(StepTextArea.Changed, "#scenario")
    def _scenario(self, event: StepTextArea.Changed) -> None:
        event.stop()
        self._check_lengths()
        self.session.scenario = event.text_area.text
        self.edited()

    @on(StepTextArea.Changed, "#instruction")
    def _instruction(self, event: StepTextArea.Changed) -> None:
        event.stop()
        text = event.text_area.text
        self._check_lengths()
        self.session.system_instruction = None if text == self.default_instruction else text

    @on(Button.Pressed, "#reset-instruction")
    def _reset_instruction(self, event: Button.Pressed) -> None:
        event.stop()
        self.set_instruction(None)
        self.session.system_instruction = None

    @on(Select.Changed, "#planner")
    def _planner(self, event: Select.Changed) -> None:
        event.stop()
        # The Select has no blank and offers only PLANNERS' choices: take the (typed) one chosen.
        self.session.planner = next(choice for _, choice in PLANNERS if choice == event.value)

    @on(Button.Pressed, "#plan")
    def _plan(self, event: Button.Pressed) -> None:
        event.stop()
        self.request_plan()

    @on(LayoutEditor.Changed)
    def _layout_edited(self, event: LayoutEditor.Changed) -> None:
        event.stop()
        self.layout_record = event.layout  # redraw at once; the planner's check follows
        session = self.session
        derived_before = global_prompt(session.layout) if session.layout is not None else ""
        session.layout = event.layout
        if session.global_prompt in ("", derived_before):
            session.global_prompt = global_prompt(event.layout)
            self.post_message(self.PromptDerived(session.global_prompt))
        self.edited()
        self.validate(event.layout, list(event.input_problems))
