"""Per model version counters, reported by the KServe v2 `ModelStatistics` RPC the way Triton
reports them (cumulative counts and nanoseconds), and exported on /metrics as Triton's per-model
families (`metrics.py`) from the same records."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from tritonclient.grpc import service_pb2 as kserve

#: Triton's failure reasons: refused before running (bad input), cancelled (the server stopped),
#: the model's run failed, anything else.
FAILURE_REASONS = ("REJECTED", "CANCELED", "BACKEND", "OTHER")


@dataclass
class _Duration:
    count: int = 0
    ns: int = 0

    def add(self, ns: int, count: int = 1) -> None:
        self.count += count
        self.ns += ns

    def proto(self) -> kserve.StatisticDuration:
        return kserve.StatisticDuration(count=self.count, ns=self.ns)


@dataclass
class ModelStatistics:
    """Thread-safe: the batcher's worker thread and the event loop both record."""

    name: str
    version: str
    inference_count: int = 0
    execution_count: int = 0
    last_inference_ms: int = 0
    #: Requests accepted but not yet executing (Triton's nv_inference_pending_request_count);
    #: the batcher keeps it current on the event loop, scrapes read it.
    pending_requests: int = 0
    success: _Duration = field(default_factory=_Duration)
    fail: _Duration = field(default_factory=_Duration)
    queue: _Duration = field(default_factory=_Duration)
    compute_input: _Duration = field(default_factory=_Duration)
    compute_infer: _Duration = field(default_factory=_Duration)
    compute_output: _Duration = field(default_factory=_Duration)
    batches: dict[int, list[_Duration]] = field(
        default_factory=lambda: defaultdict(lambda: [_Duration(), _Duration(), _Duration()])
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    failures: dict[str, int] = field(default_factory=dict)

    def record_execution(self, batch_size: int, input_ns: int, infer_ns: int, output_ns: int) -> None:
        with self._lock:
            self.execution_count += 1
            self.inference_count += batch_size
            self.last_inference_ms = int(time.time() * 1000)
            for duration, ns in zip(self.batches[batch_size], (input_ns, infer_ns, output_ns), strict=False):
                duration.add(ns)

    def record_request(
        self,
        *,
        ok: bool,
        total_ns: int,
        queue_ns: int = 0,
        input_ns: int = 0,
        infer_ns: int = 0,
        output_ns: int = 0,
        reason: str = "BACKEND",
    ) -> None:
        """One request's outcome; `reason` (one of Triton's) says why a failed one failed."""
        with self._lock:
            if not ok:
                self.fail.add(total_ns)
                reason = reason if reason in FAILURE_REASONS else "OTHER"
                self.failures[reason] = self.failures.get(reason, 0) + 1
                return
            self.success.add(total_ns)
            self.queue.add(queue_ns)
            self.compute_input.add(input_ns)
            self.compute_infer.add(infer_ns)
            self.compute_output.add(output_ns)

    def snapshot(self) -> dict:
        """The counters at one instant (for /metrics)."""
        with self._lock:
            return {
                "success_count": self.success.count,
                "success_ns": self.success.ns,
                "queue_ns": self.queue.ns,
                "compute_input_ns": self.compute_input.ns,
                "compute_infer_ns": self.compute_infer.ns,
                "compute_output_ns": self.compute_output.ns,
                "inference_count": self.inference_count,
                "execution_count": self.execution_count,
                "failures": dict(self.failures),
                "pending_requests": self.pending_requests,
                "executions_by_batch_size": {size: d[1].count for size, d in self.batches.items()},
            }

    def proto(self) -> kserve.ModelStatistics:
        with self._lock:
            return kserve.ModelStatistics(
                name=self.name,
                version=self.version,
                last_inference=self.last_inference_ms,
                inference_count=self.inference_count,
                execution_count=self.execution_count,
                inference_stats=kserve.InferStatistics(
                    success=self.success.proto(),
                    fail=self.fail.proto(),
                    queue=self.queue.proto(),
                    compute_input=self.compute_input.proto(),
                    compute_infer=self.compute_infer.proto(),
                    compute_output=self.compute_output.proto(),
                ),
                batch_stats=[
                    kserve.InferBatchStatistics(
                        batch_size=size,
                        compute_input=d[0].proto(),
                        compute_infer=d[1].proto(),
                        compute_output=d[2].proto(),
                    )
                    for size, d in sorted(self.batches.items())
                ],
            )
