"""The console app: holds the session and the gateway, turns the steps' requests (messages up)
into server calls in workers, and sends results back down as attributes. Server errors become
notifications that say what to do; nothing done so far is thrown away."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Iterable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, TabbedContent, TabPane

from client_tui import flow
from client_tui.connections import SERVERS, Endpoints
from client_tui.console.layout_editor import LayoutEditor
from client_tui.console.layout_step import LayoutStep
from client_tui.console.recommendations_step import RecommendationsStep
from client_tui.console.render_step import RenderStep, outcome_notice
from client_tui.console.server_status import ConnectionBar
from client_tui.console.stale_notice import StaleNotice
from client_tui.console.summary_step import SummaryStep
from client_tui.console.watched_step import WatchedStep
from client_tui.errors import ServerError
from client_tui.export import ExportError, export_session, load_images, save_session
from client_tui.gateway import Gateway, RenderEvent, RenderRetry, ServerState
from client_tui.images import ImageError
from client_tui.server_caps import EngineCaps, PlannerCaps
from client_tui.session import LayoutRecord, MovieRecord, ProblemRecord, Session, SessionError, global_prompt
from client_tui.summary import SummaryImages, compose_summary

STEPS = (
    ("watched", "1 Watched", "F1", "Search the catalog and pick the movies you watched"),
    ("recommendations", "2 Recommendations", "F2", "Choose k and see the ranked recommendations"),
    ("layout", "3 Scenario & layout", "F3", "Edit the scenario, plan and edit the layout"),
    ("render", "4 Render", "F4", "Render the layout with live previews"),
    ("summary", "5 Summary", "F5", "Compose, show and export the process summary"),
)
VALIDATE_DELAY = 0.15
SEARCH_LIMIT = 50


class MarqueeConsole(App[int]):
    """`python -m client_tui`."""

    TITLE = "Marquee"
    SUB_TITLE = "personalised movie thumbnails"
    CSS_PATH = "console.tcss"
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
        self._initial_session_path = session_path
        self._out_dir = out_dir
        self._watch_health = watch_health
        self.gateway: Gateway | None = None
        self.images = SummaryImages()
        self.server_states: dict[str, ServerState] = {}
        self.planner_info = None
        self.engine_info = None
        #: Counters and timings the tests and benchmarks read.
        self.search_generation = 0
        self.last_search: tuple[str, float] | None = None
        self.validation_generation = 0
        self.render_generation = 0
        self.summary_generation = 0

    # -- layout of the screen --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ConnectionBar({name: list(self.endpoints.addresses[name]) for name in SERVERS})
        with TabbedContent(initial="watched", id="steps"):
            with TabPane(STEPS[0][1], id="watched"):
                yield WatchedStep(id="watched-step")
            with TabPane(STEPS[1][1], id="recommendations"):
                yield RecommendationsStep(id="recommendations-step")
            with TabPane(STEPS[2][1], id="layout"):
                yield LayoutStep(id="layout-step")
            with TabPane(STEPS[3][1], id="render"):
                yield RenderStep(self.image_class, id="render-step")
            with TabPane(STEPS[4][1], id="summary"):
                yield SummaryStep(self.image_class, id="summary-step")
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

    async def on_mount(self) -> None:
        self.gateway = Gateway(self.endpoints)
        await self._apply_session()
        self.watched_step.search_input.focus()
        if self._watch_health:
            for server in SERVERS:
                self.watch_server(server)
        if self._initial_session_path is not None:
            self.open_session(self._initial_session_path)

    async def on_unmount(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()

    # -- keys and the command palette ------------------------------------------------------------

    def action_step(self, step: str) -> None:
        self.query_one("#steps", TabbedContent).active = step
        focus = {
            "watched": "#search",
            "recommendations": "#k",
            "layout": "#scenario",
            "render": "#render-button",
            "summary": "#compose",
        }[step]
        self.query_one(focus).focus()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for step, title, key, help_text in STEPS:
            yield SystemCommand(f"Go to {title[2:]}", f"{help_text} ({key})", lambda s=step: self.action_step(s))
        yield SystemCommand("Recommend", "Ask the recommender for k movies (F6)", self.action_recommend)
        yield SystemCommand("Plan layout", "Plan a layout from the scenario (F7)", self.action_plan)
        yield SystemCommand("Render", "Render the layout (F8)", self.action_render)
        yield SystemCommand("Cancel render", "Stop the running render (F9)", self.action_cancel_render)
        yield SystemCommand("Compose summary", "Draw the process summary", self.action_compose_summary)
        yield SystemCommand("Export", "Write summary PNG/PDF, images and session JSON", self.action_export)
        yield SystemCommand("Save session", "Write the session JSON", self.action_save_session)
        yield SystemCommand("Open session", "Load a session JSON to re-render or re-export", self.action_open_session)

    def action_recommend(self) -> None:
        # Through the step, so that F6, the button and Enter all read and check k the same way.
        self.recommendations_step.request()

    def action_plan(self) -> None:
        # Through the step, so that F7 and the button check the typed text against the caps alike.
        self.layout_step.request_plan()

    def action_render(self) -> None:
        params, problem = self.render_step.read()
        if params is None:
            self.notify(problem, severity="warning")
            return
        self.session.render = params
        self.start_render()

    def action_cancel_render(self) -> None:
        self.cancel_render()

    def action_compose_summary(self) -> None:
        self.compose_summary()

    def action_export(self) -> None:
        self.export(self._default_out_dir())

    def action_save_session(self) -> None:
        self.save(self._default_out_dir() / "session.json")

    def action_open_session(self) -> None:
        self.action_step("summary")
        self.notify("Type the session file's path, then press Open session.")

    def _default_out_dir(self) -> Path:
        return self._out_dir or Path("outputs") / self.session.session_id

    # -- errors ----------------------------------------------------------------------------------

    def report(self, error: Exception) -> None:
        if isinstance(error, ServerError):
            self.notify(
                f"{error.advice} Your work so far is kept.",
                title=f"{error.server} server: {error.code.name}",
                severity="error",
                timeout=12,
            )
        else:
            self.notify(str(error), severity="warning", timeout=8)

    # -- health ----------------------------------------------------------------------------------

    @work(group="health")
    async def watch_server(self, server: str) -> None:
        assert self.gateway is not None
        async for state in self.gateway.watch_health(server):
            previous = self.server_states.get(server)
            self.server_states[server] = state
            self.query_one(ConnectionBar).set_state(state)
            if previous is not None and previous.ok and not state.ok:
                self.notify(
                    f"The {server} server is {state.status}. Your work is kept; calls are retried when it is back.",
                    severity="warning",
                )
            if state.ok:
                self.describe(server)

    @work(group="describe")
    async def describe(self, server: str) -> None:
        assert self.gateway is not None
        try:
            if server == "layout" and self.planner_info is None:
                self.planner_info = await self.gateway.describe_planner()
                self.layout_step.show_planner(self.planner_info, self.session.system_instruction)
            elif server == "render" and self.engine_info is None:
                self.engine_info = await self.gateway.describe_engine()
                self.render_step.show_engine(self.engine_info)
                self.layout_step.show_engine(self.engine_info)
        except ServerError as error:
            if error.code.name != "UNIMPLEMENTED":
                self.report(error)

    @property
    def planner_caps(self) -> PlannerCaps | None:  # None until DescribePlanner answered: the defaults
        return PlannerCaps.from_proto(self.planner_info) if self.planner_info is not None else None

    @property
    def engine_caps(self) -> EngineCaps | None:
        return EngineCaps.from_proto(self.engine_info) if self.engine_info is not None else None

    # -- session <-> widgets ---------------------------------------------------------------------

    async def _apply_session(self) -> None:
        session = self.session
        self.watched_step.watched = list(session.watched)
        self.recommendations_step.set_k(session.k)
        self.recommendations_step.recommendations = list(session.recommendations)
        self.layout_step.set_scenario(session.scenario)
        self.layout_step.set_planner(session.planner)
        self.layout_step.set_instruction(session.system_instruction)
        self.layout_step.aspect = session.render.width / session.render.height
        await self.layout_step.load_layout(session.layout)
        self.layout_step.show_plan(session.plan)
        self.layout_step.problems = list(session.problems) if session.layout is not None and session.problems else None
        self.render_step.set_params(session.render, session.global_prompt)
        self.summary_step.set_paths(self._default_out_dir(), self._initial_session_path)
        self.render_step.reset_progress(done=session.result is not None)
        if self.images.image is not None and session.result is not None:
            self.render_step.show_outcome(self.images.image, session.result)
        self.summary_step.notice = outcome_notice(session.result)
        self.show_staleness()

    def show_staleness(self) -> None:
        """Every step's out-of-date line, from what the session recorded (no I/O: cheap enough
        to run on each edit)."""
        stale = self.session.stale_steps()
        for notice in self.query(StaleNotice):
            notice.stale = stale

    # -- step 1: watched -------------------------------------------------------------------------

    @on(WatchedStep.SearchChanged)
    def _search_changed(self, event: WatchedStep.SearchChanged) -> None:
        self.search(event.query)

    @work(exclusive=True, group="search")
    async def search(self, query: str) -> None:
        assert self.gateway is not None
        started = time.perf_counter()
        if not query.strip():
            self.watched_step.results = []
        else:
            try:
                hits = await self.gateway.search_movies(query.strip(), limit=SEARCH_LIMIT)
            except ServerError as error:
                self.report(error)
                return
            self.watched_step.results = [MovieRecord.from_proto(hit.movie) for hit in hits]
        self.last_search = (query, time.perf_counter() - started)
        self.search_generation += 1

    @on(WatchedStep.WatchedChanged)
    def _watched_changed(self, event: WatchedStep.WatchedChanged) -> None:
        self.session.watched = list(event.watched)
        self.show_staleness()
        count = len(event.watched)
        self.recommendations_step.status = (
            f"{count} watched movie(s). Press Recommend (F6)." if count else "Choose watched movies first (F1)."
        )

    # -- step 2: recommendations -----------------------------------------------------------------

    @on(RecommendationsStep.RecommendRequested)
    def _recommend_requested(self, event: RecommendationsStep.RecommendRequested) -> None:
        self.session.k = event.k
        self.recommend()

    @on(RecommendationsStep.KChanged)
    def _k_changed(self, event: RecommendationsStep.KChanged) -> None:
        self.session.k = event.k
        self.show_staleness()

    @work(exclusive=True, group="recommend")
    async def recommend(self) -> None:
        assert self.gateway is not None
        step = self.recommendations_step
        if not self.session.watched:
            self.notify("Pick at least one watched movie first (F1).", severity="warning")
            return
        step.busy = True
        step.status = f"Recommending {self.session.k} ..."
        try:
            await flow.recommend(self.gateway, self.session, self.planner_caps)
        except (ServerError, flow.InputError) as error:
            step.status = "Recommendation failed; see the notification."
            self.report(error)
            return
        finally:
            step.busy = False
        step.recommendations = list(self.session.recommendations)
        model = self.session.recommender_model or "the model"
        step.status = (
            f"{len(self.session.recommendations)} recommendations by {model} in "
            f"{self.session.timings['recommend'] * 1000:.0f} ms. The scenario is ready (F3)."
        )
        self.layout_step.set_scenario(self.session.scenario)
        self.show_staleness()

    # -- step 3: scenario and layout -------------------------------------------------------------

    @on(LayoutStep.ScenarioChanged)
    def _scenario_changed(self, event: LayoutStep.ScenarioChanged) -> None:
        self.session.scenario = event.scenario
        self.show_staleness()

    @on(LayoutStep.PlannerChanged)
    def _planner_changed(self, event: LayoutStep.PlannerChanged) -> None:
        self.session.planner = event.planner

    @on(LayoutStep.InstructionChanged)
    def _instruction_changed(self, event: LayoutStep.InstructionChanged) -> None:
        self.session.system_instruction = event.instruction

    @on(LayoutStep.PlanRequested)
    def _plan_requested(self) -> None:
        self.plan()

    @work(exclusive=True, group="plan")
    async def plan(self) -> None:
        assert self.gateway is not None
        step = self.layout_step
        step.busy = True
        step.plan_note = f"Planning with the {self.session.planner} planner ..."
        previous_prompt = self.session.global_prompt
        try:
            await flow.plan(self.gateway, self.session, self.planner_caps)
        except (ServerError, flow.InputError) as error:
            step.show_plan_error(str(error))
            self.report(error)
            return
        finally:
            step.busy = False
        await step.load_layout(self.session.layout)
        step.show_plan(self.session.plan)
        self.show_staleness()
        step.problems = []
        self.validation_generation += 1
        if previous_prompt != self.session.global_prompt:
            self.render_step.set_prompt(self.session.global_prompt)
        assert self.session.plan is not None
        self.notify(f"Layout planned by the {self.session.plan.description}.")

    @on(LayoutEditor.Changed)
    def _layout_edited(self, event: LayoutEditor.Changed) -> None:
        old = self.session.layout
        derived_before = global_prompt(old) if old is not None else ""
        self.session.layout = event.layout
        if self.session.global_prompt in ("", derived_before):
            self.session.global_prompt = global_prompt(event.layout)
            self.render_step.set_prompt(self.session.global_prompt)
        self.show_staleness()
        self.validate(event.layout, list(event.input_problems))

    @work(exclusive=True, group="validate")
    async def validate(self, layout: LayoutRecord, input_problems: list[ProblemRecord]) -> None:
        assert self.gateway is not None
        await asyncio.sleep(VALIDATE_DELAY)
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
        self.layout_step.problems = problems
        self.validation_generation += 1

    # -- step 4: render --------------------------------------------------------------------------

    @on(RenderStep.PromptChanged)
    def _prompt_changed(self, event: RenderStep.PromptChanged) -> None:
        self.session.global_prompt = event.prompt
        self.show_staleness()

    @on(RenderStep.RenderRequested)
    def _render_requested(self, event: RenderStep.RenderRequested) -> None:
        self.session.render = event.params
        self.session.global_prompt = event.prompt
        self.layout_step.aspect = event.params.width / event.params.height
        self.start_render()

    @on(RenderStep.CancelRequested)
    def _cancel_requested(self) -> None:
        self.cancel_render()

    def start_render(self) -> None:
        if self.render_step.running:
            self.notify("A render is already running; cancel it first (F9).", severity="warning")
            return
        self.run_render()

    def cancel_render(self) -> None:
        if not self.render_step.running:
            return
        self.workers.cancel_group(self, "render")

    @work(exclusive=True, group="render")
    async def run_render(self) -> None:
        assert self.gateway is not None
        step = self.render_step
        step.running = True
        step.reset_progress()
        step.status = "Starting ..."
        try:
            output = await flow.render(self.gateway, self.session, self._render_event, engine_caps=self.engine_caps)
        except (ServerError, flow.InputError, ImageError) as error:
            step.status = "Render failed; see the notification. The layout and settings are kept."
            self.report(error)
            return
        except asyncio.CancelledError:
            step.status = "Cancelled. The server stopped the job; the layout and settings are kept."
            self.notify("Render cancelled.")
            raise
        finally:
            step.running = False
        self.images = output.images
        self.render_generation += 1
        step.set_params(self.session.render, self.session.global_prompt)
        step.status = (
            f"Done in {self.session.timings['render']:.1f} s"
            + (f" after {output.attempts} attempts" if output.attempts > 1 else "")
            + f"; {step.preview.frames_shown} previews shown. The summary is next (F5)."
        )
        step.show_outcome(output.images.image, self.session.result)
        self.summary_step.notice = outcome_notice(self.session.result)
        self.show_staleness()
        self.compose_summary()

    def _render_event(self, event: RenderEvent) -> None:
        step = self.render_step
        if isinstance(event, RenderRetry):
            step.reset_progress()
            self.notify(
                f"The render stream was cut ({event.reason}); retrying on another replica "
                f"(attempt {event.attempt}).",
                severity="warning",
            )
            return
        kind = event.WhichOneof("event")
        if kind == "queued":
            step.show_queued(event.queued.position, event.queued.queue_depth)
        elif kind == "progress":
            p = event.progress
            step.show_progress(p.step, p.total_steps, p.stage, p.elapsed_seconds)
        elif kind == "preview":
            step.preview.offer(event.preview.image.data, f"Preview at step {event.preview.step}")

    # -- step 5: summary -------------------------------------------------------------------------

    @work(exclusive=True, group="summary")
    async def compose_summary(self) -> None:
        try:
            summary = await asyncio.to_thread(compose_summary, self.session, self.images)
        except Exception as error:  # noqa: BLE001 - a font or image problem: tell, keep going
            self.notify(f"Could not compose the summary: {error}", severity="error")
            return
        self.session.summary = summary.record
        self.summary_step.show_summary(summary.image, "Process summary (Export writes PNG, PDF and JSON)")
        self.summary_step.status = "Summary composed. Export writes it with the images and the session."
        self.summary_generation += 1

    @on(SummaryStep.ComposeRequested)
    def _compose_requested(self) -> None:
        self.compose_summary()

    @on(SummaryStep.ExportRequested)
    def _export_requested(self, event: SummaryStep.ExportRequested) -> None:
        self.export(event.folder)

    @work(exclusive=True, group="files")
    async def export(self, folder: Path) -> None:
        step = self.summary_step
        step.busy = True
        step.status = f"Exporting into {folder} ..."
        try:
            exported = await asyncio.to_thread(export_session, self.session, self.images, folder)
        except ExportError as error:
            step.status = "Export failed; see the notification."
            self.report(error)
            return
        finally:
            step.busy = False
        self.summary_step.show_summary(exported.summary.image, f"Process summary — exported to {folder}")
        names = ", ".join(path.name for path in exported.files.values())
        self.summary_step.status = f"Wrote {names} into {folder}."
        self.summary_step.set_paths(folder, folder / "session.json")
        stale = ", ".join(self.session.stale_steps())
        self.notify(f"Exported into {folder}" + (f"; marked out of date: {stale}." if stale else "."))

    @on(SummaryStep.SaveRequested)
    def _save_requested(self, event: SummaryStep.SaveRequested) -> None:
        self.save(event.path)

    @work(exclusive=True, group="files")
    async def save(self, path: Path) -> None:
        self.summary_step.busy = True
        try:
            await asyncio.to_thread(save_session, self.session, path)
        except ExportError as error:
            self.report(error)
            return
        finally:
            self.summary_step.busy = False
        self.summary_step.status = f"Session saved to {path}."

    @on(SummaryStep.OpenRequested)
    def _open_requested(self, event: SummaryStep.OpenRequested) -> None:
        self.open_session(event.path)

    @work(exclusive=True, group="files")
    async def open_session(self, path: Path) -> None:
        try:
            session = await asyncio.to_thread(Session.load, path)
            images = await asyncio.to_thread(load_images, session, path.parent)
        except SessionError as error:
            self.report(error)
            return
        self.session = session
        self.images = images
        self._out_dir = self._out_dir or path.parent
        self._initial_session_path = path
        await self._apply_session()
        if images.image is None:
            self.render_step.show_result(None, "Not rendered in this session: press Render (F8).")
        self.summary_step.status = f"Opened {path}: re-render (F4) or re-export."
        self.compose_summary()
        self.notify(f"Opened session {session.session_id}.")
