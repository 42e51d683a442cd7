"""Driving the console under Pilot."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.pilot import Pilot

from client_tui.connections import Endpoints
from client_tui.console.app import MarqueeConsole
from client_tui.console.image_modes import image_widget_class
from client_tui.session import Session


def make_console(endpoints: Endpoints, session: Session | None = None, **kwargs) -> MarqueeConsole:  # type: ignore[no-untyped-def]
    return MarqueeConsole(endpoints, image_class=image_widget_class("halfcell"), session=session, **kwargs)


async def wait_for(pilot: Pilot, predicate: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            notes = [n.message for n in pilot.app._notifications]  # type: ignore[attr-defined]
            raise AssertionError(f"timed out waiting for {what or predicate}; notifications: {notes}")
        await pilot.pause(0.02)


async def all_serving(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, MarqueeConsole)
    await wait_for(
        pilot,
        lambda: len(app.server_states) == 3 and all(s.ok for s in app.server_states.values()),
        what="every server SERVING",
    )


def notifications(app: MarqueeConsole) -> list[str]:
    return [n.message for n in app._notifications]  # type: ignore[attr-defined]
