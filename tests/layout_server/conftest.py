"""Fixtures of the layout tests: the scripted OpenAI server and an in-process layout server."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from layout_server.config import LayoutSettings
from layout_server.service import LayoutModelService
from marquee.serving import ServerHandle, serve
from marquee.serving.structured_logs import configure_logging
from marquee.v1 import layout_pb2_grpc
from tests.layout_server.fake_openai import FakeOpenAI
from tests.layout_server.helpers import TEST_KEY


@pytest.fixture
def no_llm_env(clean_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No key or endpoint leaks in from the shell, and no ./.env is found by accident."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake_llm() -> FakeOpenAI:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """The process's structured logs (JSON lines, debug level) while the test runs."""
    configure_logging("debug", "json", process="test")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


StartServer = Callable[..., Awaitable[layout_pb2_grpc.LayoutServiceStub]]


@pytest.fixture
async def start_server(no_llm_env: None, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[StartServer]:
    """`await start_server(api_key=..., **settings)` runs a layout server in this event loop
    and returns a stub once it is SERVING."""
    running: list[tuple[asyncio.Task[int], ServerHandle, grpc.aio.Channel]] = []

    async def start(api_key: str | None = TEST_KEY, **overrides: object) -> layout_pb2_grpc.LayoutServiceStub:
        if api_key is not None:
            monkeypatch.setenv("OPENAI_API_KEY", api_key)
        settings = LayoutSettings(port=0, metrics=False, grace_period=1.0, **overrides)
        started: asyncio.Future[ServerHandle] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            serve(LayoutModelService(settings), settings, on_started=started.set_result, install_signal_handlers=False)
        )
        handle = await asyncio.wait_for(started, 10)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{handle.port}")
        running.append((task, handle, channel))
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(200):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                break
            await asyncio.sleep(0.02)
        return layout_pb2_grpc.LayoutServiceStub(channel)

    yield start
    for task, handle, channel in running:
        await channel.close()
        handle.request_stop()
        assert await asyncio.wait_for(task, 10) == 0
