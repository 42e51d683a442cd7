"""One job at a time on the device, the rest in a bounded first-in-first-out queue.

A single worker thread runs the jobs (torch code is synchronous and the device can only do one
at a time efficiently); the event loop keeps the queue, tells waiting jobs their position, and
stops jobs whose client left, whose deadline passed, or which the shutdown cannot wait for.
A stopped job frees the device within one step: engines check `stop_requested` after each step.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import time
import uuid
from typing import Any, Callable

import numpy as np
from PIL import Image

from marquee.serving import (
    Cancelled,
    DeadlineExceeded,
    ResourceExhausted,
    ServiceError,
    Unavailable,
)
from marquee.serving.structured_logs import get_logger
from render_server import render_metrics as metrics
from render_server.engines import JobCancelled
from render_server.event_bridge import ERROR, PREVIEW, PROGRESS, QUEUED, RESULT, EventChannel
from render_server.previews import encode_preview
from render_server.request_validation import RenderSpec

log = get_logger("render.queue")

# Why a job was stopped before its end.
CLIENT_LEFT = "cancelled"
DEADLINE = "deadline"
SHUTDOWN = "shutdown"

#: Until a job has been timed, estimates assume this many seconds per step per megapixel.
INITIAL_SECONDS_PER_STEP_MP = 1.0
#: Pictures that may wait while the preview encoder is busy (the oldest gives way).
PREVIEWS_WAITING_FOR_ENCODER = 4
#: Weight of the newest job in the running estimate of the step time.
EMA_WEIGHT = 0.3


class QueueFull(ResourceExhausted):
    """RESOURCE_EXHAUSTED with a machine-readable hint of when to retry."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


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
        if step > self.steps_done:
            self.steps_done = step
        self.last_stage = stage
        elapsed = time.monotonic() - (self.started or self.submitted)
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


def _error_for(ticket: Ticket) -> ServiceError:
    if ticket.stop_reason == DEADLINE:
        return DeadlineExceeded(
            f"the deadline passed after {ticket.steps_done} of {ticket.total_steps} steps; "
            "allow more time or ask for fewer steps or a smaller size"
        )
    if ticket.stop_reason == SHUTDOWN:
        return Unavailable(
            "the render server is shutting down and could not finish this job in its grace "
            "period; retry on another replica"
        )
    return Cancelled("the job was cancelled")


class JobQueue:
    """FIFO of `Ticket`s in front of one worker thread running `work(ticket)`.

    `work` runs in the worker thread, reports through the ticket, raises `JobCancelled` when it
    stops early, and returns the result that ends the stream.
    """

    def __init__(self, work: Callable[[Ticket], Any], *, max_waiting: int, engine: str,
                 preview_max_side: int = 512) -> None:
        self._work = work
        self.max_waiting = max_waiting
        self.engine = engine
        self.preview_max_side = preview_max_side
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="render-worker")
        # Previews are scaled and encoded here, beside the worker, never on it.
        self._encoder = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="render-preview")
        self._waiting: collections.deque[Ticket] = collections.deque()
        self.running: Ticket | None = None
        self._wakeup: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        self._idle: asyncio.Event | None = None
        self.accepting = True
        self.seconds_per_step_mp = INITIAL_SECONDS_PER_STEP_MP
        #: The last finished or stopped tickets, newest last (tests and the benchmark read these).
        self.history: collections.deque[Ticket] = collections.deque(maxlen=32)
        metrics.QUEUE_DEPTH.set(0)
        metrics.RUNNING.set(0)

    # -- running ----------------------------------------------------------------------------
    def start(self) -> None:
        """Starts the runner on the current event loop."""
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._runner = asyncio.create_task(self._run(), name="render-queue")

    def run_in_worker(self, fn: Callable[[], Any]) -> "asyncio.Future[Any]":
        """Runs `fn` on the worker thread (loading and warming up use the same thread as jobs)."""
        return asyncio.get_running_loop().run_in_executor(self._executor, fn)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def submit(self, spec: RenderSpec, total_steps: int, deadline: float | None) -> Ticket:
        """Queues a job; raises RESOURCE_EXHAUSTED (with a retry estimate) when the queue is full."""
        if not self.accepting or self._wakeup is None:
            raise Unavailable("the render server is shutting down; retry on another replica")
        busy = self.running is not None or bool(self._waiting)
        if busy and len(self._waiting) >= self.max_waiting:
            metrics.FAILURES.labels("queue_full").inc()
            retry = self.retry_after_seconds()
            raise QueueFull(
                f"the render queue is full ({len(self._waiting)} jobs waiting behind the running "
                f"one; the limit is {self.max_waiting}); retry in about {retry} s",
                retry,
            )
        ticket = Ticket(spec, EventChannel(asyncio.get_running_loop()), total_steps, deadline, self.engine,
                        self._encoder, self.preview_max_side)
        self._waiting.append(ticket)
        metrics.QUEUE_DEPTH.set(len(self._waiting))
        ticket.position = len(self._waiting) - 1
        ticket.channel.publish(QUEUED, (ticket.position, len(self._waiting)))
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            ticket.deadline_timer = asyncio.get_running_loop().call_later(
                delay, self._deadline_passed, ticket
            )
        assert self._idle is not None
        self._idle.clear()
        self._wakeup.set()
        return ticket

    def cancel(self, ticket: Ticket, reason: str = CLIENT_LEFT) -> None:
        """Stops a job: a waiting one leaves the queue now, a running one after its current step."""
        if ticket.finished is not None:
            return
        if ticket in self._waiting:
            self._waiting.remove(ticket)
            ticket.request_stop(reason)
            ticket.finished = time.monotonic()
            if ticket.deadline_timer is not None:
                ticket.deadline_timer.cancel()
            self._record_failure(ticket)
            ticket.channel.publish(ERROR, _error_for(ticket))
            self._announce_positions()
            return
        ticket.request_stop(reason)

    def _deadline_passed(self, ticket: Ticket) -> None:
        if ticket.finished is None:
            self.cancel(ticket, DEADLINE)

    def _announce_positions(self) -> None:
        """Tells each waiting job whose place changed where it now stands."""
        metrics.QUEUE_DEPTH.set(len(self._waiting))
        for position, waiting in enumerate(self._waiting):
            if waiting.position != position:
                waiting.position = position
                waiting.channel.publish(QUEUED, (position, len(self._waiting)))

    def estimated_job_seconds(self, ticket: Ticket) -> float:
        return ticket.total_steps * max(ticket.megapixels, 0.01) * self.seconds_per_step_mp

    def remaining_seconds(self, ticket: Ticket) -> float:
        done = ticket.steps_done / max(1, ticket.total_steps)
        return self.estimated_job_seconds(ticket) * (1.0 - done)

    def retry_after_seconds(self) -> int:
        """When a place in the queue should free up: the running job's estimated remaining time."""
        running = self.remaining_seconds(self.running) if self.running is not None else 0.0
        return max(1, round(running + 0.5))

    async def _run(self) -> None:
        assert self._wakeup is not None and self._idle is not None
        loop = asyncio.get_running_loop()
        while True:
            if not self._waiting:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            ticket = self._waiting.popleft()
            self._announce_positions()
            self.running = ticket
            metrics.RUNNING.set(1)
            ticket.started = time.monotonic()
            metrics.QUEUED_SECONDS.labels(self.engine).observe(ticket.queued_seconds)
            try:
                result = await loop.run_in_executor(self._executor, self._work_on_worker, ticket)
            except JobCancelled:
                self._finish(ticket, "stopped")
                if ticket.stop_requested_at is not None and ticket.stopped_at is not None:
                    metrics.CANCEL_STOP_SECONDS.labels(self.engine).observe(
                        ticket.stopped_at - ticket.stop_requested_at
                    )
                    metrics.STEPS_AFTER_STOP.labels(self.engine).observe(
                        (ticket.steps_at_stopped or 0) - (ticket.steps_at_stop_request or 0)
                    )
                self._record_failure(ticket)
                ticket.channel.publish(ERROR, _error_for(ticket))
            except asyncio.CancelledError:
                ticket.request_stop(SHUTDOWN)
                raise
            except ServiceError as exc:
                self._finish(ticket, "error")
                metrics.FAILURES.labels("error").inc()
                ticket.channel.publish(ERROR, exc)
            except Exception as exc:  # noqa: BLE001 - one bad job must not stop the queue
                self._finish(ticket, "error")
                metrics.FAILURES.labels("error").inc()
                log.exception("render job failed", job_id=ticket.job_id)
                ticket.channel.publish(
                    ERROR,
                    ServiceError(f"the render failed ({type(exc).__name__}: {exc}); see the server log"),
                )
            else:
                self._finish(ticket, "ok")
                self._learn_speed(ticket)
                ticket.channel.publish(RESULT, result)
            finally:
                self.running = None
                metrics.RUNNING.set(0)

    def _work_on_worker(self, ticket: Ticket) -> Any:
        try:
            return self._work(ticket)
        except JobCancelled:
            # Timed here, on the worker, so the measure is the engine's and not the event loop's.
            ticket.stopped_at = time.monotonic()
            ticket.steps_at_stopped = ticket.steps_done
            raise

    def _finish(self, ticket: Ticket, outcome: str) -> None:
        ticket.finished = time.monotonic()
        if ticket.deadline_timer is not None:
            ticket.deadline_timer.cancel()
        metrics.JOB_SECONDS.labels(self.engine, outcome).observe(ticket.running_seconds)
        if ticket.first_preview is not None:
            metrics.FIRST_PREVIEW_SECONDS.labels(self.engine).observe(ticket.first_preview_seconds)
        self.history.append(ticket)
        log.info(
            "job finished",
            job_id=ticket.job_id,
            outcome=outcome,
            stop_reason=ticket.stop_reason,
            steps=ticket.steps_done,
            total_steps=ticket.total_steps,
            queued_seconds=round(ticket.queued_seconds, 3),
            running_seconds=round(ticket.running_seconds, 3),
        )

    def _record_failure(self, ticket: Ticket) -> None:
        metrics.FAILURES.labels(ticket.stop_reason or "cancelled").inc()

    def _learn_speed(self, ticket: Ticket) -> None:
        if ticket.steps_done <= 0:
            return
        per_step = ticket.running_seconds / ticket.steps_done
        metrics.SECONDS_PER_STEP.labels(self.engine).observe(per_step)
        self.learn_step_time(per_step, ticket.megapixels)

    def learn_step_time(self, seconds_per_step: float, megapixels: float) -> None:
        sample = seconds_per_step / max(megapixels, 0.01)
        self.seconds_per_step_mp += EMA_WEIGHT * (sample - self.seconds_per_step_mp)

    # -- shutting down -----------------------------------------------------------------------
    async def drain(self, deadline: float) -> None:
        """Takes no new jobs; fails the waiting ones (UNAVAILABLE, so clients retry elsewhere at
        once); lets the running one finish if it can before `deadline`, else stops it."""
        self.accepting = False
        while self._waiting:
            self.cancel(self._waiting[0], SHUTDOWN)
        running = self.running
        if running is None:
            return
        # Keep time for the stopped job's last step and for sending its final status.
        step = self.estimated_job_seconds(running) / max(1, running.total_steps)
        margin = max(0.5, 2.0 * step)
        stop_by = deadline - margin
        if time.monotonic() + self.remaining_seconds(running) > stop_by:
            log.info("stopping the running job for shutdown", job_id=running.job_id)
            self.cancel(running, SHUTDOWN)
        assert self._idle is not None
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=max(0.0, stop_by - time.monotonic()))
        except asyncio.TimeoutError:
            log.info("stopping the running job at the end of the grace period", job_id=running.job_id)
            self.cancel(running, SHUTDOWN)
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                log.warning("the running job did not stop in time", job_id=running.job_id)

    async def close(self) -> None:
        """Stops everything and the worker thread (after `drain`, or on its own)."""
        self.accepting = False
        while self._waiting:
            self.cancel(self._waiting[0], SHUTDOWN)
        if self.running is not None:
            self.cancel(self.running, SHUTDOWN)
        if self._runner is not None:
            if self._idle is not None and not self._idle.is_set():
                try:
                    await asyncio.wait_for(self._idle.wait(), timeout=5.0)
                except asyncio.TimeoutError:
                    pass
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._encoder.shutdown(wait=False, cancel_futures=True)
