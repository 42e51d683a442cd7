"""RenderService over gRPC, in process: the full draft stream, bad input, queueing, cancelling,
deadlines, shutdown and metrics. The queue tests use `PacedEngine` (steps of a set length) so
that timing is under the test's control; the real pipeline is in test_render_creatilayout.py."""

from __future__ import annotations

import asyncio
import io
import json
import math
import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from marquee.v1 import common_pb2, render_pb2
from tests.render_server.helpers import PacedEngine, collect, kinds, request, running_server


def decode(image: common_pb2.EncodedImage) -> Image.Image:
    decoded = Image.open(io.BytesIO(image.data))
    assert decoded.size == (image.width, image.height)
    assert image.media_type == f"image/{decoded.format.lower()}"
    return decoded


async def first_event(call, kind: str, step: int = 0) -> render_pb2.RenderResponse:
    async for response in call:
        if response.WhichOneof("event") == kind and (kind != "progress" or response.progress.step >= step):
            return response
    raise AssertionError(f"the stream ended before a {kind} event")


async def test_draft_engine_full_stream_saved_atomically(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        described = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
        assert (described.engine, described.not_ready_reason, described.max_boxes) == ("draft", "", 10)
        assert (described.default_steps, described.default_size, described.max_queue_depth) == (28, 1024, 8)

        responses = await collect(server.stub.Render(request(width=256, height=192, preview_interval=1)))
        events = kinds(responses)
        layers = 3 + 3
        assert events[0] == "queued" and events[-1] == "result"
        previews = [r.preview.step for r in responses if r.HasField("preview")]
        # One after each layer but the last; under load an encoder that lags may skip some, never the newest.
        assert previews[-1] == layers - 1 and previews == sorted(set(previews)) and events.count("result") == 1
        assert len({r.job_id for r in responses}) == 1
        steps = [r.progress.step for r in responses if r.HasField("progress")]
        assert steps == sorted(steps) and steps[0] == 0 and steps[-1] == layers
        assert {r.progress.total_steps for r in responses if r.HasField("progress")} == {layers}

        result = responses[-1].result
        meta = result.metadata
        assert (meta.engine, meta.steps, meta.width, meta.height, meta.layout_steps) == ("draft", layers, 256, 192, 0)
        assert meta.job_id == responses[0].job_id and meta.seed > 0 and meta.total_seconds > 0
        assert 0 < meta.first_preview_seconds <= meta.total_seconds
        for image in (result.image, result.layout_on_image, result.layout_on_white):
            assert decode(image).size == (256, 192)
        white = decode(result.layout_on_white).convert("RGB")
        assert white.getpixel((128, 180)) == (255, 255, 255)  # outside every box
        assert white.getpixel((128, 180)) != decode(result.layout_on_image).convert("RGB").getpixel((128, 180))

        out = tmp_path / "renders"
        assert len(meta.saved_files) == 4
        assert (out / meta.saved_files[0]).read_bytes() == result.image.data
        assert (out / meta.saved_files[2]).read_bytes() == result.layout_on_white.data
        record = json.loads((out / meta.saved_files[3]).read_text())
        assert (record["job_id"], record["seed"], record["engine"]) == (meta.job_id, meta.seed, "draft")
        assert not [p for p in out.rglob("*") if p.name.startswith(".")]  # no temporaries left

        # The seed makes it reproducible; a random seed is reported.
        again = await collect(server.stub.Render(request(width=256, height=192, seed=meta.seed)))
        assert again[-1].result.image.data == result.image.data
        other = await collect(server.stub.Render(request(width=256, height=192)))
        assert other[-1].result.metadata.seed != meta.seed

        # Full size, previews off (its speed is the benchmark's business, not a test's).
        big = await collect(server.stub.Render(request(width=1024, height=1024, preview_interval=0)))
        assert "preview" not in kinds(big)
        assert decode(big[-1].result.image).size == (1024, 1024)

        metrics = await server.metrics()
        for name in (
            'marquee_render_first_preview_seconds_count{engine="draft"}',
            'marquee_render_job_seconds_count{engine="draft",outcome="ok"}',
            'marquee_render_seconds_per_step_count{engine="draft"}',
            "marquee_render_queue_depth 0.0",
            "marquee_render_running_jobs 0.0",
        ):
            assert name in metrics, name


def _bad_requests() -> list[tuple[render_pb2.RenderRequest, str]]:
    box = lambda x1, y1, x2, y2: common_pb2.Box(x1=x1, y1=y1, x2=x2, y2=y2)  # noqa: E731
    eleven = [render_pb2.RenderObject(phrase=f"thing {i}", box=box(0.1, 0.1, 0.2, 0.2)) for i in range(11)]
    bad_box = lambda b: request(objects=[request().objects[0], render_pb2.RenderObject(phrase="x", box=b)])  # noqa: E731
    return [
        (request(objects=eleven), "objects: 11 given"),
        (bad_box(box(0.1, 0.1, 1.5, 0.9)), "objects[1].box.x2"),
        (bad_box(box(0.5, 0.1, 0.2, 0.9)), "objects[1].box is inverted"),
        (bad_box(box(0.1, math.nan, 0.2, 0.9)), "objects[1].box.y1 is nan"),
        (request(steps=201), "steps must be between 1 and 200"),
        (request(width=72), "width must be a positive multiple of 16"),
        (request(height=2048), "height 2048 is over this server's cap of 1536"),
        (request(guidance=-1.0), "guidance must be between 0"),
        (request(prompt="", objects=[]), "prompt is empty and there are no objects"),
    ]


async def test_bad_input_is_invalid_argument_naming_the_field(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        for bad, message in _bad_requests():
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await collect(server.stub.Render(bad))
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert message in error.value.details()
        assert not list((tmp_path / "renders" / "images").iterdir())
        assert 'marquee_render_failures_total{reason="invalid_argument"}' in await server.metrics()


async def test_not_serving_until_loaded_and_says_why(tmp_path: Path) -> None:
    gate = threading.Event()
    async with running_server(tmp_path, instance=PacedEngine(load_gate=gate), wait=False) as server:
        health = health_pb2_grpc.HealthStub(server.channel)
        await asyncio.sleep(0.1)
        assert (
            await health.Check(health_pb2.HealthCheckRequest())
        ).status == health_pb2.HealthCheckResponse.NOT_SERVING
        described = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
        assert "loading the paced fake engine" in described.not_ready_reason
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await collect(server.stub.Render(request()))
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "loading the paced fake engine" in error.value.details()
        gate.set()
        await server.wait_serving()
        assert (await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())).not_ready_reason == ""

    failing = PacedEngine(fail_load="weights.safetensors is missing")
    async with running_server(tmp_path, instance=failing, wait=False) as server:
        for _ in range(100):
            described = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
            if "missing" in described.not_ready_reason:
                break
            await asyncio.sleep(0.02)
        assert "FileNotFoundError: weights.safetensors is missing" in described.not_ready_reason


async def test_fifo_queue_positions_and_queue_full(tmp_path: Path) -> None:
    async with running_server(tmp_path, instance=PacedEngine(step_seconds=0.05), queue_depth=2) as server:
        running = server.stub.Render(request(steps=40))
        await first_event(running, "progress", step=1)
        # One after the other: two calls started together may reach the server in either order.
        second = server.stub.Render(request(steps=2))
        assert (await first_event(second, "queued")).queued.position == 0
        third = server.stub.Render(request(steps=2))
        assert (await first_event(third, "queued")).queued.position == 1
        with pytest.raises(grpc.aio.AioRpcError) as full:
            await collect(server.stub.Render(request(steps=2)))
        assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "queue is full" in full.value.details() and "retry in about" in full.value.details()
        retry = int(full.value.details().rsplit("about ", 1)[1].split(" s")[0])
        assert 1 <= retry <= 30
        assert ("retry-after-seconds", str(retry)) in tuple(full.value.trailing_metadata())

        second.cancel()  # a waiting job leaves: the one behind it moves up
        moved = await first_event(third, "queued")
        assert (moved.queued.position, moved.queued.queue_depth) == (0, 1)
        running.cancel()  # the running job stops: the next one runs at once
        rest = await collect(third)
        assert kinds(rest)[-1] == "result"

        metrics = await server.metrics()
        assert 'marquee_render_failures_total{reason="queue_full"}' in metrics
        assert "marquee_render_queue_depth 0.0" in metrics
        assert 'marquee_render_job_seconds_bucket{engine="paced",le="0.25",outcome="ok"}' in metrics


@pytest.mark.parametrize("how", ["cancel", "disconnect"])
async def test_a_client_leaving_stops_the_job_within_one_step(tmp_path: Path, how: str) -> None:
    step = 0.1
    async with running_server(tmp_path, instance=PacedEngine(step_seconds=step)) as server:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.handle.port}")
        call = render_stub(channel).Render(request(steps=100))
        await first_event(call, "progress", step=3)
        queue = server.service.queue
        steps_when_left = queue.running.steps_done
        if how == "cancel":
            call.cancel()
        else:
            await channel.close()
        while not queue.history or queue.history[-1].finished is None:
            await asyncio.sleep(0.01)
        ticket = queue.history[-1]
        assert ticket.stop_reason == "cancelled"
        assert ticket.steps_at_stopped - ticket.steps_at_stop_request <= 1
        # The stop was asked for within a step of the client leaving, so the engine stopped
        # within two steps of it.
        assert ticket.steps_at_stop_request - steps_when_left <= 1
        # The slot is free: nothing runs or waits, so the next job is next in line and runs.
        assert queue.running is None and queue.waiting == 0
        done = await collect(server.stub.Render(request(steps=2)))
        assert done[0].queued.position == 0 and kinds(done)[-1] == "result"
        await channel.close()


def render_stub(channel: grpc.aio.Channel):
    from marquee.v1 import render_pb2_grpc

    return render_pb2_grpc.RenderServiceStub(channel)


async def test_deadline_is_honoured(tmp_path: Path) -> None:
    async with running_server(tmp_path, instance=PacedEngine(step_seconds=0.05)) as server:
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await collect(server.stub.Render(request(steps=100), timeout=0.5))
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        queue = server.service.queue
        while not queue.history or queue.history[-1].finished is None:
            await asyncio.sleep(0.01)
        ticket = queue.history[-1]
        assert ticket.stop_reason == "deadline"
        # Stopped by its deadline within a step: no more steps than fit in the 0.5 s it had.
        assert ticket.steps_done <= 0.5 / 0.05 + 1
        assert ticket.steps_at_stopped - ticket.steps_at_stop_request <= 1
        assert 'marquee_render_failures_total{reason="deadline"}' in await server.metrics()

        # A job whose deadline passes while it waits leaves the queue without running.
        running = server.stub.Render(request(steps=40))
        await first_event(running, "progress", step=1)
        with pytest.raises(grpc.aio.AioRpcError) as late:
            await collect(server.stub.Render(request(steps=2), timeout=0.3))
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await asyncio.sleep(0.05)
        assert queue.waiting == 0 and queue.running is not None and queue.running.spec.steps == 40
        running.cancel()


async def test_shutdown_finishes_a_short_job_and_fails_waiting_ones(tmp_path: Path) -> None:
    async with running_server(tmp_path, instance=PacedEngine(step_seconds=0.05), grace_period=3.0) as server:
        short = server.stub.Render(request(steps=10))
        await first_event(short, "progress", step=1)
        waiting = server.stub.Render(request(steps=10))
        await first_event(waiting, "queued")
        server.handle.request_stop()
        assert kinds(await collect(short))[-1] == "result"
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await collect(waiting)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "shutting down" in refused.value.details()


async def test_shutdown_stops_a_job_that_cannot_finish_in_the_grace_period(tmp_path: Path) -> None:
    async with running_server(tmp_path, instance=PacedEngine(step_seconds=0.05), grace_period=2.0) as server:
        long = server.stub.Render(request(steps=200))  # 10 s
        await first_event(long, "progress", step=2)
        steps_when_stopping = server.service.queue.running.steps_done
        server.handle.request_stop()
        with pytest.raises(grpc.aio.AioRpcError) as stopped:
            await collect(long)
        assert stopped.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "shutting down" in stopped.value.details()
        ticket = server.service.queue.history[-1]
        assert ticket.stop_reason == "shutdown" and ticket.steps_done < 200
        # Its pace said it could not finish, so the drain stopped it at once, not at the end of the
        # grace (2 s at 0.05 s a step: 40 steps), and the engine stopped within a step.
        assert ticket.steps_at_stop_request - steps_when_stopping < 10
        assert ticket.steps_at_stopped - ticket.steps_at_stop_request <= 1


async def test_a_client_that_does_not_read_never_holds_the_job_up(tmp_path: Path) -> None:
    engine = PacedEngine(step_seconds=0.01, preview_side=1024)  # noise: JPEGs of about 1 MB
    async with running_server(tmp_path, instance=engine, preview_size=1024) as server:
        call = server.stub.Render(request(steps=40, preview_interval=1, width=1024, height=1024))
        queue = server.service.queue
        while not queue.history:  # the client reads nothing meanwhile (a job that waited for it
            await asyncio.sleep(0.02)  # would never end: the suite's timeout fails the test)
        assert queue.history[-1].steps_done == 40
        responses = await collect(call)
        assert kinds(responses)[-1] == "result"
        assert 0 < kinds(responses).count("preview") < 40  # frames were dropped, not the end
