"""The three real servers in this process: each server's own `ModelService` (recommender over the
real catalog and committed model, layout with its offline planner, render on the draft engine) on
the shared bootstrap (`marquee.serving.serve`), one `grpc.aio` server each on a free loopback
port, all on one event loop in a background thread.

Same servicers, same bootstrap (health, interceptors, message limits) as `python -m <server>`,
without three interpreter start-ups: the whole-flow sweep calls the client in the test thread
(`python -m client_tui run` through its `main`) against these addresses hundreds of times.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from layout_server.config import LayoutSettings
from layout_server.service import LayoutModelService
from marquee.serving import ModelService, ServerSettings
from marquee.serving.readiness import State
from marquee.serving.server import ServerHandle, serve
from recommender_server.config import RecommenderSettings
from recommender_server.service import RecommenderModelService
from render_server.config import RenderSettings
from render_server.service import RenderModelService

HOST = "127.0.0.1"
#: The variable that would switch the layout server to the LLM planner; never set here.
LLM_KEY_VARIABLE = "OPENAI_API_KEY"


class InProcessStackError(RuntimeError):
    """A server did not come up (its model failed to load, or it did not listen in time)."""


@contextlib.contextmanager
def _without_llm_key() -> Iterator[None]:
    """The layout server reads the LLM key from the environment when it is built: hide a
    developer's key, so every plan comes from the offline planner."""
    saved = os.environ.pop(LLM_KEY_VARIABLE, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[LLM_KEY_VARIABLE] = saved


def build_services(data_dir: Path, work_dir: Path) -> dict[str, tuple[ModelService, ServerSettings]]:
    """Each server's service and settings as its `__main__` would build them from flags. Every
    setting that matters is given explicitly, so no `MARQUEE_*` variable of the shell leaks in."""
    common = dict(
        host=HOST,
        port=0,
        metrics=False,
        reflection=False,
        grace_period=3.0,
        auth_token=None,
        tls_cert_file=None,
        tls_key_file=None,
        tls_client_ca_file=None,
    )
    empty_env = work_dir / "empty.env"
    empty_env.write_text("")
    recommender = RecommenderSettings(**common, data_dir=data_dir)
    layout = LayoutSettings(**common, env_file=empty_env)
    render = RenderSettings(**common, engine="draft", output_dir=work_dir / "renders")
    with _without_llm_key():
        layout_service = LayoutModelService(layout)
    return {
        "recommender": (RecommenderModelService(recommender), recommender),
        "layout": (layout_service, layout),
        "render": (RenderModelService(render), render),
    }


@dataclass
class InProcessStack:
    """`start()` → `addresses()` → `stop()`; also a context manager."""

    data_dir: Path
    work_dir: Path
    build: Callable[[Path, Path], dict[str, tuple[ModelService, ServerSettings]]] = build_services
    ports: dict[str, int] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None
    exit_codes: dict[str, int] = field(default_factory=dict)

    def start(self, timeout: float = 240.0) -> InProcessStack:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="e2e-servers", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise InProcessStackError(f"the in-process servers were not SERVING within {timeout} s")
        if self._error is not None:
            error = self._error
            self.stop()
            raise InProcessStackError(str(error)) from error
        return self

    def addresses(self) -> dict[str, str]:
        return {name: f"{HOST}:{port}" for name, port in self.ports.items()}

    def stop(self) -> dict[str, int]:
        """Asks every server to drain and stop; returns their exit codes (0 = clean)."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already finished
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
        return self.exit_codes

    def __enter__(self) -> InProcessStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        services = self.build(self.data_dir, self.work_dir)
        tasks: dict[str, asyncio.Task[int]] = {}
        handles: dict[str, ServerHandle] = {}
        try:
            for name, (service, settings) in services.items():
                started: asyncio.Future[ServerHandle] = self._loop.create_future()
                tasks[name] = asyncio.create_task(
                    serve(service, settings, on_started=started.set_result, install_signal_handlers=False)
                )
                done, _ = await asyncio.wait({started, tasks[name]}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
                if started not in done:
                    raise InProcessStackError(f"the {name} server did not start listening")
                handles[name] = started.result()
                self.ports[name] = handles[name].port
            await self._wait_serving(services)
            self._ready.set()
            await self._stop.wait()
        finally:
            for handle in handles.values():
                handle.request_stop()
            for name, task in tasks.items():
                try:
                    self.exit_codes[name] = await asyncio.wait_for(task, 20)
                except Exception as exc:
                    self.exit_codes[name] = -1
                    self._error = self._error or exc

    @staticmethod
    async def _wait_serving(services: dict[str, tuple[ModelService, ServerSettings]]) -> None:
        deadline = time.monotonic() + 200
        for name, (service, _settings) in services.items():
            while not service.readiness.serving:
                if service.readiness.state is State.FAILED:
                    raise InProcessStackError(f"the {name} server failed to load: {service.readiness.reason}")
                if time.monotonic() > deadline:
                    raise InProcessStackError(f"the {name} server is not SERVING: {service.readiness.reason}")
                await asyncio.sleep(0.05)
