"""Step 3, Scenario & layout: the scenario (pre-filled, editable), the planner choice and its
system instruction, the planned layout on a canvas with a legend, every field editable, and the
planner's validation problems shown as you edit."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button, Collapsible, Label, Select, Static

from client_tui.console.fields import StepTextArea
from client_tui.console.layout_canvas import LayoutCanvas, LayoutLegend
from client_tui.console.layout_editor import LayoutEditor
from client_tui.session import LayoutRecord, PlannerChoice, ProblemRecord

PLANNERS: list[tuple[str, PlannerChoice]] = [
    ("auto: the LLM when configured, else offline", "auto"),
    ("LLM", "llm"),
    ("offline", "offline"),
]


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


class LayoutStep(Widget):
    DEFAULT_CSS = """
    LayoutStep { layout: horizontal; }
    LayoutStep #scenario-column { width: 2fr; padding: 0 1 0 0; }
    LayoutStep #layout-column { width: 3fr; }
    LayoutStep #scenario { height: 1fr; min-height: 6; }
    LayoutStep #planner-row { height: 3; }
    LayoutStep #planner { width: 1fr; }
    LayoutStep #plan-note { height: auto; color: $text-muted; padding: 0 1; }
    LayoutStep #instruction { height: 10; }
    LayoutStep Collapsible { height: auto; }
    LayoutStep #canvas-row { height: 14; }
    LayoutStep #canvas { width: 1fr; }
    LayoutStep #legend-column { width: 1fr; padding: 0 0 0 1; }
    LayoutStep #problems { height: auto; padding: 0 1; border: round $secondary; }
    LayoutStep Label.heading { text-style: bold; color: $accent; }
    """

    class ScenarioChanged(Message):
        def __init__(self, scenario: str) -> None:
            super().__init__()
            self.scenario = scenario

    class PlannerChanged(Message):
        def __init__(self, planner: PlannerChoice) -> None:
            super().__init__()
            self.planner = planner

    class InstructionChanged(Message):
        def __init__(self, instruction: str | None) -> None:
            super().__init__()
            self.instruction = instruction

    class PlanRequested(Message):
        pass

    layout_record: reactive[LayoutRecord | None] = reactive(None, always_update=True, init=False)
    aspect: reactive[float] = reactive(1.0, init=False)
    problems: reactive[list[ProblemRecord] | None] = reactive(None, always_update=True)
    plan_note: reactive[str] = reactive("Not planned yet.", init=False)
    busy: reactive[bool] = reactive(False, init=False)
    default_instruction: reactive[str] = reactive("", init=False)

    def compose(self) -> ComposeResult:
        with Vertical(id="scenario-column"):
            yield Label("Scenario (edit freely)", classes="heading")
            yield StepTextArea(id="scenario", soft_wrap=True, show_line_numbers=False)
            with Horizontal(id="planner-row"):
                yield Select(PLANNERS, value="auto", allow_blank=False, id="planner")
                yield Button("Plan", id="plan", variant="primary")
            yield Static(self.plan_note, id="plan-note")
            with Collapsible(title="System instruction (LLM planner)", collapsed=True, id="instruction-box"):
                yield StepTextArea(id="instruction", soft_wrap=True)
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

    # -- attributes down ---------------------------------------------------------------------

    def watch_plan_note(self, note: str) -> None:
        self.query_one("#plan-note", Static).update(note)

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

    def set_planner(self, planner: PlannerChoice) -> None:
        select = self.query_one("#planner", Select)
        with select.prevent(Select.Changed):
            select.value = planner

    def set_instruction(self, instruction: str | None) -> None:
        area = self.query_one("#instruction", StepTextArea)
        with area.prevent(StepTextArea.Changed):
            area.load_text(instruction if instruction is not None else self.default_instruction)

    def watch_default_instruction(self, default: str) -> None:
        area = self.query_one("#instruction", StepTextArea)
        if not area.text.strip():
            with area.prevent(StepTextArea.Changed):
                area.load_text(default)

    # -- messages up -------------------------------------------------------------------------

    @on(StepTextArea.Changed, "#scenario")
    def _scenario(self, event: StepTextArea.Changed) -> None:
        event.stop()
        self.post_message(self.ScenarioChanged(event.text_area.text))

    @on(StepTextArea.Changed, "#instruction")
    def _instruction(self, event: StepTextArea.Changed) -> None:
        event.stop()
        text = event.text_area.text
        self.post_message(self.InstructionChanged(None if text == self.default_instruction else text))

    @on(Button.Pressed, "#reset-instruction")
    def _reset_instruction(self, event: Button.Pressed) -> None:
        event.stop()
        self.set_instruction(None)
        self.post_message(self.InstructionChanged(None))

    @on(Select.Changed, "#planner")
    def _planner(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.PlannerChanged(event.value))  # type: ignore[arg-type]

    @on(Button.Pressed, "#plan")
    def _plan(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.PlanRequested())

    @on(LayoutEditor.Changed)
    def _edited(self, event: LayoutEditor.Changed) -> None:
        # Redraw at once; the message goes on up to the app, which validates.
        self.layout_record = event.layout
