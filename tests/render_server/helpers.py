"""Render server test helpers: an in-process server on free ports, engines whose pace a test
sets, the fixture README's request, and reading a stream."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import numpy as np
from PIL import Image

from marquee.serving import ServerHandle, serve
from marquee.v1 import common_pb2, render_pb2, render_pb2_grpc
from render_server.config import RenderSettings
from render_server.engines import DENOISING, Engine, EngineOutput, JobCancelled, JobControl
from render_server.service import RenderModelService
from render_server.spec import RenderSpec

MESSAGE_LIMIT = 64 * 1024 * 1024


def settings(tmp_path: Path, **overrides: object) -> RenderSettings:
    values: dict[str, object] = dict(
        port=0, metrics_port=0, grace_period=3.0, output_dir=tmp_path / "renders", torch_threads=1, log_level="warning"
    )
    values.update(overrides)
    return RenderSettings(_cli_parse_args=False, **values)


class PacedEngine(Engine):
    """A fake engine whose every step takes `step_seconds` (a real sleep), for testing the queue,
    cancellation and shutdown without a model."""

    name = "paced"

    def __init__(
        self,
        step_seconds: float = 0.05,
        load_gate: threading.Event | None = None,
        fail_load: str | None = None,
        preview_side: int = 8,
    ) -> None:
        super().__init__()
        self.step_seconds = step_seconds
        self.preview_side = preview_side
        self.load_gate = load_gate
        self.fail_load = fail_load
        self.model = "paced-fake"

    def describe_loading(self) -> str:
        return "loading the paced fake engine"

    def load(self) -> None:
        if self.load_gate is not None:
            self.load_gate.wait(30)
        if self.fail_load:
            raise FileNotFoundError(self.fail_load)

    def render(self, spec: RenderSpec, control: JobControl) -> EngineOutput:
        for step in range(1, spec.steps + 1):
            if control.stop_requested:
                raise JobCancelled()
            time.sleep(self.step_seconds)
            control.progress(step, spec.steps, DENOISING)
            if control.wants_preview(step):
                noise = np.random.default_rng(step).integers(0, 256, (self.preview_side, self.preview_side, 3))
                control.preview(step, noise.astype(np.uint8))
        return EngineOutput(Image.new("RGB", (spec.width, spec.height), (40, 80, 120)), spec.steps, 0)


class RunningServer:
    def __init__(self, service: RenderModelService, handle: ServerHandle, channel: grpc.aio.Channel) -> None:
        self.service = service
        self.handle = handle
        self.channel = channel
        self.stub = render_pb2_grpc.RenderServiceStub(channel)

    async def wait_serving(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.service.readiness.serving:
            if time.monotonic() > deadline:
                raise AssertionError(f"not SERVING after {timeout} s: {self.service.readiness.reason}")
            await asyncio.sleep(0.02)

    async def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.handle.metrics_port}/metrics"
        return await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())


@contextlib.asynccontextmanager
async def running_server(
    tmp_path: Path, instance: Engine | None = None, wait: bool = True, **overrides: object
) -> AsyncIterator[RunningServer]:
    config = settings(tmp_path, **overrides)
    service = RenderModelService(config, engine=instance)
    started: asyncio.Future[ServerHandle] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(service, config, on_started=started.set_result, install_signal_handlers=False))
    handle = await asyncio.wait_for(started, 10)
    channel = grpc.aio.insecure_channel(
        f"127.0.0.1:{handle.port}", options=[("grpc.max_receive_message_length", MESSAGE_LIMIT)]
    )
    server = RunningServer(service, handle, channel)
    try:
        if wait:
            await server.wait_serving()
        yield server
    finally:
        handle.request_stop()
        await asyncio.wait_for(task, 15)
        await channel.close()


def request(**overrides: object) -> render_pb2.RenderRequest:
    """The fixture README's layout: a cowboy, a horse and a sun."""
    values: dict[str, object] = dict(
        prompt="a lone cowboy in a desert at dusk",
        title="The Last Ride",
        mood="dark warm",
        genres=["Western", "Drama"],
        objects=[
            render_pb2.RenderObject(phrase="cowboy hat", box=common_pb2.Box(x1=0.1, y1=0.1, x2=0.5, y2=0.6)),
            render_pb2.RenderObject(phrase="old horse", box=common_pb2.Box(x1=0.4, y1=0.4, x2=0.95, y2=0.95)),
            render_pb2.RenderObject(phrase="setting sun", box=common_pb2.Box(x1=0.6, y1=0.05, x2=0.9, y2=0.35)),
        ],
        width=64,
        height=64,
        steps=4,
    )
    values.update(overrides)
    return render_pb2.RenderRequest(**values)


async def collect(call: grpc.aio.UnaryStreamCall) -> list[render_pb2.RenderResponse]:
    return [response async for response in call]


def kinds(responses: list[render_pb2.RenderResponse]) -> list[str]:
    return [r.WhichOneof("event") for r in responses]
