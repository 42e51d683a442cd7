"""A render job in the queue (`Ticket`): its spec, its event channel, its progress and pace, and
the `JobControl` its engine reports through from the worker thread (previews go through the
job's `PreviewHandoff` to the encoder thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import uuid

import numpy as np
from PIL import Image

from render_server.event_bridge import PROGRESS, EventChannel
from render_server.preview_handoff import PreviewHandoff
from render_server.spec import RenderSpec
from render_server.step_time_estimator import StepPace

# Why a job was stopped before its end.
CLIENT_LEFT = "cancelled"
DEADLINE = "deadline"
SHUTDOWN = "shutdown"


class Ticket:
    """A job in the queue, and the `JobControl` its engine reports through."""

    def __init__(
        self,
        spec: RenderSpec,
        channel: EventChannel,
        total_steps: int,
        deadline: float | None,
        engine: str,
        encoder: concurrent.futures.Executor,
        preview_max_side: int,
    ) -> None:
        self.job_id = uuid.uuid4().hex
        self.spec = spec
        self.channel = channel
        self.total_steps = total_steps
        #: `time.monotonic()` value after which the job is abandoned, or None.
        self.deadline = deadline
        self.engine = engine
        self._previews = PreviewHandoff(
            channel, encoder, job_id=self.job_id, width=spec.width, height=spec.height, max_side=preview_max_side
        )
        #: Jobs ahead of this one when it was last told (0: next to run).
        self.position = -1
        self.submitted = time.monotonic()
        self.started: float | None = None
        self.finished: float | None = None
        self.steps_done = 0
        #: When its steps ended, for the estimate of its remaining time.
        self.pace = StepPace()
        self.last_stage = ""
        self.deadline_timer: asyncio.TimerHandle | None = None
        self._stop = threading.Event()
        self.stop_reason: str | None = None
        self.stop_requested_at: float | None = None
        self.steps_at_stop_request: int | None = None
        self.stopped_at: float | None = None
        self.steps_at_stopped: int | None = None

    # -- JobControl -------------------------------------------------------------------------
    @property
    def stop_requested(self) -> bool:
        if self._stop.is_set():
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.request_stop(DEADLINE)
            return True
        return False

    def progress(self, step: int, total: int, stage: str) -> None:
        now = time.monotonic()
        if step > self.steps_done:
            self.steps_done = step
            self.pace.record(step, now)
        self.last_stage = stage
        elapsed = now - (self.started or self.submitted)
        self.channel.publish(PROGRESS, (step, total, elapsed, stage))

    def wants_preview(self, step: int) -> bool:
        interval = self.spec.preview_interval
        return interval > 0 and step % interval == 0

    def preview(self, step: int, picture: np.ndarray | Image.Image) -> None:
        """Hands the picture to the preview encoder (`PreviewHandoff`): a slow encode never
        delays a step."""
        self._previews.hand_over(step, picture)

    def flush_previews(self, timeout: float = 5.0) -> None:
        """Waits until every preview handed over so far is published (so they precede the result)."""
        self._previews.flush(timeout)

    # -- the queue's side -------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        """Asks the engine to stop after its current step (any thread; the first reason wins)."""
        if self._stop.is_set():
            return
        self.stop_reason = reason
        self.stop_requested_at = time.monotonic()
        self.steps_at_stop_request = self.steps_done
        self._stop.set()

    @property
    def running_seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    @property
    def queued_seconds(self) -> float:
        return (self.started or time.monotonic()) - self.submitted

    @property
    def first_preview(self) -> float | None:
        """`time.monotonic()` when the first preview was published, or None."""
        return self._previews.first_published

    @property
    def first_preview_seconds(self) -> float:
        if self.first_preview is None or self.started is None:
            return 0.0
        return self.first_preview - self.started

    @property
    def megapixels(self) -> float:
        return self.spec.width * self.spec.height / 1e6
