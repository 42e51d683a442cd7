"""The always-visible connection bar: one badge per server, fed by its health Watch (in the
bar's own workers, which end with it); a server that goes down is said in a notification."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from client_tui.connections import SERVERS
from client_tui.gateway import Gateway, ServerState

_STYLES = {
    "serving": ("●", "bold green"),
    "not serving": ("◐", "bold yellow"),
    "connecting": ("○", "yellow"),
    "unreachable": ("✕", "bold red"),
}


class ServerBadge(Widget):
    """One server's name and state; the tooltip carries the detail."""

    DEFAULT_CSS = """
    ServerBadge { width: auto; height: 1; padding: 0 2 0 0; }
    """

    state: reactive[ServerState | None] = reactive(None, layout=True)

    def __init__(self, server: str, address: str) -> None:
        super().__init__(id=f"badge-{server}")
        self.server = server
        self.address = address

    def render(self) -> Text:
        status = self.state.status if self.state is not None else "connecting"
        mark, style = _STYLES.get(status, ("?", "bold"))
        return Text.assemble((f"{mark} ", style), (self.server, "bold"), f" {status}")

    def watch_state(self, state: ServerState | None) -> None:
        detail = state.detail if state is not None and state.detail else ""
        self.tooltip = f"{self.server} at {self.address}" + (f"\n{detail}" if detail else "")


class ConnectionBar(Horizontal):
    class StateChanged(Message):
        """A server's health changed (each answer of its Watch)."""

        def __init__(self, state: ServerState) -> None:
            super().__init__()
            self.state = state

    DEFAULT_CSS = """
    ConnectionBar { height: 1; dock: top; background: $panel; padding: 0 1; }
    """

    def __init__(self, addresses: dict[str, list[str]]) -> None:
        super().__init__(id="connections")
        self._addresses = addresses
        self.states: dict[str, ServerState] = {}

    def compose(self) -> ComposeResult:
        for server in SERVERS:
            yield ServerBadge(server, ", ".join(self._addresses.get(server, [])))

    def set_state(self, state: ServerState) -> None:
        self.query_one(f"#badge-{state.server}", ServerBadge).state = state

    def watch_servers(self, gateway: Gateway) -> None:
        for server in SERVERS:
            self._watch_server(gateway, server)

    @work(group="health")
    async def _watch_server(self, gateway: Gateway, server: str) -> None:
        async for state in gateway.watch_health(server):
            if not self.is_running:  # closing: the badges may be gone
                return
            previous = self.states.get(server)
            self.states[server] = state
            self.set_state(state)
            if previous is not None and previous.ok and not state.ok:
                self.notify(
                    f"The {server} server is {state.status}. Your work is kept; calls are retried when it is back.",
                    severity="warning",
                )
            self.post_message(self.StateChanged(state))
