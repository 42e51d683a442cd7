"""Step 4, Render: steps, guidance, size, seed, preview interval and the global prompt; a live
progress bar, the queue position while waiting, streamed previews, cancel. The render stream
runs in this step's worker; cancelling the worker cancels the server's job."""

from __future__ import annotations

import asyncio

from PIL import Image
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button, Label, ProgressBar, Static

from client_tui import flow
from client_tui.console.fields import StepInput, parse_float, parse_int
from client_tui.console.preview import PreviewImage
from client_tui.console.stale_notice import StaleNotice
from client_tui.console.step import Step
from client_tui.errors import ServerError
from client_tui.gateway import RenderEvent, RenderRetry
from client_tui.images import ImageError
from client_tui.records import RenderOutcome, RenderParams
from client_tui.server_caps import EngineCaps, OverCap, check_size
from client_tui.summary import POWERED_BY_STABILITY, STABILITY_ENGINE
from marquee.v1 import render_pb2

FIELDS = (
    ("steps", "Steps", "1-200"),
    ("guidance", "Guidance", "0-50"),
    ("width", "Width", "multiple of 16"),
    ("height", "Height", "multiple of 16"),
    ("seed", "Seed", "blank: random"),
    ("preview_interval", "Preview every", "steps; 0: none"),
)


def engine_description(info: render_pb2.DescribeEngineResponse) -> str:
    note = f"Engine: {info.engine}"
    if info.model:
        note += f" ({info.model})"
    if info.device:
        note += f" on {info.device}"
    if info.max_width:
        note += f"; up to {info.max_width}×{info.max_height}"
    return note


def result_caption(result: RenderOutcome | None) -> str:
    if result is None:
        return ""
    caption = (
        f"Final image — {result.engine}, seed {result.seed}, {result.steps} steps, "
        f"{result.width}×{result.height}, {result.total_seconds:.1f} s"
    )
    if result.engine == STABILITY_ENGINE:
        caption += f" · {POWERED_BY_STABILITY}"
    return caption


def outcome_notice(result: RenderOutcome | None) -> str:
    """The engine's notice about this picture (empty for a real render)."""
    return result.notice if result is not None else ""


def read_params(
    values: dict[str, str], negative_prompt: str = "", caps: EngineCaps = EngineCaps()
) -> tuple[RenderParams | None, str]:
    """RenderParams from the form's texts, or None and what to fix."""
    steps = parse_int(values["steps"])
    guidance = parse_float(values["guidance"])
    width, height = parse_int(values["width"]), parse_int(values["height"])
    seed_text = values["seed"].strip()
    seed = parse_int(seed_text) if seed_text else None
    interval = parse_int(values["preview_interval"])
    if steps is None or not 1 <= steps <= 200:
        return None, "Steps must be a whole number from 1 to 200."
    if guidance is None or not 0 <= guidance <= 50:
        return None, "Guidance must be a number from 0 to 50."
    for name, value in (("Width", width), ("Height", height)):
        if value is None or value % 16 or not 16 <= value <= 4096:
            return None, f"{name} must be a multiple of 16 from 16 to 4096."
    if seed_text and (seed is None or seed < 0):
        return None, "Seed must be a whole number >= 0, or blank for a random one."
    if interval is None or not 0 <= interval <= 200:
        return None, "Preview every must be a whole number from 0 to 200."
    assert width is not None and height is not None
    try:
        check_size(width, height, caps, "Width × height")
    except OverCap as error:
        return None, f"{error}."
    return RenderParams(
        steps=steps,
        guidance=guidance,
        width=width,
        height=height,
        seed=seed,
        preview_interval=interval,
        negative_prompt=negative_prompt,
    ), ""


class RenderStep(Step):
    DEFAULT_CSS = """
    RenderStep { layout: horizontal; }
    RenderStep #render-form { width: 42; padding: 0 1 0 0; }
    RenderStep .field { height: 1; margin: 0 0 1 0; }
    RenderStep .field Label { width: 15; }
    RenderStep .field StepInput { width: 1fr; }
    RenderStep #prompt { margin: 0 0 1 0; }
    RenderStep #buttons { height: 3; }
    RenderStep #render-status { height: 3; color: $text-muted; }
    RenderStep #engine-note { height: auto; color: $text-muted; }
    RenderStep #engine-notice { height: auto; color: $text-warning; display: none; }
    RenderStep #engine-notice.-shown { display: block; }
    RenderStep #progress { margin: 1 0; }
    RenderStep #render-view { width: 1fr; }
    RenderStep Label.heading { text-style: bold; color: $accent; }
    """

    class SizeChosen(Message):
        """A render was asked at this width / height (the layout canvas takes the picture's shape)."""

        def __init__(self, aspect: float) -> None:
            super().__init__()
            self.aspect = aspect

    class Rendered(Message):
        """A render finished; its images are the app's `images`."""

    running: reactive[bool] = reactive(False, init=False)
    status: reactive[str] = reactive("Plan a layout (F3), then render.", init=False)
    engine_note: reactive[str] = reactive("", init=False)
    #: What the engine says about every picture it makes (the draft engine: a mock-up, not a render).
    engine_notice: reactive[str] = reactive("", init=False)
    #: From DescribeEngine: the prompt's cap (0: unknown) and the size caps.
    max_prompt_chars: int = 0
    form_caps: EngineCaps = EngineCaps()

    def __init__(self, image_class: type[Widget], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image_class = image_class
        self._negative_prompt = ""
        #: Counts finished renders (the tests wait on it).
        self.render_generation = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="render-form"):
            yield StaleNotice(("image",), id="render-stale")
            yield Label("Global prompt", classes="heading")
            yield StepInput(placeholder="from the layout's title and mood", id="prompt", compact=True)
            for key, label, hint in FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield StepInput(placeholder=hint, id=f"param-{key}", compact=True)
            with Horizontal(id="buttons"):
                yield Button("Render", id="render-button", variant="primary")
                yield Button("Cancel", id="cancel", variant="error", disabled=True)
            yield ProgressBar(total=1, id="progress", show_eta=False)
            yield Static(self.status, id="render-status")
            yield Static("", id="engine-note")
            yield Static("", id="engine-notice")
        with Vertical(id="render-view"):
            yield PreviewImage(self._image_class, "No preview yet.", id="preview")

    def on_mount(self) -> None:
        # Watchers of a closing widget are skipped: a late Describe answer cannot reach it.
        self.watch(self.app, "engine_info", self._engine_described, init=False)

    def _engine_described(self, info: render_pb2.DescribeEngineResponse | None) -> None:
        if info is not None:
            self.show_engine(info)

    async def show_session(self) -> None:
        session, images = self.session, self.console.images
        self.set_params(session.render, session.global_prompt)
        self.reset_progress(done=session.result is not None)
        if images.image is not None and session.result is not None:
            self.show_outcome(images.image, session.result)

    @property
    def preview(self) -> PreviewImage:
        return self.query_one("#preview", PreviewImage)

    def set_params(self, params: RenderParams, prompt: str) -> None:
        values = params.model_dump()
        self._negative_prompt = params.negative_prompt
        for key, _, _ in FIELDS:
            field = self.query_one(f"#param-{key}", StepInput)
            value = values[key]
            with field.prevent(StepInput.Changed):
                field.value = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
        self.set_prompt(prompt)

    def set_prompt(self, prompt: str) -> None:
        field = self.query_one("#prompt", StepInput)
        with field.prevent(StepInput.Changed):
            field.value = prompt

    def show_engine(self, info: render_pb2.DescribeEngineResponse) -> None:
        self.engine_note = engine_description(info)
        self.engine_notice = info.engine_notice
        self.max_prompt_chars = info.max_prompt_chars
        self.form_caps = EngineCaps.from_proto(info)

    def read(self) -> tuple[RenderParams | None, str]:
        values = {key: self.query_one(f"#param-{key}", StepInput).value for key, _, _ in FIELDS}
        prompt = self.query_one("#prompt", StepInput)
        limit = self.max_prompt_chars
        over = limit > 0 and len(prompt.value.strip()) > limit
        prompt.set_class(over, "-invalid")
        if over:
            return None, (
                f"The global prompt has {len(prompt.value.strip())} characters; the render server takes "
                f"at most {limit}. Shorten it."
            )
        return read_params(values, self._negative_prompt, self.form_caps)

    @on(StepInput.Changed, "#prompt")
    def _prompt(self, event: StepInput.Changed) -> None:
        event.stop()
        self.session.global_prompt = event.value
        self.edited()

    @on(Button.Pressed, "#render-button")
    def _render_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.request()

    @on(Button.Pressed, "#cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.cancel_render()

    # -- the render ---------------------------------------------------------------------------

    def request(self, *, notify: bool = False) -> None:
        """Reads the form and renders (the button; F8 with `notify`: a problem as a notification)."""
        params, problem = self.read()
        if params is None:
            if notify:
                self.notify(problem, severity="warning")
            else:
                self.status = problem
            return
        self.session.render = params
        self.session.global_prompt = self.query_one("#prompt", StepInput).value
        self.post_message(self.SizeChosen(params.width / params.height))
        self.start_render()

    def start_render(self) -> None:
        """Renders the session's layout with the session's settings."""
        if self.running:
            self.notify("A render is already running; cancel it first (F9).", severity="warning")
            return
        self.run_render()

    def cancel_render(self) -> None:
        if self.running:
            self.workers.cancel_group(self, "render")

    @work(exclusive=True, group="render")
    async def run_render(self) -> None:
        session = self.session
        self.running = True
        self.reset_progress()
        self.status = "Starting ..."
        try:
            output = await flow.render(self.gateway, session, self._render_event, engine_caps=self.engine_caps)
        except (ServerError, flow.InputError, ImageError) as error:
            if self.showing:
                self.status = "Render failed; see the notification. The layout and settings are kept."
            self.report(error)
            return
        except asyncio.CancelledError:
            if self.showing:
                self.status = "Cancelled. The server stopped the job; the layout and settings are kept."
                self.notify("Render cancelled.")
            raise
        finally:
            if self.showing:
                self.running = False
        self.console.images = output.images
        if not self.showing:
            return
        self.render_generation += 1
        self.set_params(session.render, session.global_prompt)
        self.status = (
            f"Done in {session.timings['render']:.1f} s"
            + (f" after {output.attempts} attempts" if output.attempts > 1 else "")
            + f"; {self.preview.frames_shown} previews shown. The summary is next (F5)."
        )
        self.show_outcome(output.images.image, session.result)
        self.edited()
        self.post_message(self.Rendered())

    def _render_event(self, event: RenderEvent) -> None:
        if not self.showing:
            return
        if isinstance(event, RenderRetry) and event.queue_full:
            words = event.queue_words()
            self.status = f"{words[0].upper()}{words[1:]}."
            return
        if isinstance(event, RenderRetry):
            self.reset_progress()
            self.notify(
                f"The render stream was cut ({event.reason}); retrying on another replica (attempt {event.attempt}).",
                severity="warning",
            )
            return
        kind = event.WhichOneof("event")
        if kind == "queued":
            self.show_queued(event.queued.position, event.queued.queue_depth)
        elif kind == "progress":
            p = event.progress
            self.show_progress(p.step, p.total_steps, p.stage, p.elapsed_seconds)
        elif kind == "preview":
            self.preview.offer(event.preview.image.data, f"Preview at step {event.preview.step}")

    def watch_running(self, running: bool) -> None:
        self.query_one("#render-button", Button).disabled = running
        self.query_one("#cancel", Button).disabled = not running

    def watch_status(self, status: str) -> None:
        # Fixed height: updated at every step, it must not re-lay out the screen each time.
        self.query_one("#render-status", Static).update(status, layout=False)

    def watch_engine_note(self, note: str) -> None:
        self.query_one("#engine-note", Static).update(note)

    def watch_engine_notice(self, notice: str) -> None:
        widget = self.query_one("#engine-notice", Static)
        widget.update(f"⚠ {notice}" if notice else "")
        widget.set_class(bool(notice), "-shown")

    # -- what the app sends down while a render runs ----------------------------------------------

    def show_queued(self, position: int, depth: int) -> None:
        ahead = "next to run" if position == 0 else f"{position} job(s) ahead"
        self.status = f"Queued: {ahead} (queue depth {depth})."

    def show_progress(self, step: int, total: int, stage: str, elapsed: float) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(total, 1), progress=step)
        self.status = f"{stage or 'denoising'}: step {step}/{total}, {elapsed:.1f} s"

    def reset_progress(self, done: bool = False) -> None:
        self.query_one("#progress", ProgressBar).update(total=1, progress=1 if done else 0)

    def show_result(self, image: Image.Image | None, caption: str) -> None:
        self.preview.show(image, caption)

    def show_outcome(self, image: Image.Image | None, result: RenderOutcome | None) -> None:
        """The final image with its caption; the engine's notice for this picture, when it has one."""
        self.show_result(image, result_caption(result))
        if outcome_notice(result):
            self.engine_notice = outcome_notice(result)
