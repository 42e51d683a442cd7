"""Prometheus metrics of the render queue and its jobs (served on the bootstrap's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)

QUEUE_DEPTH = Gauge("marquee_render_queue_depth", "Jobs waiting for the device (the running one excluded).")
RUNNING = Gauge("marquee_render_running_jobs", "Jobs running on the device (0 or 1).")
JOB_SECONDS = Histogram(
    "marquee_render_job_seconds",
    "Time a job ran on the device, from start to its result (or its end), by engine and outcome.",
    ["engine", "outcome"],
    buckets=_SECONDS,
)
QUEUED_SECONDS = Histogram(
    "marquee_render_queued_seconds", "Time a job waited in the queue before it ran.", ["engine"], buckets=_SECONDS
)
FIRST_PREVIEW_SECONDS = Histogram(
    "marquee_render_first_preview_seconds",
    "Time from a job's start to its first preview.",
    ["engine"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60),
)
SECONDS_PER_STEP = Histogram(
    "marquee_render_seconds_per_step",
    "Mean seconds per denoising step (per layer for the draft engine) of each finished job.",
    ["engine"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5, 10),
)
CANCEL_STOP_SECONDS = Histogram(
    "marquee_render_cancel_stop_seconds",
    "Time from a running job's cancellation to the engine having stopped.",
    ["engine"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
STEPS_AFTER_STOP = Histogram(
    "marquee_render_steps_after_stop",
    "Steps a running job completed between its cancellation and the engine stopping (at most 1).",
    ["engine"],
    buckets=(0, 1, 2, 3, 5, 10),
)
FAILURES = Counter(
    "marquee_render_failures_total",
    "Requests that ended without a result, by reason: invalid_argument and queue_full (refused), "
    "cancelled (the client left), deadline, shutdown, error.",
    ["reason"],
)
DROPPED_EVENTS = Counter(
    "marquee_render_dropped_events_total",
    "Progress or preview events dropped because a client read too slowly (the job never waits).",
    ["kind"],
)
