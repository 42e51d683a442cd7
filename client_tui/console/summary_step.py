"""Step 5, Summary: compose the process summary, look at it, export it (summary PNG and PDF,
final image, layout pictures, session JSON), save or open a session. Composing and the file work
run in this step's workers, off the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PIL import Image
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button, Label, LoadingIndicator, Static

from client_tui.console.fields import StepInput
from client_tui.console.preview import PreviewImage
from client_tui.console.render_step import outcome_notice
from client_tui.console.stale_notice import StaleNotice
from client_tui.console.step import Step
from client_tui.export import ExportError, export_session, load_images, save_session
from client_tui.session import Session, SessionError
from client_tui.summary import SummaryImages, compose_summary


class SummaryStep(Step):
    DEFAULT_CSS = """
    SummaryStep { layout: horizontal; }
    SummaryStep #summary-form { width: 46; padding: 0 1 0 0; }
    SummaryStep .row { height: 3; }
    SummaryStep .row StepInput { width: 1fr; }
    SummaryStep #summary-status { height: auto; color: $text-muted; margin: 1 0 0 0; }
    SummaryStep #summary-notice { height: auto; color: $text-warning; margin: 1 0 0 0; display: none; }
    SummaryStep #summary-notice.-shown { display: block; }
    SummaryStep #export-progress { height: 1; display: none; }
    SummaryStep.-busy #export-progress { display: block; }
    SummaryStep Label.heading { text-style: bold; color: $accent; }
    SummaryStep #summary-view { width: 1fr; }
    """

    class SessionOpened(Message):
        """A session file was read: the app takes it over and shows it in every step."""

        def __init__(self, session: Session, images: SummaryImages, path: Path) -> None:
            super().__init__()
            self.session = session
            self.images = images
            self.path = path

    status: reactive[str] = reactive("Render first, then compose the summary.", init=False)
    #: The render engine's notice about the final image (the draft engine: a mock-up).
    notice: reactive[str] = reactive("", init=False)
    #: True while an export, save or open runs (in a worker): a progress line, buttons off.
    busy: reactive[bool] = reactive(False, init=False)

    def __init__(self, image_class: type[Widget], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image_class = image_class
        #: Counts composed summaries (the tests wait on it).
        self.summary_generation = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="summary-form"):
            yield StaleNotice(id="summary-stale")
            yield Button("Compose summary", id="compose", variant="primary")
            yield Label("Export into folder", classes="heading")
            with Horizontal(classes="row"):
                yield StepInput(id="export-dir", placeholder="folder")
                yield Button("Export", id="export")
            yield Label("Session file", classes="heading")
            with Horizontal(classes="row"):
                yield StepInput(id="session-path", placeholder="path/to/session.json")
            with Horizontal(classes="row"):
                yield Button("Save session", id="save")
                yield Button("Open session", id="open")
            yield LoadingIndicator(id="export-progress")
            yield Static(self.status, id="summary-status")
            yield Static("", id="summary-notice")
        with Vertical(id="summary-view"):
            yield PreviewImage(self._image_class, "No summary yet.", id="summary-image")

    async def show_session(self) -> None:
        self.set_paths(self.console.default_out_dir(), self.console.session_path)
        self.notice = outcome_notice(self.session.result)

    def set_paths(self, export_dir: Path, session_path: Path | None = None) -> None:
        for widget_id, value in (("#export-dir", export_dir), ("#session-path", session_path)):
            if value is None:
                continue
            field = self.query_one(widget_id, StepInput)
            with field.prevent(StepInput.Changed):
                field.value = str(value)

    def watch_status(self, status: str) -> None:
        self.query_one("#summary-status", Static).update(status)

    def watch_notice(self, notice: str) -> None:
        widget = self.query_one("#summary-notice", Static)
        widget.update(f"⚠ {notice}" if notice else "")
        widget.set_class(bool(notice), "-shown")

    def watch_busy(self, busy: bool) -> None:
        self.set_class(busy, "-busy")
        for button in self.query(Button):
            button.disabled = busy

    def show_summary(self, image: Image.Image | None, caption: str) -> None:
        self.query_one("#summary-image", PreviewImage).show(image, caption)

    def _path(self, widget_id: str) -> Path | None:
        text = self.query_one(widget_id, StepInput).value.strip()
        if not text:
            self.status = "Give a path first."
            return None
        return Path(text).expanduser()

    @on(Button.Pressed, "#compose")
    def _compose_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.compose_summary()

    @on(Button.Pressed, "#export")
    @on(StepInput.Submitted, "#export-dir")
    def _export(self, event: Button.Pressed | StepInput.Submitted) -> None:
        event.stop()
        if self.busy:
            return
        if (path := self._path("#export-dir")) is not None:
            self.export(path)

    @on(Button.Pressed, "#save")
    def _save(self, event: Button.Pressed) -> None:
        event.stop()
        if (path := self._path("#session-path")) is not None:
            self.save(path)

    @on(Button.Pressed, "#open")
    def _open(self, event: Button.Pressed) -> None:
        event.stop()
        if (path := self._path("#session-path")) is not None:
            self.open_session(path)

    # -- the work, in workers -----------------------------------------------------------------

    @work(exclusive=True, group="summary")
    async def compose_summary(self) -> None:
        session = self.session
        try:
            summary = await asyncio.to_thread(compose_summary, session, self.console.images)
        except Exception as error:
            self.notify(f"Could not compose the summary: {error}", severity="error")
            return
        session.summary = summary.record
        if not self.showing:
            return
        self.show_summary(summary.image, "Process summary (Export writes PNG, PDF and JSON)")
        self.status = "Summary composed. Export writes it with the images and the session."
        self.summary_generation += 1

    @work(exclusive=True, group="files")
    async def export(self, folder: Path) -> None:
        session = self.session
        self.busy = True
        self.status = f"Exporting into {folder} ..."
        try:
            exported = await asyncio.to_thread(export_session, session, self.console.images, folder)
        except ExportError as error:
            if self.showing:
                self.status = "Export failed; see the notification."
            self.report(error)
            return
        finally:
            if self.showing:
                self.busy = False
        if not self.showing:
            return
        self.show_summary(exported.summary.image, f"Process summary — exported to {folder}")
        names = ", ".join(path.name for path in exported.files.values())
        self.status = f"Wrote {names} into {folder}."
        self.set_paths(folder, folder / "session.json")
        stale = ", ".join(session.stale_steps())
        self.notify(f"Exported into {folder}" + (f"; marked out of date: {stale}." if stale else "."))

    @work(exclusive=True, group="files")
    async def save(self, path: Path) -> None:
        self.busy = True
        try:
            await asyncio.to_thread(save_session, self.session, path)
        except ExportError as error:
            self.report(error)
            return
        finally:
            if self.showing:
                self.busy = False
        if self.showing:
            self.status = f"Session saved to {path}."

    @work(exclusive=True, group="files")
    async def open_session(self, path: Path) -> None:
        try:
            session = await asyncio.to_thread(Session.load, path)
            images = await asyncio.to_thread(load_images, session, path.parent)
        except SessionError as error:
            self.report(error)
            return
        if self.showing:
            self.post_message(self.SessionOpened(session, images, path))
