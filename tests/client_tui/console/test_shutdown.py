"""Leaving the console while a step's server call is under way: the answer that comes back while
the screen is being taken down is dropped, never shown into a widget that is gone (CI once failed
with NoMatches from the layout validation that answered during exit)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.widgets import Input

from client_tui.console.app import MarqueeConsole
from tests.client_tui.console.helpers import all_serving, make_console, wait_for
from tests.client_tui.fake_servers import FakeStack
from tests.client_tui.fixed_session import fixed_session

SIZE = (150, 48)


def hold_until_gone(
    call: Callable[..., Awaitable[Any]], app: MarqueeConsole, selector: str, seen: list[str]
) -> Callable[..., Awaitable[Any]]:
    """`call`, whose answer is held back until the widget `selector` has left the screen."""
    widget = app.query_one(selector)

    async def held(*args: Any, **kwargs: Any) -> Any:
        answer = await call(*args, **kwargs)
        seen.append("answered")
        while widget.is_attached:
            await asyncio.sleep(0)
        seen.append("released")
        return answer

    return held


async def _search_pending(app: MarqueeConsole, pilot: Any, seen: list[str]) -> None:
    assert app.gateway is not None
    app.gateway.search_movies = hold_until_gone(  # type: ignore[method-assign]
        app.gateway.search_movies, app, "#watched-results", seen
    )
    app.watched_step.search_input.value = "star"  # one query, one call


async def _validation_pending(app: MarqueeConsole, pilot: Any, seen: list[str]) -> None:
    assert app.gateway is not None
    app.gateway.validate_layout = hold_until_gone(  # type: ignore[method-assign]
        app.gateway.validate_layout, app, "#problems", seen
    )
    await pilot.press("f3")
    app.query_one("#obj-2-y1", Input).value = "0.9"


@pytest.mark.parametrize("pending", [_search_pending, _validation_pending], ids=["search", "validation"])
async def test_exit_while_a_call_is_answered_shows_nothing_and_raises_nothing(
    fake_stack: FakeStack, pending: Callable[..., Awaitable[None]]
) -> None:
    app = make_console(fake_stack.endpoints(), session=fixed_session())
    seen: list[str] = []
    # Leaving the block takes the screen down; a worker that then reaches for a widget that is
    # gone fails the app, and run_test raises that failure here.
    async with app.run_test(size=SIZE) as pilot:
        await all_serving(pilot)
        await pending(app, pilot, seen)
        await wait_for(pilot, lambda: seen == ["answered"], what="the server's answer, held")
    assert seen[0] == "answered"
    assert app.return_code in (None, 0)
