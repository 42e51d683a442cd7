"""The gRPC surface of `marquee.v1.RenderService`: a request in, its job's events out.

`Render` validates the request (`validation`), queues the job (`job_queue`) and streams the
job's events as `RenderResponse`s; a client that leaves or runs out of time frees the device at
once. `DescribeEngine` reports the engine, its readiness and every cap a request must respect.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc

from marquee.retry_hint import retry_after_metadata
from marquee.serving import InvalidArgument
from marquee.serving.structured_logs import get_logger
from marquee.v1 import common_pb2, render_pb2, render_pb2_grpc
from render_server.event_bridge import ERROR, PREVIEW, PROGRESS, QUEUED, RESULT, JobEvent
from render_server.job_queue import QueueFull
from render_server.job_ticket import CLIENT_LEFT, DEADLINE, Ticket
from render_server.metrics import FAILURES
from render_server.validation import advertised_caps, validate_request

if TYPE_CHECKING:
    from render_server.service import RenderModelService

log = get_logger("render.service")
#: Our copy of the deadline is taken a moment after gRPC's; a cancel this close to it is the deadline.
DEADLINE_SLACK = 0.05


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
    def __init__(self, service: RenderModelService) -> None:
        self.service = service

    async def Render(
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
            context.set_trailing_metadata(retry_after_metadata(full.retry_after_seconds))
            raise
        log.info(
            "job queued",
            job_id=ticket.job_id,
            steps=spec.steps,
            width=spec.width,
            height=spec.height,
            objects=len(spec.objects),
            seed=spec.seed,
            position=ticket.position,
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

    async def DescribeEngine(
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
