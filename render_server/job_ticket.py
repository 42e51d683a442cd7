"""A render job in the queue (`Ticket`): its spec, its event channel, its progress and pace, and
the `JobControl` its engine reports through from the worker thread.

Previews are scaled and encoded on a separate encoder thread; while it is busy a few newest
pictures wait and older ones are dropped, so a slow encode never delays a step.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import time
import uuid

import numpy as np
from PIL import Image

from marquee.serving.structured_logs import get_logger
from render_server import render_metrics as metrics
from render_server.event_bridge import PREVIEW, PROGRESS, EventChannel
from render_server.previews import encode_preview
from render_server.request_validation import RenderSpec
from render_server.step_time_estimator import StepPace

log = get_logger("render.queue")

# Why a job was stopped before its end.
CLIENT_LEFT = "cancelled"
DEADLINE = "deadline"
SHUTDOWN = "shutdown"

#: Pictures that may wait while the preview encoder is busy (the oldest gives way).
PREVIEWS_WAITING_FOR_ENCODER = 4


class Ticket:
    """A job in the queue, and the `JobControl` its engine reports through."""

    def __init__(self, spec: RenderSpec, channel: EventChannel, total_steps: int,
                 deadline: float | None, engine: str, encoder: concurrent.futures.Executor,
                 preview_max_side: int) -> None:
        self.job_id = uuid.uuid4().hex
        self.spec = spec
        self.channel = channel
        self.total_steps = total_steps
        #: `time.monotonic()` value after which the job is abandoned, or None.
        self.deadline = deadline
        self.engine = engine
        self._encoder = encoder
        self._preview_max_side = preview_max_side
        self._preview_lock = threading.Lock()
        self._preview_busy = False
        self._preview_waiting: collections.deque[tuple[int, np.ndarray | Image.Image]] = collections.deque(
            maxlen=PREVIEWS_WAITING_FOR_ENCODER
        )
        self._preview_done = threading.Event()
        self._preview_done.set()
        #: Jobs ahead of this one when it was last told (0: next to run).
        self.position = -1
        self.submitted = time.monotonic()
        self.started: float | None = None
        self.finished: float | None = None
        self.first_preview: float | None = None
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
        """Hands the picture to the preview encoder; while it is busy a few newest pictures wait
        (older ones are dropped), so a slow encode never delays a step."""
        with self._preview_lock:
            if self._preview_busy:
                if len(self._preview_waiting) == self._preview_waiting.maxlen:
                    metrics.DROPPED_EVENTS.labels(PREVIEW).inc()
                self._preview_waiting.append((step, picture))
                return
            self._preview_busy = True
            self._preview_done.clear()
        try:
            self._encoder.submit(self._encode_previews, step, picture)
        except RuntimeError:  # the server is closing: no one will see it
            with self._preview_lock:
                self._preview_busy = False
                self._preview_done.set()

    def _encode_previews(self, step: int, picture: np.ndarray | Image.Image) -> None:
        while True:
            try:
                jpeg, width, height = encode_preview(picture, self.spec.width, self.spec.height, self._preview_max_side)
                if self.first_preview is None:
                    self.first_preview = time.monotonic()
                self.channel.publish(PREVIEW, (step, jpeg, width, height))
            except Exception:  # noqa: BLE001 - a broken preview must not break the job
                log.exception("preview failed", job_id=self.job_id, step=step)
            with self._preview_lock:
                if not self._preview_waiting:
                    self._preview_busy = False
                    self._preview_done.set()
                    return
                step, picture = self._preview_waiting.popleft()

    def flush_previews(self, timeout: float = 5.0) -> None:
        """Waits until every preview handed over so far is published (so they precede the result)."""
        self._preview_done.wait(timeout)

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
    def first_preview_seconds(self) -> float:
        if self.first_preview is None or self.started is None:
            return 0.0
        return self.first_preview - self.started

    @property
    def megapixels(self) -> float:
        return self.spec.width * self.spec.height / 1e6
