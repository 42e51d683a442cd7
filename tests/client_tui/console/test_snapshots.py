"""SVG snapshots of the console's main screens, from fixed data (fake servers, a fixed session,
fixed images, half-block pictures): any change to what an operator sees shows up as a diff.
Update on purpose with `pytest tests/client_tui/console/test_snapshots.py --snapshot-update`."""

from __future__ import annotations

from PIL import Image, ImageDraw
from textual.pilot import Pilot

from client_tui.console.app import MarqueeConsole
from client_tui.summary import SummaryImages
from tests.client_tui.console.helpers import all_serving, make_console, wait_for
from tests.client_tui.fake_servers import FakeStack
from tests.client_tui.fixed_session import fixed_session

TERMINAL = (140, 44)


def _images() -> SummaryImages:
    final = Image.new("RGB", (256, 256), (25, 40, 90))
    draw = ImageDraw.Draw(final)
    draw.ellipse((30, 60, 150, 230), fill=(230, 170, 40))
    draw.rectangle((140, 30, 240, 200), fill=(180, 40, 60))
    return SummaryImages(image=final)


def _console(stack: FakeStack, with_session: bool = True) -> MarqueeConsole:
    app = make_console(stack.endpoints(), session=fixed_session() if with_session else None)
    if with_session:
        app.images = _images()
    return app


async def _ready(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, MarqueeConsole)
    await all_serving(pilot)
    await wait_for(pilot, lambda: app.planner_info is not None and app.engine_info is not None)


def test_watched_screen(snap_compare, module_fake_stack: FakeStack) -> None:  # type: ignore[no-untyped-def]
    app = _console(module_fake_stack, with_session=False)

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press(*"star")
        await wait_for(pilot, lambda: len(app.watched_step.results) == 3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.session.watched) == 1)

    assert snap_compare(app, terminal_size=TERMINAL, run_before=run_before)


def test_recommendations_screen(snap_compare, module_fake_stack: FakeStack) -> None:  # type: ignore[no-untyped-def]
    app = _console(module_fake_stack)

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press("f2")

    assert snap_compare(app, terminal_size=TERMINAL, run_before=run_before)


def test_layout_screen(snap_compare, module_fake_stack: FakeStack) -> None:  # type: ignore[no-untyped-def]
    app = _console(module_fake_stack)

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press("f3")
        generation = app.layout_step.validation_generation
        app.query_one("#obj-2-y1").value = "0.9"  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: app.layout_step.validation_generation > generation)

    assert snap_compare(app, terminal_size=TERMINAL, run_before=run_before)


def test_render_screen(snap_compare, module_fake_stack: FakeStack) -> None:  # type: ignore[no-untyped-def]
    app = _console(module_fake_stack)

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press("f4")

    assert snap_compare(app, terminal_size=TERMINAL, run_before=run_before)


def test_summary_screen(snap_compare, module_fake_stack: FakeStack) -> None:  # type: ignore[no-untyped-def]
    app = _console(module_fake_stack)

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press("f5")
        app.summary_step.compose_summary()
        await wait_for(pilot, lambda: app.summary_step.summary_generation == 1)

    assert snap_compare(app, terminal_size=TERMINAL, run_before=run_before)


def test_stale_layout_screen(snap_compare, module_fake_stack: FakeStack) -> None:  # type: ignore[no-untyped-def]
    """A watched movie added after recommending: the step says what is out of date and why."""
    session = fixed_session()
    session.record_recommended()
    session.record_planned()
    session.record_rendered()
    session.watched = [*session.watched, session.recommendations[2].movie]
    app = make_console(module_fake_stack.endpoints(), session=session)
    app.images = _images()

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press("f3")

    assert snap_compare(app, terminal_size=TERMINAL, run_before=run_before)
