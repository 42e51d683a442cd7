"""The console app: the five steps in tabs, the keys, the session, the gateway, the servers'
health and what they describe of themselves, and what one step's work changes in the others.
Each step runs its own server calls (`step.py`); the palette's commands are in `commands.py`."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane

from client_tui.connections import SERVERS, Endpoints
from client_tui.console.commands import STEPS, ConsoleCommands
from client_tui.console.layout_step import LayoutStep
from client_tui.console.recommendations_step import RecommendationsStep
from client_tui.console.render_step import RenderStep, outcome_notice
from client_tui.console.server_status import ConnectionBar
from client_tui.console.step import Step, report
from client_tui.console.summary_step import SummaryStep
from client_tui.console.watched_step import WatchedStep
from client_tui.errors import ServerError
from client_tui.gateway import Gateway, ServerState
from client_tui.session import Session
from client_tui.summary import SummaryImages
from marquee.v1 import layout_pb2, render_pb2


class MarqueeConsole(App[int]):
    """`python -m client_tui`."""

    TITLE = "Marquee"
    SUB_TITLE = "personalised movie thumbnails"
    CSS_PATH = "console.tcss"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    #: Below 120 columns the screen is `-narrow`: steps stack their columns (console.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("f1", "step('watched')", "Watched", priority=True),
        Binding("f2", "step('recommendations')", "Recs", priority=True),
        Binding("f3", "step('layout')", "Layout", priority=True),
        Binding("f4", "step('render')", "Render", priority=True),
        Binding("f5", "step('summary')", "Summary", priority=True),
        Binding("f6", "recommend", "Recommend", priority=True),
        Binding("f7", "plan", "Plan", priority=True),
        Binding("f8", "render", "Render", priority=True),
        Binding("f9", "cancel_render", "Cancel", priority=True),
    ]

    #: What DescribePlanner / DescribeEngine answered; None until then (the steps watch these).
    planner_info: reactive[layout_pb2.DescribePlannerResponse | None] = reactive(None, init=False)
    engine_info: reactive[render_pb2.DescribeEngineResponse | None] = reactive(None, init=False)
    #: Which products are out of date and why (`Session.stale_steps`); every StaleNotice watches it.
    stale: reactive[dict[str, str]] = reactive(dict, always_update=True, init=False)

    def __init__(
        self,
        endpoints: Endpoints,
        *,
        image_class: type[Widget] | None = None,
        session: Session | None = None,
        session_path: Path | None = None,
        out_dir: Path | None = None,
        watch_health: bool = True,
    ) -> None:
        super().__init__()
        if image_class is None:
            from client_tui.console.image_modes import image_widget_class

            image_class = image_widget_class("auto")
        self.endpoints = endpoints
        self.image_class = image_class
        self.session = session or Session()
        self.images = SummaryImages()
        self.gateway: Gateway | None = None
        self.session_path = session_path
        self._out_dir = out_dir
        self._watch_health = watch_health

    def compose(self) -> ComposeResult:
        yield ConnectionBar({name: list(self.endpoints.addresses[name]) for name in SERVERS})
        steps = (
            WatchedStep(id="watched-step"),
            RecommendationsStep(id="recommendations-step"),
            LayoutStep(id="layout-step"),
            RenderStep(self.image_class, id="render-step"),
            SummaryStep(self.image_class, id="summary-step"),
        )
        with TabbedContent(initial="watched", id="steps"):
            for (step_id, title, *_), widget in zip(STEPS, steps, strict=False):
                with TabPane(title, id=step_id):
                    yield widget
        yield Footer()

    @property
    def watched_step(self) -> WatchedStep:
        return self.query_one(WatchedStep)

    @property
    def recommendations_step(self) -> RecommendationsStep:
        return self.query_one(RecommendationsStep)

    @property
    def layout_step(self) -> LayoutStep:
        return self.query_one(LayoutStep)

    @property
    def render_step(self) -> RenderStep:
        return self.query_one(RenderStep)

    @property
    def summary_step(self) -> SummaryStep:
        return self.query_one(SummaryStep)

    @property
    def showing(self) -> bool:
        """False once the screen closes (exit): a late message then has no step left to update."""
        return self.is_running and bool(self.screen_stack) and self.screen.is_running

    async def on_mount(self) -> None:
        self.gateway = Gateway(self.endpoints)
        await self._apply_session()
        self.watched_step.search_input.focus()
        if self._watch_health:
            self.query_one(ConnectionBar).watch_servers(self.gateway)
        if self.session_path is not None:
            self.summary_step.open_session(self.session_path)

    async def on_unmount(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()

    # -- keys (the palette offers the same and more: commands.py) ---------------------------------

    def action_step(self, step: str) -> None:
        self.query_one("#steps", TabbedContent).active = step
        self.query_one(next(focus for name, *_, focus in STEPS if name == step)).focus()

    def action_recommend(self) -> None:
        self.recommendations_step.request()

    def action_plan(self) -> None:
        self.layout_step.request_plan()

    def action_render(self) -> None:
        self.render_step.request(notify=True)

    def action_cancel_render(self) -> None:
        self.render_step.cancel_render()

    def default_out_dir(self) -> Path:
        return self._out_dir or Path("outputs") / self.session.session_id

    # -- the servers: health and what they describe ---------------------------------------------

    @property
    def server_states(self) -> dict[str, ServerState]:
        """Each server's last health answer (the connection bar watches them)."""
        return self.query_one(ConnectionBar).states

    @on(ConnectionBar.StateChanged)
    def _server_state(self, event: ConnectionBar.StateChanged) -> None:
        if event.state.ok:
            self.describe(event.state.server)

    @work(group="describe")
    async def describe(self, server: str) -> None:
        assert self.gateway is not None
        try:
            if server == "layout" and self.planner_info is None:
                self.planner_info = await self.gateway.describe_planner()
            elif server == "render" and self.engine_info is None:
                self.engine_info = await self.gateway.describe_engine()
        except ServerError as error:
            if error.code.name != "UNIMPLEMENTED":
                report(self, error)

    # -- the session across the steps --------------------------------------------------------------

    async def _apply_session(self) -> None:
        for step in self.query(Step):
            await step.show_session()
        self.show_staleness()

    @on(Step.SessionEdited)
    def show_staleness(self) -> None:
        """Every step's out-of-date line, from what the session recorded (cheap: on each edit)."""
        self.stale = self.session.stale_steps()

    @on(WatchedStep.WatchedChanged)
    def _watched_changed(self, event: WatchedStep.WatchedChanged) -> None:
        if self.showing:
            count = len(event.watched)
            self.recommendations_step.status = (
                f"{count} watched movie(s). Press Recommend (F6)." if count else "Choose watched movies first (F1)."
            )

    @on(RecommendationsStep.Recommended)
    def _recommended(self) -> None:
        if self.showing:
            self.layout_step.set_scenario(self.session.scenario)

    @on(LayoutStep.PromptDerived)
    def _prompt_derived(self, event: LayoutStep.PromptDerived) -> None:
        if self.showing:
            self.render_step.set_prompt(event.prompt)

    @on(RenderStep.SizeChosen)
    def _size_chosen(self, event: RenderStep.SizeChosen) -> None:
        if self.showing:
            self.layout_step.aspect = event.aspect

    @on(RenderStep.Rendered)
    def _rendered(self) -> None:
        if self.showing:
            self.summary_step.notice = outcome_notice(self.session.result)
            self.summary_step.compose_summary()

    @on(SummaryStep.SessionOpened)
    async def _session_opened(self, event: SummaryStep.SessionOpened) -> None:
        if not self.showing:
            return
        self.session, self.images = event.session, event.images
        self._out_dir = self._out_dir or event.path.parent
        self.session_path = event.path
        await self._apply_session()
        if event.images.image is None:
            self.render_step.show_result(None, "Not rendered in this session: press Render (F8).")
        self.summary_step.status = f"Opened {event.path}: re-render (F4) or re-export."
        self.summary_step.compose_summary()
        self.notify(f"Opened session {event.session.session_id}.")
