"""The recommender's Prometheus metrics: Triton's per-model families, with Triton's exact names
and labels (`model`, `version`; `reason` on failures), so Triton's dashboards and alerts work on
Marquee unchanged. The shared bootstrap adds the gRPC ones.

A collector reads the same `ModelStatistics` records the ModelStatistics RPC reports, at scrape
time: one source for both. Written as a collector because prometheus-client's Counter names
every sample `<name>_total`, and Triton's counters carry no suffix; the families are exposed as
`untyped`, since prometheus-client's text format also renames a counter's TYPE line. Queries,
`rate()` included, work on the sample names as they do on Triton's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from recommender_server.model_statistics import FAILURE_REASONS, ModelStatistics

#: Triton's families: name, help, and how to read the value (durations in microseconds).
COUNTERS: tuple[tuple[str, str, Callable[[dict], float]], ...] = (
    (
        "nv_inference_request_success",
        "Number of successful inference requests, all batch sizes",
        lambda s: s["success_count"],
    ),
    (
        "nv_inference_count",
        "Number of inferences performed (does not include cached requests)",
        lambda s: s["inference_count"],
    ),
    (
        "nv_inference_exec_count",
        "Number of model executions performed (does not include cached requests)",
        lambda s: s["execution_count"],
    ),
    (
        "nv_inference_request_duration_us",
        "Cumulative inference request duration in microseconds",
        lambda s: s["success_ns"] // 1000,
    ),
    (
        "nv_inference_queue_duration_us",
        "Cumulative inference queuing duration in microseconds",
        lambda s: s["queue_ns"] // 1000,
    ),
    (
        "nv_inference_compute_input_duration_us",
        "Cumulative compute input duration in microseconds",
        lambda s: s["compute_input_ns"] // 1000,
    ),
    (
        "nv_inference_compute_infer_duration_us",
        "Cumulative compute inference duration in microseconds",
        lambda s: s["compute_infer_ns"] // 1000,
    ),
    (
        "nv_inference_compute_output_duration_us",
        "Cumulative inference compute output duration in microseconds",
        lambda s: s["compute_output_ns"] // 1000,
    ),
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


Source = Callable[[], Iterable[ModelStatistics]]


class TritonMetrics(Collector):
    """Triton's per-model metrics of every served model version, read when Prometheus scrapes.
    One per process (a registry refuses the same names twice); each loaded model host adds its
    statistics as a source."""

    def __init__(self) -> None:
        self._sources: list[Source] = []

    def add_source(self, source: Source) -> None:
        self._sources.append(source)

    def remove_source(self, source: Source) -> None:
        if source in self._sources:
            self._sources.remove(source)

    def describe(self) -> Iterator[Metric]:
        # Names only, so registering needs no model.
        for name, help_text, _ in COUNTERS:
            yield Metric(name, help_text, "unknown")
        yield Metric("nv_inference_request_failure", "", "unknown")
        yield Metric("nv_inference_pending_request_count", "", "gauge")
        yield HistogramMetricFamily("nv_inference_batch_size", "", labels=["model", "version"])

    def collect(self) -> Iterator[Metric]:
        snapshots = [(s.name, s.version, s.snapshot()) for source in list(self._sources) for s in source()]
        for name, help_text, read in COUNTERS:
            family = Metric(name, help_text, "unknown")
            for model, version, snap in snapshots:
                family.add_sample(name, {"model": model, "version": version}, read(snap))
            yield family
        failures = Metric(
            "nv_inference_request_failure", "Number of failed inference requests, all batch sizes", "unknown"
        )
        for model, version, snap in snapshots:
            for reason in FAILURE_REASONS:
                failures.add_sample(
                    "nv_inference_request_failure",
                    {"model": model, "version": version, "reason": reason},
                    snap["failures"].get(reason, 0),
                )
        yield failures
        pending = Metric(
            "nv_inference_pending_request_count",
            "Instantaneous number of pending requests awaiting execution per-model.",
            "gauge",
        )
        for model, version, snap in snapshots:
            pending.add_sample(
                "nv_inference_pending_request_count", {"model": model, "version": version}, snap["pending_requests"]
            )
        yield pending
        # Triton has no standard family for this; the name follows its prefix to sit beside them.
        batches = HistogramMetricFamily(
            "nv_inference_batch_size",
            "Rows per model execution (dynamic batching's batch size)",
            labels=["model", "version"],
        )
        for model, version, snap in snapshots:
            sizes: dict[int, int] = snap["executions_by_batch_size"]
            buckets = [(str(b), sum(c for size, c in sizes.items() if size <= b)) for b in BATCH_BUCKETS]
            buckets.append(("+Inf", sum(sizes.values())))
            batches.add_metric([model, version], buckets, sum_value=sum(s * c for s, c in sizes.items()))
        yield batches


TRITON_METRICS = TritonMetrics()
REGISTRY.register(TRITON_METRICS)
