"""Dynamic batching over one or more model instances (Triton's `dynamic_batching` and
`instance_group { count }`).

Triton's rule: when an instance is free, the queued requests form its next batch; if they fill
fewer than `max_batch_size` rows and the oldest has waited less than the window, the batcher
waits for more until the window closes or the batch is full. Each instance runs one batch at a
time on its own worker thread, so the event loop keeps answering while models compute, and
requests that arrive during a run form the next batch.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from recommender_server.model_statistics import ModelStatistics


class Runner(Protocol):
    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


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


def _rows(inputs: dict[str, np.ndarray]) -> int:
    return next(iter(inputs.values())).shape[0]


class DynamicBatcher:
    """Runs requests of shape [rows, ...] per input on `instances`, batching them when `enabled`
    (otherwise each request runs alone on the next free instance)."""

    def __init__(
        self,
        instances: Runner | Sequence[Runner],
        stats: ModelStatistics,
        *,
        max_batch_size: int,
        window_s: float,
        enabled: bool = True,
    ) -> None:
        self.instances = list(instances) if isinstance(instances, Sequence) else [instances]
        self.stats = stats
        self.max_batch_size = max_batch_size
        self.window_s = window_s
        self.enabled = enabled
        self._queue: deque[_Pending] = deque()
        self._queued_rows = 0
        self._arrived = asyncio.Event()
        self._free: asyncio.Queue[Runner] | None = None
        self._executor = ThreadPoolExecutor(max_workers=len(self.instances), thread_name_prefix="onnxruntime")
        self._task: asyncio.Task | None = None
        self._running: set[asyncio.Task] = set()

    def _free_instances(self) -> asyncio.Queue[Runner]:
        if self._free is None:
            self._free = asyncio.Queue()
            for instance in self.instances:
                self._free.put_nowait(instance)
        return self._free

    def start(self) -> None:
        self._free_instances()
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
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        for pending in self._queue:
            if not pending.future.done():
                self.stats.record_request(
                    ok=False, total_ns=time.perf_counter_ns() - pending.enqueued_ns, reason="CANCELED"
                )
                pending.future.set_exception(RuntimeError("the server is shutting down"))
        self._queue.clear()
        self.stats.pending_requests = 0
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Outputs for `inputs` (every array has the same number of rows, at most max_batch_size)."""
        rows = _rows(inputs)
        if rows > self.max_batch_size:
            raise ValueError(f"{rows} rows exceed the maximum batch size {self.max_batch_size}")
        started = time.perf_counter_ns()
        if not self.enabled:
            free = self._free_instances()
            self.stats.pending_requests += 1
            try:
                instance = await free.get()
            finally:
                self.stats.pending_requests -= 1
            try:
                outputs, timings = await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._run, instance, [inputs], started
                )
            except Exception:
                self.stats.record_request(ok=False, total_ns=time.perf_counter_ns() - started)
                raise
            finally:
                free.put_nowait(instance)
            self._record(started, timings)
            return outputs[0]
        pending = _Pending(inputs, rows, asyncio.get_running_loop().create_future(), started)
        self._queue.append(pending)
        self._queued_rows += rows
        self.stats.pending_requests = len(self._queue)
        self._arrived.set()
        return await pending.future

    def _record(self, started_ns: int, t: _Timings) -> None:
        self.stats.record_request(
            ok=True,
            total_ns=time.perf_counter_ns() - started_ns,
            queue_ns=t.queue_ns,
            input_ns=t.input_ns,
            infer_ns=t.infer_ns,
            output_ns=t.output_ns,
        )

    def _run(
        self, instance: Runner, requests: list[dict[str, np.ndarray]], oldest_ns: int
    ) -> tuple[list[dict[str, np.ndarray]], _Timings]:
        """Worker thread: one run over the concatenated requests."""
        t0 = time.perf_counter_ns()
        if len(requests) == 1:
            batch = requests[0]
        else:
            batch = {name: np.concatenate([r[name] for r in requests]) for name in requests[0]}
        t1 = time.perf_counter_ns()
        outputs = instance.run(batch)
        t2 = time.perf_counter_ns()
        results: list[dict[str, np.ndarray]] = []
        start = 0
        for r in requests:
            rows = _rows(r)
            results.append({name: value[start : start + rows] for name, value in outputs.items()})
            start += rows
        t3 = time.perf_counter_ns()
        self.stats.record_execution(_rows(batch), t1 - t0, t2 - t1, t3 - t2)
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
        self.stats.pending_requests = len(self._queue)
        return batch

    async def _fill_window(self) -> None:
        """Waits until the batch is full or the oldest request's window has closed."""
        deadline = self._queue[0].enqueued_ns + int(self.window_s * 1e9)
        while self._queued_rows < self.max_batch_size:
            remaining = (deadline - time.perf_counter_ns()) / 1e9
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return

    async def _loop(self) -> None:
        free = self._free_instances()
        while True:
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
                continue
            instance = await free.get()
            if self._queue:
                await self._fill_window()
            batch = self._take_batch()
            if not batch:
                free.put_nowait(instance)
                continue
            task = asyncio.get_running_loop().create_task(self._execute(instance, batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _execute(self, instance: Runner, batch: list[_Pending]) -> None:
        oldest = min(p.enqueued_ns for p in batch)
        try:
            results, timings = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run, instance, [p.inputs for p in batch], oldest
            )
        except Exception as exc:
            for p in batch:
                self.stats.record_request(ok=False, total_ns=time.perf_counter_ns() - p.enqueued_ns)
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        finally:
            self._free_instances().put_nowait(instance)
        for p, result in zip(batch, results, strict=False):
            if not p.future.done():
                p.future.set_result(result)
                # The batch started queue_ns after its oldest request, less after later ones.
                queued = timings.queue_ns - (p.enqueued_ns - oldest)
                self._record(p.enqueued_ns, _Timings(queued, timings.input_ns, timings.infer_ns, timings.output_ns))
