"""The whole flow against the three real servers started as subprocesses: the headless CLI and
the console under Pilot, with the draft render engine and with the tiny CreatiLayout fixture
pipeline (random weights, real architecture)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from textual.widgets import Input

from client_tui.connections import Endpoints
from client_tui.session import Session
from marquee.local_stack import LocalStack
from tests.client_tui.console.helpers import all_serving, make_console, wait_for
from tests.paths import TINY_PIPELINE
from tests.real_stack import ONE_THREAD, TINY_RENDER_FLAGS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_render(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A render server running the tiny CreatiLayout pipeline on the CPU."""
    if not (TINY_PIPELINE / "model_index.json").is_file():
        pytest.fail(f"{TINY_PIPELINE} is missing: the suite expects ../shared beside the clone")
    logs = tmp_path_factory.mktemp("tiny-render")
    stack = LocalStack(
        {"render": [*TINY_RENDER_FLAGS, "--output-dir", str(logs / "renders")]}, logs, env=ONE_THREAD, grace_period=3.0
    )
    stack.start(timeout=240)
    yield stack
    stack.stop()


def _addresses(real_stack: LocalStack, engine: str, tiny: LocalStack | None) -> dict[str, str]:
    addresses = real_stack.addresses()
    if engine == "creatilayout":
        assert tiny is not None
        addresses["render"] = tiny.addresses()["render"]
    return addresses


def _run(addresses: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")}
    flags = [a for name, address in addresses.items() for a in (f"--{name}", address)]
    result = subprocess.run(
        [sys.executable, "-m", "client_tui", "run", *flags, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, **ONE_THREAD},
    )
    assert "Traceback" not in result.stderr
    return result


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_cli_whole_flow_and_resume_with_the_draft_engine(real_stack: LocalStack, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run(
        real_stack.addresses(),
        "--watched",
        "Toy Story (1995)",
        "--watched",
        "Aladdin (1992)",
        "--k",
        "5",
        "--planner",
        "auto",
        "--steps",
        "10",
        "--guidance",
        "6.5",
        "--size",
        "512x384",
        "--seed",
        "7",
        "--preview-every",
        "2",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out / "summary.png")
    assert "render: 100%" in result.stderr  # the progress bar ran to the end
    assert "queued: 0 job(s) ahead of this one" in result.stderr
    session = Session.load(out / "session.json")
    assert [m.display_title for m in session.watched] == ["Toy Story (1995)", "Aladdin (1992)"]
    assert len(session.recommendations) == 5 and [r.rank for r in session.recommendations] == [1, 2, 3, 4, 5]
    watched_ids = {m.movie_id for m in session.watched}
    assert not watched_ids & {r.movie.movie_id for r in session.recommendations}
    assert session.top_genres and session.top_genres[0] in session.watched[0].genres + session.watched[1].genres
    assert session.scenario.startswith(f"Mood preference: {', '.join(session.top_genres)}")
    assert session.plan is not None and session.plan.used == "offline"  # no LLM key in the test stack
    assert session.layout is not None and 3 <= len(session.layout.objects) <= 5
    assert session.result is not None and session.result.engine == "draft"
    assert (session.result.seed, session.result.width, session.result.height) == (7, 512, 384)
    assert session.render.guidance == 6.5 and session.result.guidance == pytest.approx(6.5)
    assert {"search", "recommend", "plan", "render"} <= set(session.timings)
    assert Image.open(out / "final.png").size == (512, 384)
    # The summary's record matches its pixels: the final image sits in its "image" region.
    assert session.summary is not None
    page = Image.open(out / "summary.png").convert("RGB")
    left, top, right, bottom = session.summary.regions["image"]
    shown = np.asarray(page.crop((left, top, right, bottom)), dtype=np.int16)
    expected = np.asarray(
        Image.open(out / "final.png").convert("RGB").resize((right - left, bottom - top), Image.Resampling.LANCZOS),
        dtype=np.int16,
    )
    assert np.abs(shown - expected).mean() < 2.0
    text = json.dumps(session.summary.sections)
    for movie in session.watched + [r.movie for r in session.recommendations]:
        assert json.dumps(movie.label)[1:-1] in text
    assert (out / "summary.pdf").read_bytes().startswith(b"%PDF-")

    # --resume renders the saved session again: same layout, same seed, same picture.
    again = tmp_path / "again"
    resumed = _run(real_stack.addresses(), "--resume", str(out / "session.json"), "--out", str(again))
    assert resumed.returncode == 0, resumed.stderr
    second = Session.load(again / "session.json")
    assert second.session_id == session.session_id and second.layout == session.layout
    assert second.result is not None and second.result.seed == 7 and second.result.job_id != session.result.job_id
    assert np.abs(_pixels(again / "final.png") - _pixels(out / "final.png")).mean() < 1.0
    # Flags override the saved render settings.
    bigger = _run(
        real_stack.addresses(),
        "--resume",
        str(out / "session.json"),
        "--size",
        "256x256",
        "--out",
        str(tmp_path / "bigger"),
    )
    assert bigger.returncode == 0 and Image.open(tmp_path / "bigger" / "final.png").size == (256, 256)


def test_cli_whole_flow_with_the_tiny_creatilayout_pipeline(
    real_stack: LocalStack, tiny_render: LocalStack, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = _run(
        _addresses(real_stack, "creatilayout", tiny_render),
        "--watched",
        "Toy Story (1995)",
        "--k",
        "3",
        "--planner",
        "offline",
        "--steps",
        "4",
        "--size",
        "64x64",
        "--seed",
        "11",
        "--preview-every",
        "1",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    session = Session.load(out / "session.json")
    assert session.result is not None and session.result.engine == "creatilayout"
    assert session.result.steps == 4 and session.result.layout_steps == 1  # int(0.3 x 4)
    assert Image.open(out / "final.png").size == (64, 64)
    assert Image.open(out / "layout_on_white.png").size[0] > 0


@pytest.mark.parametrize("engine", ["draft", "creatilayout"])
async def test_console_whole_flow(
    engine: str, real_stack: LocalStack, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    tiny = request.getfixturevalue("tiny_render") if engine == "creatilayout" else None
    endpoints = Endpoints.from_sources(_addresses(real_stack, engine, tiny), {})
    app = make_console(endpoints, out_dir=tmp_path / "export")
    async with app.run_test(size=(150, 48)) as pilot:
        await all_serving(pilot)
        await pilot.press(*"toy story")
        await wait_for(
            pilot,
            lambda: any(m.display_title == "Toy Story (1995)" for m in app.watched_step.results),
            what="search results",
        )
        index = next(i for i, m in enumerate(app.watched_step.results) if m.display_title == "Toy Story (1995)")
        assert index < 3  # the title is among the first matches
        app.watched_step.results = [app.watched_step.results[index]]
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.session.watched) == 1)
        await pilot.press("f2")
        app.query_one("#k", Input).value = "4"
        await pilot.press("f6")
        await wait_for(pilot, lambda: len(app.session.recommendations) == 4, what="recommendations")
        assert app.session.scenario.startswith("Mood preference:")
        await pilot.press("f3", "f7")
        await wait_for(pilot, lambda: app.session.plan is not None, timeout=60, what="plan")
        assert 3 <= len(app.session.layout.objects) <= 5
        # Edit a box by hand; the real planner validates it.
        generation = app.layout_step.validation_generation
        app.query_one("#obj-0-x1", Input).value = "0.9"
        app.query_one("#obj-0-x2", Input).value = "0.1"
        await wait_for(
            pilot,
            lambda: app.layout_step.validation_generation > generation and app.session.problems,
            what="validation problems",
        )
        assert any(p.field.startswith("objects[0]") for p in app.session.problems)
        app.query_one("#obj-0-x1", Input).value = "0.0"
        app.query_one("#obj-0-x2", Input).value = "1.0"
        await wait_for(
            pilot, lambda: not [p for p in app.session.problems if p.field.startswith("objects[0]")], what="box fixed"
        )
        await pilot.press("f4")
        size = "64" if engine == "creatilayout" else "256"
        for key, value in (("steps", "4"), ("width", size), ("height", size), ("seed", "5"), ("preview_interval", "1")):
            app.query_one(f"#param-{key}", Input).value = value
        await pilot.press("f8")
        await wait_for(pilot, lambda: app.render_step.render_generation == 1, timeout=120, what="render")
        assert app.session.result.engine == engine and app.session.result.seed == 5
        assert app.render_step.preview.frames_offered >= 1 and app.render_step.preview.has_image
        await wait_for(pilot, lambda: app.summary_step.summary_generation >= 1, what="summary")
        await pilot.press("f5")
        await pilot.click("#export")
        await wait_for(pilot, lambda: (tmp_path / "export" / "session.json").is_file(), what="export")
    saved = Session.load(tmp_path / "export" / "session.json")
    assert saved.layout is not None and saved.layout.objects[0].box.x2 == 1.0
    assert (tmp_path / "export" / "summary.pdf").is_file() and (tmp_path / "export" / "final.png").is_file()
