"""A full render queue is waited for, within --wait, and never costs the work done before it:
a real render server (the tiny CreatiLayout pipeline) with no waiting room (`--queue-depth 0`),
held busy by one long job until the test lets it go, so the CLI's job is refused with
RESOURCE_EXHAUSTED and the server's retry-after hint, every time (no race with a gap between
jobs)."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from client_tui.exit_codes import ExitCode
from client_tui.gateway import QUEUE_POLL_SECONDS
from client_tui.session import Session
from marquee.local_stack import LocalStack
from marquee.v1 import common_pb2, render_pb2, render_pb2_grpc
from tests.real_stack import ONE_THREAD, TINY_RENDER_FLAGS, cli_command, cli_env

pytestmark = pytest.mark.slow

FLOW = [
    "--watched",
    "Toy Story (1995)",
    "--k",
    "3",
    "--planner",
    "offline",
    "--size",
    "64x64",
    "--seed",
    "5",
    "--preview-every",
    "0",
    "--steps",
    "4",
]
QUEUE_FULL = "render queue full; retrying in"


@pytest.fixture(scope="module")
def busy_render(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A render server that takes one job at a time and turns every other one away."""
    logs = tmp_path_factory.mktemp("busy-render")
    stack = LocalStack(
        {"render": [*TINY_RENDER_FLAGS, "--queue-depth", "0", "--output-dir", str(logs / "renders")]},
        logs,
        env=ONE_THREAD,
        grace_period=3.0,
    )
    stack.start(timeout=180)
    yield stack
    stack.stop()


class QueueHog:
    """Holds the render server's one slot with a long job (the tiny model at its largest size,
    many steps: minutes) until `stop()` cancels it; the server stops it within a step."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 256 << 20)])
        self.stub = render_pb2_grpc.RenderServiceStub(self.channel)
        self.running = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._call: grpc.Future | None = None
        self.request = render_pb2.RenderRequest(
            prompt="hog",
            title="Hog",
            width=512,
            height=512,
            steps=200,
            preview_interval=0,
            seed=1,
            objects=[render_pb2.RenderObject(phrase="thing", box=common_pb2.Box(x1=0.1, y1=0.1, x2=0.6, y2=0.6))],
        )

    def __enter__(self) -> QueueHog:
        self._thread.start()
        assert self.running.wait(120), "the hog's job never started"
        return self

    def _run(self) -> None:
        self._call = self.stub.Render(self.request, timeout=600)
        try:
            for response in self._call:
                if response.HasField("progress") and response.progress.stage == "denoising":
                    self.running.set()
        except grpc.RpcError as error:
            if error.code() is not grpc.StatusCode.CANCELLED:
                raise

    def stop(self) -> None:
        """Cancels the long job: the slot frees up within a step."""
        if self._call is not None:
            self._call.cancel()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._thread.join(120)
        self.channel.close()


def _start_cli(addresses: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command(addresses, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
    )


def test_a_full_queue_is_waited_for_then_the_render_succeeds(
    real_stack: LocalStack, busy_render: LocalStack, tmp_path: Path
) -> None:
    addresses = {**real_stack.addresses(), "render": busy_render.addresses()["render"]}
    out = tmp_path / "out"
    with QueueHog(addresses["render"]) as hog:
        cli = _start_cli(addresses, *FLOW, "--wait", "120", "--out", str(out))
        assert cli.stderr is not None
        seen: list[str] = []
        for line in cli.stderr:
            seen.append(line)
            if QUEUE_FULL in line:
                hog.stop()  # the slot frees up within a step of the cancel
        stdout = cli.stdout.read() if cli.stdout else ""
        code = cli.wait(timeout=180)
    stderr = "".join(seen)
    assert "Traceback" not in stderr
    assert code == ExitCode.OK, stderr
    # The server's hint assumes the hog runs to its end (tens of seconds); the CLI asks again
    # sooner, so the slot the cancel freed is taken within one poll, not after the whole hint.
    full = next(line for line in seen if QUEUE_FULL in line)
    expected = int(re.search(r"expects room in about (\d+) s", full).group(1))  # type: ignore[union-attr]
    assert expected > QUEUE_POLL_SECONDS, full  # the case this test is about
    assert f"{QUEUE_FULL} {QUEUE_POLL_SECONDS:.0f} s (" in full and "waited 0 of 120 s)" in full
    assert stdout.strip() == str(out / "summary.png")
    session = Session.load(out / "session.json")
    assert session.result is not None and session.result.seed == 5 and session.result.attempts >= 2


def test_with_wait_0_a_full_queue_is_exit_7_with_the_session_saved(
    real_stack: LocalStack, busy_render: LocalStack, tmp_path: Path
) -> None:
    addresses = {**real_stack.addresses(), "render": busy_render.addresses()["render"]}
    out = tmp_path / "out"
    with QueueHog(addresses["render"]):
        cli = _start_cli(addresses, *FLOW, "--wait", "0", "--out", str(out))
        _, stderr = cli.communicate(timeout=180)
    assert "Traceback" not in stderr
    assert cli.returncode == ExitCode.BUSY, stderr
    assert "The render queue is full" in stderr and "--wait SECONDS" in stderr and QUEUE_FULL not in stderr
    path = out / "session.json"
    assert f"The session is saved in {path} (done: watched, recommended, planned)" in stderr
    planned = Session.load(path)
    assert planned.layout is not None and planned.result is None

    # The hog is gone: the saved session renders on resume, with nothing recomputed before it.
    resumed = subprocess.run(
        cli_command(addresses, "--resume", str(path)), capture_output=True, text=True, timeout=180, env=cli_env()
    )
    assert resumed.returncode == ExitCode.OK, resumed.stderr
    done = Session.load(path)
    assert done.layout == planned.layout and done.result is not None and done.result.seed == 5
