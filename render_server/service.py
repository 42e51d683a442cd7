"""The render server's `ModelService`: the engine's life cycle, the job queue, and the
`RenderService` servicer that streams each job's events to its client."""

from __future__ import annotations

import asyncio
import os
import time
from typing import AsyncIterator

import grpc
import numpy as np
from PIL import Image

from marquee.serving import InvalidArgument, ModelService, State
from marquee.serving.structured_logs import get_logger, register_secret
from marquee.v1 import common_pb2, render_pb2, render_pb2_grpc
from render_server.config import RenderSettings
from render_server.draft_engine import DraftEngine
from render_server.engines import Engine
from render_server.event_bridge import ERROR, PREVIEW, PROGRESS, QUEUED, RESULT, JobEvent
from render_server.job_queue import CLIENT_LEFT, DEADLINE, JobQueue, QueueFull, Ticket
from render_server.output_store import OutputStore
from render_server.previews import encode_preview
from render_server.render_metrics import FAILURES
from render_server.render_job import RenderJobRunner
from render_server.request_validation import Limits, advertised_caps, size_limits, validate_request

log = get_logger("render.service")
#: Our copy of the deadline is taken a moment after gRPC's; a cancel this close to it is the deadline.
DEADLINE_SLACK = 0.05
#: Trailing metadata on RESOURCE_EXHAUSTED: whole seconds after which a retry should find room.
RETRY_AFTER_KEY = "retry-after-seconds"


def make_engine(settings: RenderSettings) -> Engine:
    """The engine the settings ask for (nothing heavy happens until `load`)."""
    if settings.engine_name == "draft":
        return DraftEngine()
    from render_server.creatilayout_engine import CreatiLayoutEngine

    # The loader reads the token itself; registering it masks it by value in every log line, in
    # case a hub error message ever quotes it.
    register_secret(os.environ.get("HF_TOKEN"))
    return CreatiLayoutEngine(
        settings.model,
        base_model=settings.base_model,
        device=settings.device,
        dtype=settings.dtype,
        torch_threads=settings.torch_threads,
        compile_mode=settings.compile,
        negative_prompt_cache=settings.negative_prompt_cache,
        warm_up_size=settings.default_size,
    )


def _response(ticket: Ticket, event: JobEvent) -> render_pb2.RenderResponse:
    job_id = ticket.job_id
    if event.kind == QUEUED:
        position, depth = event.data
        return render_pb2.RenderResponse(job_id=job_id, queued=render_pb2.Queued(position=position, queue_depth=depth))
    if event.kind == PROGRESS:
        step, total, elapsed, stage = event.data
        return render_pb2.RenderResponse(
            job_id=job_id,
            progress=render_pb2.Progress(step=step, total_steps=total, elapsed_seconds=elapsed, stage=stage),
        )
    if event.kind == PREVIEW:
        step, jpeg, width, height = event.data
        image = common_pb2.EncodedImage(data=jpeg, width=width, height=height, media_type="image/jpeg")
        return render_pb2.RenderResponse(job_id=job_id, preview=render_pb2.Preview(step=step, image=image))
    if event.kind == RESULT:
        return render_pb2.RenderResponse(job_id=job_id, result=event.data)
    raise ValueError(f"unknown event kind {event.kind!r}")


class RenderServicer(render_pb2_grpc.RenderServiceServicer):
    def __init__(self, service: "RenderService") -> None:
        self.service = service

    async def Render(  # noqa: N802 - gRPC naming
        self, request: render_pb2.RenderRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[render_pb2.RenderResponse]:
        service = self.service
        service.readiness.require_serving()
        try:
            spec = validate_request(request, service.limits)
        except InvalidArgument:
            FAILURES.labels("invalid_argument").inc()
            raise
        remaining = context.time_remaining()
        deadline = time.monotonic() + remaining if remaining is not None else None
        queue = service.queue
        try:
            ticket = queue.submit(spec, service.engine.steps_for(spec), deadline)
        except QueueFull as full:
            context.set_trailing_metadata(((RETRY_AFTER_KEY, str(full.retry_after_seconds)),))
            raise
        log.info(
            "job queued", job_id=ticket.job_id, steps=spec.steps, width=spec.width, height=spec.height,
            objects=len(spec.objects), seed=spec.seed, position=ticket.position,
        )
        try:
            while True:
                event = await ticket.channel.get()
                if event.kind == ERROR:
                    raise event.data
                yield _response(ticket, event)
                if event.kind == RESULT:
                    return
        finally:
            if ticket.finished is None:
                # The client cancelled, disconnected or ran out of time: free the device now.
                expired = deadline is not None and time.monotonic() >= deadline - DEADLINE_SLACK
                queue.cancel(ticket, DEADLINE if expired else CLIENT_LEFT)

    async def DescribeEngine(  # noqa: N802
        self, request: render_pb2.DescribeEngineRequest, context: grpc.aio.ServicerContext
    ) -> render_pb2.DescribeEngineResponse:
        service = self.service
        settings = service.settings
        readiness = service.readiness
        limits = service.limits
        return render_pb2.DescribeEngineResponse(
            engine=service.engine.name,
            model=service.engine.model,
            device=service.engine.device,
            max_width=limits.max_size,
            max_height=limits.max_size,
            max_boxes=limits.max_boxes,
            default_steps=limits.default_steps,
            default_guidance=limits.default_guidance,
            default_size=limits.default_size,
            max_queue_depth=settings.queue_depth,
            not_ready_reason="" if readiness.serving else readiness.reason,
            engine_notice=service.engine.engine_notice,
            **advertised_caps(),
        )


class RenderService(ModelService):
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
            "engine ready", engine=self.engine.name, model=self.engine.model, device=self.engine.device,
            max_boxes=self.engine.max_boxes, max_size=self.limits.max_size,
            seconds=round(time.monotonic() - started, 3),
        )
        if self.limits.max_size < self.settings.max_size:
            log.warning(
                "--max-size is above what the loaded model renders; requests are capped lower",
                max_size=self.settings.max_size, model_max_size=self.limits.max_size,
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

