"""The render server's `ModelService`: the engine's life cycle (load, warm up, close), the job
queue, the output store, and the `RenderServicer` (`render_server.servicer`) it registers."""

from __future__ import annotations

import asyncio
import time

import grpc
import numpy as np
from PIL import Image

from marquee.serving import ModelService, State
from marquee.serving.structured_logs import get_logger
from marquee.v1 import render_pb2, render_pb2_grpc
from render_server.config import RenderSettings
from render_server.engines import Engine, make_engine
from render_server.job_queue import JobQueue
from render_server.output_store import OutputStore
from render_server.previews import encode_preview
from render_server.render_job import RenderJobRunner
from render_server.servicer import RenderServicer
from render_server.validation import Limits, size_limits

log = get_logger("render.service")


class RenderModelService(ModelService):
    """The render process's model: the engine's life cycle, the job queue, and the
    `RenderServicer` registered on the server."""

    name = "render"

    def __init__(self, settings: RenderSettings, engine: Engine | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.engine = engine or make_engine(settings)
        # Created now so that a bad --output-dir stops the server at start-up, not at the first job.
        self.store = OutputStore(settings.output_dir, file_mode=int(settings.output_file_mode, 8))
        self.queue = JobQueue(
            RenderJobRunner(self.engine, self.store),
            max_waiting=settings.queue_depth,
            engine=self.engine.name,
            preview_max_side=settings.preview_size,
        )
        self.readiness.set(State.LOADING, f"{self.engine.describe_loading()}: not started yet")

    @property
    def limits(self) -> Limits:
        """What requests may ask for: --max-size clamped to what the loaded model can render."""
        return size_limits(self.settings, self.engine)

    def register(self, server: grpc.aio.Server) -> list[str]:
        render_pb2_grpc.add_RenderServiceServicer_to_server(RenderServicer(self), server)
        return [render_pb2.DESCRIPTOR.services_by_name["RenderService"].full_name]

    async def load(self) -> None:
        started = time.monotonic()
        what = self.engine.describe_loading()
        self.readiness.set(State.LOADING, what)
        log.info("loading", engine=self.engine.name, what=what)
        self.queue.start()
        # Load and warm up on the worker thread that will run the jobs (torch thread settings and
        # CUDA state belong to it), leaving the event loop free to answer health checks.
        await self.queue.run_in_worker(self.engine.load)
        if self.settings.warm_up:
            self.readiness.set(State.LOADING, f"warming up the {self.engine.name} engine")
            await self.queue.run_in_worker(self._warm_up)
        log.info(
            "engine ready",
            engine=self.engine.name,
            model=self.engine.model,
            device=self.engine.device,
            max_boxes=self.engine.max_boxes,
            max_size=self.limits.max_size,
            seconds=round(time.monotonic() - started, 3),
        )
        if self.limits.max_size < self.settings.max_size:
            log.warning(
                "--max-size is above what the loaded model renders; requests are capped lower",
                max_size=self.settings.max_size,
                model_max_size=self.limits.max_size,
            )

    def _warm_up(self) -> None:
        control = _WarmUpControl()
        started = time.monotonic()
        self.engine.warm_up(control)
        if control.steps:
            self.queue.learn_warm_up((time.monotonic() - started) / control.steps, control.megapixels)

    async def drain(self, deadline: float) -> None:
        await self.queue.drain(deadline)

    async def close(self) -> None:
        await self.queue.close()
        await asyncio.to_thread(self.engine.close)


class _WarmUpControl:
    """A `JobControl` that keeps nothing but the step count (warm-up output is thrown away)."""

    stop_requested = False

    #: Both engines warm up at 64 × 64.
    megapixels = 64 * 64 / 1e6

    def __init__(self) -> None:
        self.steps = 0

    def progress(self, step: int, total: int, stage: str) -> None:
        self.steps = max(self.steps, step)

    def wants_preview(self, step: int) -> bool:
        return True

    def preview(self, step: int, picture: np.ndarray | Image.Image) -> None:
        encode_preview(picture, 64, 64, 64)  # loads the JPEG encoder before the first job
