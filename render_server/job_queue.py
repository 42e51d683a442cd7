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
import math
import time
from collections.abc import Callable
from typing import Any

from marquee.serving import Cancelled, DeadlineExceeded, ResourceExhausted, ServiceError, Unavailable
from marquee.serving.structured_logs import get_logger
from render_server import metrics
from render_server.engines import JobCancelled
from render_server.event_bridge import ERROR, QUEUED, RESULT, EventChannel
from render_server.job_ticket import CLIENT_LEFT, DEADLINE, SHUTDOWN, Ticket
from render_server.spec import RenderSpec
from render_server.step_time_estimator import MEASURED, StepEstimate, StepTimeEstimator

log = get_logger("render.queue")

#: A retry hint resting on a rough estimate says at most this: retrying early costs one refusal
#: (with a better hint by then), while a long wait for a job that takes a second is lost time.
ROUGH_RETRY_CAP_SECONDS = 10
#: The drain stops the running job this long before the grace ends, at least, so that its last
#: step and its final status still fit; two step times when the step time is known.
MIN_STOP_MARGIN_SECONDS = 0.5
#: Decoding and composing after the last step, counted as this many steps.
STEPS_AFTER_LAST = 1


def drain_plan(remaining: float, step: StepEstimate, now: float, deadline: float) -> tuple[bool, float]:
    """Whether the shutdown should stop the running job at once, and when to stop it at the
    latest (a `time.monotonic()` reading), given its estimated `remaining` seconds.

    The job is stopped a margin before `deadline`, so that its last step and its final status
    still fit: two step times, at least `MIN_STOP_MARGIN_SECONDS`, but no more than half the
    grace when the step time is rough (it may be far too long). Stopping at once only tells the
    client sooner, so it happens only when a trustworthy estimate says the job cannot finish; on
    a rough one the job gets every chance and is stopped at the latest time if still running.
    """
    margin = max(MIN_STOP_MARGIN_SECONDS, 2.0 * step.seconds_per_step)
    if step.rough:
        margin = min(margin, max(MIN_STOP_MARGIN_SECONDS, (deadline - now) / 2))
    stop_by = deadline - margin
    return (not step.rough and now + remaining > stop_by), stop_by


class QueueFull(ResourceExhausted):
    """RESOURCE_EXHAUSTED with a machine-readable hint of when to retry."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


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

    def __init__(
        self, work: Callable[[Ticket], Any], *, max_waiting: int, engine: str, preview_max_side: int = 512
    ) -> None:
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
        self.step_times = StepTimeEstimator()
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

    def run_in_worker(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
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
            retry, rough = self.retry_after()
            guess = " (a rough guess: no job of this size has been timed yet)" if rough else ""
            raise QueueFull(
                f"the render queue is full ({len(self._waiting)} jobs waiting behind the running "
                f"one; the limit is {self.max_waiting}); retry in about {retry} s{guess}",
                retry,
            )
        ticket = Ticket(
            spec,
            EventChannel(asyncio.get_running_loop()),
            total_steps,
            deadline,
            self.engine,
            self._encoder,
            self.preview_max_side,
        )
        self._waiting.append(ticket)
        metrics.QUEUE_DEPTH.set(len(self._waiting))
        ticket.position = len(self._waiting) - 1
        ticket.channel.publish(QUEUED, (ticket.position, len(self._waiting)))
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            ticket.deadline_timer = asyncio.get_running_loop().call_later(delay, self._deadline_passed, ticket)
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

    def remaining_seconds(self, ticket: Ticket, now: float | None = None) -> tuple[float, StepEstimate]:
        """Seconds until `ticket` ends, and the step time behind the number: the job's own pace
        once two of its steps have ended, else the estimator's (which may be rough)."""
        now = time.monotonic() if now is None else now
        measured = ticket.pace.seconds_per_step(now) if ticket.started is not None else None
        step = StepEstimate(measured, MEASURED) if measured is not None else self.step_times.per_step(ticket.megapixels)
        left = max(0, ticket.total_steps - ticket.steps_done) + STEPS_AFTER_LAST
        return left * step.seconds_per_step, step

    def retry_after(self, now: float | None = None) -> tuple[int, bool]:
        """When a place in the queue should free up, in whole seconds: the running job's
        estimated remaining time, at most `ROUGH_RETRY_CAP_SECONDS` when the estimate is rough;
        and whether it is."""
        if self.running is None:
            return 1, False
        seconds, step = self.remaining_seconds(self.running, now)
        if step.rough:
            seconds = min(seconds, ROUGH_RETRY_CAP_SECONDS)
        return max(1, math.ceil(seconds)), step.rough

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
            except Exception as exc:
                self._finish(ticket, "error")
                metrics.FAILURES.labels("error").inc()
                log.exception("render job failed", job_id=ticket.job_id)
                ticket.channel.publish(
                    ERROR, ServiceError(f"the render failed ({type(exc).__name__}: {exc}); see the server log")
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
        self.step_times.learn(ticket.megapixels, per_step)

    def learn_warm_up(self, seconds_per_step: float, megapixels: float) -> None:
        """The warm-up's step time (a rough guide until real jobs are timed)."""
        self.step_times.learn_warm_up(megapixels, seconds_per_step)

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
        now = time.monotonic()
        remaining, step = self.remaining_seconds(running, now)
        stop_now, stop_by = drain_plan(remaining, step, now, deadline)
        log.info(
            "draining",
            job_id=running.job_id,
            steps=running.steps_done,
            total_steps=running.total_steps,
            remaining_seconds=round(remaining, 3),
            estimate=step.basis,
            grace_seconds=round(deadline - now, 3),
        )
        if stop_now:
            log.info("stopping the running job for shutdown", job_id=running.job_id)
            self.cancel(running, SHUTDOWN)
        assert self._idle is not None
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=max(0.0, stop_by - time.monotonic()))
        except TimeoutError:
            log.info("stopping the running job at the end of the grace period", job_id=running.job_id)
            self.cancel(running, SHUTDOWN)
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
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
                except TimeoutError:
                    pass
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._encoder.shutdown(wait=False, cancel_futures=True)
