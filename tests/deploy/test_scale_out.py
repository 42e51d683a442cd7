"""Scale-out without a cluster: two replicas of every server on loopback (two "nodes"), the client
given both addresses of each (gRPC round_robin). One layout replica is down from the start; then,
in the middle of the render stream, the node that renders is lost: its render, recommender and
layout replicas are killed at once. The flow completes; the cut render stream surfaces UNAVAILABLE
and the client renders again on the surviving replica."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest

from marquee.local_stack import LocalStack
from marquee.v1 import common_pb2, render_pb2, render_pb2_grpc
from tests.deploy.replicas import handled, metrics_samples, start_all, start_client
from tests.paths import TINY_PIPELINE
from tests.real_stack import ONE_THREAD, TINY_RENDER_FLAGS

pytestmark = pytest.mark.slow

#: Long enough on this CPU (tiny pipeline, one thread) to kill the rendering replica mid-stream.
STEPS = 100
SIZE = "128x128"


def _running_jobs(stack: LocalStack) -> float:
    try:
        samples = metrics_samples(stack.processes["render"], timeout=1.0)
    except OSError:
        return 0.0
    return sum(v for (name, _), v in samples.items() if name == "marquee_render_running_jobs")


def _wait_for_render(stacks: list[LocalStack], client, timeout: float = 120.0) -> LocalStack:  # type: ignore[no-untyped-def]
    """The stack whose render replica is running the client's job."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert client.process.poll() is None, f"the client ended before rendering:\n{client.stderr()[-3000:]}"
        for stack in stacks:
            if _running_jobs(stack) >= 1:
                return stack
        time.sleep(0.05)
    raise AssertionError(f"no render replica started the job:\n{client.stderr()[-3000:]}")


async def _cut_stream_code(address: str, kill) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    """Opens a render stream, kills the server once the job runs, returns the stream's code."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = render_pb2_grpc.RenderServiceStub(channel)
        request = render_pb2.RenderRequest(
            prompt="a lighthouse at dusk",
            steps=STEPS,
            width=128,
            height=128,
            seed=3,
            objects=[
                render_pb2.RenderObject(phrase="a lighthouse", box=common_pb2.Box(x1=0.3, y1=0.1, x2=0.7, y2=0.9))
            ],
        )
        call = stub.Render(request)
        try:
            async for event in call:
                if event.WhichOneof("event") == "progress" and event.progress.step >= 1:
                    kill()
            raise AssertionError("the stream ended normally although its server was killed")
        except grpc.aio.AioRpcError as error:
            return error.code()


@pytest.fixture
def two_replicas(tmp_path: Path):  # type: ignore[no-untyped-def]
    if not (TINY_PIPELINE / "model_index.json").is_file():
        pytest.fail(f"{TINY_PIPELINE} is missing: the suite expects ../shared beside the clone")
    stacks = [
        LocalStack(
            {
                "recommender": [],
                "layout": [],
                "render": [*TINY_RENDER_FLAGS, "--output-dir", str(tmp_path / f"renders-{name}")],
            },
            tmp_path / f"replica-{name}",
            env={**ONE_THREAD, "MARQUEE_INTRA_OP_THREADS": "1"},
            grace_period=3.0,
        )
        for name in ("a", "b")
    ]
    start_all(stacks)
    try:
        yield stacks
    finally:
        for stack in stacks:
            stack.stop()


def test_flow_survives_a_lost_replica_and_the_cut_render_is_retried(
    two_replicas: list[LocalStack], tmp_path: Path
) -> None:
    stacks = two_replicas
    # One layout replica is down before the flow starts: round_robin must route around it.
    stacks[1].kill("layout")
    client = start_client(tmp_path / "client", stacks, steps=STEPS, size=SIZE)
    rendering = _wait_for_render(stacks, client)
    survivor = next(s for s in stacks if s is not rendering)
    # The layout was planned by the replica that was up.
    assert handled(stacks[0].processes["layout"], "PlanLayout") >= 1
    # A lost node: every replica on it dies at once, in the middle of the render stream.
    for name in ("render", "recommender", "layout"):
        rendering.kill(name)

    code = client.wait(timeout=180)
    stderr = client.stderr()
    assert code == 0, stderr[-3000:]
    session = client.session()
    assert session["result"]["attempts"] >= 2, stderr[-3000:]
    assert "render stream lost" in stderr and "retrying (attempt 2)" in stderr
    # The retried job ran to its result on the surviving replica.
    assert handled(survivor.processes["render"], "Render") >= 1
    assert (client.out / "session.json").is_file() and (client.out / "summary.png").is_file()
    image = session["result"]
    assert image["engine"] == "creatilayout" and image["steps"] == STEPS
    # The killed replica is gone.
    assert rendering.processes["render"].process.poll() is not None

    # The code a render stream cut by a dying replica surfaces: UNAVAILABLE (the one the client
    # retries). Shown directly on the surviving replica, killed in the middle of a stream.
    status = asyncio.run(_cut_stream_code(survivor.processes["render"].address, lambda: survivor.kill("render")))
    assert status == grpc.StatusCode.UNAVAILABLE
