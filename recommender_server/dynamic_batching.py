"""Dynamic batching: requests that arrive close together run as one onnxruntime batch.

Triton's rule: when the model is free, the queued requests form the next batch; if they fill
fewer than `max_batch_size` rows and the oldest has waited less than the window, the batcher
waits for more until the window closes or the batch is full. One run at a time, on one worker
thread, so the event loop keeps answering while the model computes; requests that arrive during
a run form the next batch.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from recommender_server.inference_statistics import ModelStatistics
from recommender_server.onnx_runner import OnnxModel


@dataclass
class _Pending:
    inputs: dict[str, np.ndarray]
    rows: int
    future: asyncio.Future
    enqueued_ns: int = field(default_factory=time.perf_counter_ns)


@dataclass(frozen=True)
class _Timings:
    queue_ns: int
    input_ns: int
    infer_ns: int
    output_ns: int


class DynamicBatcher:
    """Runs `model` on requests of shape [rows, ...] per input, batching them when `enabled`."""

    def __init__(self, model: OnnxModel, stats: ModelStatistics, *, max_batch_size: int,
                 window_s: float, enabled: bool = True) -> None:
        self.model = model
        self.stats = stats
        self.max_batch_size = max_batch_size
        self.window_s = window_s
        self.enabled = enabled
        self._queue: deque[_Pending] = deque()
        self._queued_rows = 0
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnxruntime")
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="dynamic-batcher")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        for pending in self._queue:
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("the server is shutting down"))
        self._queue.clear()
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs for `inputs` (every array has the same number of rows, at most max_batch_size)."""
        rows = next(iter(inputs.values())).shape[0]
        if rows > self.max_batch_size:
            raise ValueError(f"{rows} rows exceed the maximum batch size {self.max_batch_size}")
        loop = asyncio.get_running_loop()
        started = time.perf_counter_ns()
        if not self.enabled:
            try:
                outputs, timings = await loop.run_in_executor(
                    self._executor, self._run, [inputs], started)
            except Exception:
                self.stats.record_request(ok=False, total_ns=time.perf_counter_ns() - started)
                raise
            self._record(started, timings)
            return outputs[0]
        pending = _Pending(inputs, rows, loop.create_future(), started)
        self._queue.append(pending)
        self._queued_rows += rows
        self._arrived.set()
        return await pending.future

    def _record(self, started_ns: int, t: _Timings) -> None:
        self.stats.record_request(ok=True, total_ns=time.perf_counter_ns() - started_ns,
                                  queue_ns=t.queue_ns, input_ns=t.input_ns, infer_ns=t.infer_ns,
                                  output_ns=t.output_ns)

    def _run(self, requests: list[dict[str, np.ndarray]], oldest_ns: int
             ) -> tuple[list[dict[str, np.ndarray]], _Timings]:
        """Worker thread: one onnxruntime run over the concatenated requests."""
        t0 = time.perf_counter_ns()
        if len(requests) == 1:
            batch = requests[0]
        else:
            batch = {name: np.concatenate([r[name] for r in requests]) for name in requests[0]}
        t1 = time.perf_counter_ns()
        outputs = self.model.run(batch)
        t2 = time.perf_counter_ns()
        results: list[dict[str, np.ndarray]] = []
        start = 0
        for r in requests:
            rows = next(iter(r.values())).shape[0]
            results.append({name: value[start:start + rows] for name, value in outputs.items()})
            start += rows
        t3 = time.perf_counter_ns()
        size = next(iter(batch.values())).shape[0]
        self.stats.record_execution(size, t1 - t0, t2 - t1, t3 - t2)
        return results, _Timings(t0 - oldest_ns, t1 - t0, t2 - t1, t3 - t2)

    def _take_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        rows = 0
        while self._queue and rows + self._queue[0].rows <= self.max_batch_size:
            pending = self._queue.popleft()
            self._queued_rows -= pending.rows
            if pending.future.cancelled():
                continue
            batch.append(pending)
            rows += pending.rows
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            deadline = self._queue[0].enqueued_ns + int(self.window_s * 1e9)
            while self._queued_rows < self.max_batch_size:
                remaining = (deadline - time.perf_counter_ns()) / 1e9
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            batch = self._take_batch()
            if not batch:
                continue
            oldest = min(p.enqueued_ns for p in batch)
            try:
                results, timings = await loop.run_in_executor(
                    self._executor, self._run, [p.inputs for p in batch], oldest)
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the error
                for p in batch:
                    self.stats.record_request(ok=False, total_ns=time.perf_counter_ns() - p.enqueued_ns)
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            for p, result in zip(batch, results):
                if not p.future.done():
                    p.future.set_result(result)
                    # The batch started queue_ns after its oldest request, less after later ones.
                    queued = timings.queue_ns - (p.enqueued_ns - oldest)
                    self._record(p.enqueued_ns, _Timings(
                        queued, timings.input_ns, timings.infer_ns, timings.output_ns))
