"""What every step widget shares: the app's session, gateway and caps, and the rule that keeps
its workers safe. A step runs its own server calls in workers it owns, so Textual cancels them
with the step; after each await a worker checks `showing` before it touches the screen, because
the step's children are taken down (exit) before its workers are cancelled."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import App
from textual.message import Message
from textual.widget import Widget

from client_tui.errors import ServerError
from client_tui.gateway import Gateway
from client_tui.server_caps import EngineCaps, PlannerCaps
from client_tui.session import Session

if TYPE_CHECKING:
    from client_tui.console.app import MarqueeConsole


def report(app: App[int], error: Exception) -> None:
    """A failed call as a notification that says what to do; the work so far is kept."""
    if isinstance(error, ServerError):
        app.notify(
            f"{error.advice} Your work so far is kept.",
            title=f"{error.server} server: {error.code.name}",
            severity="error",
            timeout=12,
        )
    else:
        app.notify(str(error), severity="warning", timeout=8)


class Step(Widget):
    class SessionEdited(Message):
        """The step changed its part of the session: every step's out-of-date line is redrawn."""

    @property
    def console(self) -> MarqueeConsole:
        return cast("MarqueeConsole", self.app)

    @property
    def session(self) -> Session:
        return self.console.session

    @property
    def gateway(self) -> Gateway:
        gateway = self.console.gateway
        assert gateway is not None, "the gateway opens when the app mounts, before any step acts"
        return gateway

    @property
    def planner_caps(self) -> PlannerCaps | None:
        """None until DescribePlanner answered: the flow then uses the defaults."""
        info = self.console.planner_info
        return PlannerCaps.from_proto(info) if info is not None else None

    @property
    def engine_caps(self) -> EngineCaps | None:
        info = self.console.engine_info
        return EngineCaps.from_proto(info) if info is not None else None

    @property
    def showing(self) -> bool:
        """False once the step closes (the app exits): its children may be gone, so a worker that
        wakes up then shows nothing."""
        return self.is_running

    async def show_session(self) -> None:
        """Shows the app's session (new, or just opened) in the step's fields."""

    def edited(self) -> None:
        self.post_message(self.SessionEdited())

    def report(self, error: Exception) -> None:
        report(self.app, error)
