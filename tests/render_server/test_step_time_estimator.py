"""Drain and retry estimates from fake timings (no clock is read): the running job's own pace
comes first, a finished job of comparable size next, and a warm-up-only figure is rough, capped in
retry hints and never a reason to stop a job at shutdown."""

from __future__ import annotations

import asyncio
import concurrent.futures
import math

import pytest

from render_server.event_bridge import EventChannel
from render_server.job_queue import MIN_STOP_MARGIN_SECONDS, ROUGH_RETRY_CAP_SECONDS, JobQueue, drain_plan
from render_server.job_ticket import Ticket
from render_server.spec import RenderSpec
from render_server.step_time_estimator import (
    COMPARABLE_PIXEL_RATIO,
    DEFAULT,
    MEASURED,
    SCALED,
    SIZES_KEPT,
    TIMED,
    WARM_UP,
    StepEstimate,
    StepPace,
    StepTimeEstimator,
)

WARM_UP_MP = 64 * 64 / 1e6
#: The warm-up's step as the engines time it: 4 steps of 64² in a second, mostly fixed cost.
WARM_UP_STEP = 0.25


def mp(side: int) -> float:
    return side * side / 1e6


def test_nothing_timed_is_the_rough_default() -> None:
    estimate = StepTimeEstimator(default_seconds_per_step_mp=2.0).per_step(mp(1000))
    assert (estimate.basis, estimate.rough) == (DEFAULT, True)
    assert estimate.seconds_per_step == pytest.approx(2.0)


def test_the_warm_up_alone_is_scaled_by_pixels_and_rough() -> None:
    estimator = StepTimeEstimator()
    estimator.learn_warm_up(WARM_UP_MP, WARM_UP_STEP)
    estimate = estimator.per_step(mp(256))
    assert (estimate.basis, estimate.rough) == (WARM_UP, True)
    assert estimate.seconds_per_step == pytest.approx(WARM_UP_STEP * 16)


def test_a_timed_job_of_comparable_size_makes_the_estimate_firm() -> None:
    estimator = StepTimeEstimator()
    estimator.learn_warm_up(WARM_UP_MP, WARM_UP_STEP)
    estimator.learn(mp(256), 0.04)
    same = estimator.per_step(mp(256))
    assert (same.basis, same.rough, same.seconds_per_step) == (TIMED, False, pytest.approx(0.04))
    # Within the comparable ratio the time scales with the pixels and stays firm.
    near = estimator.per_step(mp(256) * COMPARABLE_PIXEL_RATIO)
    assert (near.basis, near.seconds_per_step) == (TIMED, pytest.approx(0.04 * COMPARABLE_PIXEL_RATIO))
    # Far from every timed size it is scaled from the nearest, and rough again.
    far = estimator.per_step(mp(1024))
    assert (far.basis, far.rough, far.seconds_per_step) == (SCALED, True, pytest.approx(0.04 * 16))
    # The nearest timed size is the one used.
    estimator.learn(mp(1024), 0.3)
    assert estimator.per_step(mp(1024)).seconds_per_step == pytest.approx(0.3)
    assert estimator.per_step(mp(300)).seconds_per_step == pytest.approx(0.04 * mp(300) / mp(256))


def test_each_size_keeps_a_running_average_and_bad_timings_are_ignored() -> None:
    estimator = StepTimeEstimator()
    estimator.learn(mp(512), 1.0)
    estimator.learn(mp(512), 2.0)
    assert estimator.per_step(mp(512)).seconds_per_step == pytest.approx(1.3)  # 1 + 0.3 × (2 − 1)
    for bad in (0.0, -1.0, math.nan, math.inf):
        estimator.learn(mp(512), bad)
        estimator.learn_warm_up(WARM_UP_MP, bad)
    assert estimator.per_step(mp(512)).seconds_per_step == pytest.approx(1.3)
    for side in range(16, 16 * (SIZES_KEPT + 1), 16):  # SIZES_KEPT newer sizes, up to 256²
        estimator.learn(mp(side), 0.01)
    forgotten = estimator.per_step(mp(512))  # the oldest size gave way: 256² stands in
    assert (forgotten.basis, forgotten.seconds_per_step) == (SCALED, pytest.approx(0.01 * 4))


def test_a_jobs_pace_counts_from_its_first_step_and_a_stall_slows_it() -> None:
    pace = StepPace()
    assert pace.seconds_per_step(100.0) is None
    pace.record(0, 99.0)  # before the first step: prompt encoding, not a step
    pace.record(1, 102.0)
    assert pace.seconds_per_step(102.1) is None  # one step gives no interval yet
    for step in range(2, 11):
        pace.record(step, 102.0 + 0.5 * (step - 1))
    pace.record(10, 200.0)  # a repeated step (a later stage) does not move the pace
    assert pace.seconds_per_step(106.6) == pytest.approx(0.5)
    # The step under way has taken 10 s: the mean now counts it.
    assert pace.seconds_per_step(116.5) == pytest.approx((116.5 - 102.0) / 10)


async def running_ticket(
    queue: JobQueue,
    side: int,
    steps: int,
    done: int,
    step_seconds: float,
    started: float = 100.0,
    first_step_at: float = 101.0,
) -> Ticket:
    spec = RenderSpec(
        prompt="p", objects=(), steps=steps, guidance=1.0, width=side, height=side, seed=0, preview_interval=0
    )
    ticket = Ticket(
        spec,
        EventChannel(asyncio.get_running_loop()),
        steps,
        None,
        "test",
        concurrent.futures.ThreadPoolExecutor(max_workers=1),
        preview_max_side=64,
    )
    ticket.started = started
    for step in range(1, done + 1):
        ticket.steps_done = step
        ticket.pace.record(step, first_step_at + (step - 1) * step_seconds)
    queue.running = ticket
    return ticket


def warmed_queue() -> JobQueue:
    queue = JobQueue(lambda ticket: None, max_waiting=1, engine="test")
    queue.learn_warm_up(WARM_UP_STEP, WARM_UP_MP)
    return queue


async def test_the_first_job_after_start_finishes_when_it_can_within_the_grace() -> None:
    """The issue's case: a 30-step 256² job 4 s from done at SIGTERM with 10 s of grace was
    stopped, because its time came from the 64² warm-up."""
    queue = warmed_queue()
    ticket = await running_ticket(queue, 256, steps=30, done=22, step_seconds=0.5)
    now = 101.0 + 21 * 0.5
    remaining, step = queue.remaining_seconds(ticket, now)
    assert (step.basis, step.seconds_per_step) == (MEASURED, pytest.approx(0.5))
    assert remaining == pytest.approx((8 + 1) * 0.5)
    stop_now, stop_by = drain_plan(remaining, step, now, now + 10.0)
    assert not stop_now and stop_by == pytest.approx(now + 10.0 - 2 * 0.5)

    # Measured too slow to make it: stopped at once, so its client can retry elsewhere sooner.
    slow = await running_ticket(queue, 256, steps=200, done=10, step_seconds=0.5)
    now = 101.0 + 9 * 0.5
    remaining, step = queue.remaining_seconds(slow, now)
    assert drain_plan(remaining, step, now, now + 10.0)[0]
    queue._executor.shutdown()
    queue._encoder.shutdown()


async def test_before_its_pace_is_known_a_job_is_never_stopped_early_on_a_rough_estimate() -> None:
    queue = warmed_queue()
    ticket = await running_ticket(queue, 1024, steps=30, done=1, step_seconds=0.5)
    remaining, step = queue.remaining_seconds(ticket, 101.2)
    assert step.basis == WARM_UP and step.rough  # 64 s a step, scaled up from 64²
    assert remaining > 10.0
    stop_now, stop_by = drain_plan(remaining, step, 101.2, 111.2)
    # It runs until half the grace is left at the earliest (then it is stopped if still running).
    assert not stop_now and stop_by == pytest.approx(106.2)
    # A firm step time keeps its full margin: two steps (2 × 0.4 s here).
    stop_now, stop_by = drain_plan(1.0, StepEstimate(0.4, TIMED), 101.2, 111.2)
    assert not stop_now and stop_by == pytest.approx(111.2 - 0.8)
    assert drain_plan(1.0, StepEstimate(0.01, TIMED), 0.0, 10.0)[1] == pytest.approx(10.0 - MIN_STOP_MARGIN_SECONDS)


async def test_retry_hints_follow_the_running_job_and_cap_rough_guesses() -> None:
    queue = warmed_queue()
    assert queue.retry_after(now=0.0) == (1, False)  # nothing running
    # A ~1 s job (40 steps of 25 ms at 1024²) that has not reached its second step: the warm-up
    # scaled by pixels says ~40 minutes; the hint says the rough cap instead.
    await running_ticket(queue, 1024, steps=40, done=0, step_seconds=0.025)
    assert queue.retry_after(now=100.5) == (ROUGH_RETRY_CAP_SECONDS, True)
    # Once it has run a few steps, its own pace gives the hint: 30 steps (and the decode) left.
    await running_ticket(queue, 1024, steps=40, done=10, step_seconds=0.025)
    assert queue.retry_after(now=101.0 + 9 * 0.025) == (math.ceil(31 * 0.025), False)
    # A finished job of the same size makes the estimate firm: no cap, whatever it says.
    queue.step_times.learn(mp(1024), 2.0)
    await running_ticket(queue, 1024, steps=40, done=0, step_seconds=0.025)
    assert queue.retry_after(now=100.5) == (41 * 2, False)
    queue._executor.shutdown()
    queue._encoder.shutdown()
