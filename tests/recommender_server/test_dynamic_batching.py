"""Dynamic batching: concurrent requests inside the window share one run; each gets its rows."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from recommender_server.dynamic_batching import DynamicBatcher
from recommender_server.model_statistics import ModelStatistics


class RecordingModel:
    """Doubles its input; remembers the batch sizes it ran."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.batch_sizes: list[int] = []
        self.threads: set[str] = set()
        self.delay = delay
        self.fail = fail

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        if self.fail:
            raise RuntimeError("the model broke")
        x = inputs["x"]
        self.batch_sizes.append(x.shape[0])
        return {"y": x * 2}


async def _requests(batcher: DynamicBatcher, count: int, rows: int = 1) -> list[np.ndarray]:
    calls = [batcher.infer({"x": np.full((rows, 3), i, dtype=np.float32)}) for i in range(count)]
    return [r["y"] for r in await asyncio.gather(*calls)]


def _batcher(model: RecordingModel, **kwargs) -> DynamicBatcher:
    options = {"max_batch_size": 8, "window_s": 0.05, "enabled": True} | kwargs
    return DynamicBatcher(model, ModelStatistics("m", "1"), **options)


async def test_concurrent_requests_run_as_one_batch() -> None:
    model = RecordingModel()
    batcher = _batcher(model)
    batcher.start()
    try:
        results = await _requests(batcher, 5)
    finally:
        await batcher.close()
    assert model.batch_sizes == [5]
    for i, y in enumerate(results):
        assert y.shape == (1, 3) and (y == 2 * i).all()  # each caller gets its own row back
    assert model.threads == {t for t in model.threads if t.startswith("onnxruntime")}
    stats = batcher.stats.proto()
    assert stats.execution_count == 1 and stats.inference_count == 5
    assert stats.inference_stats.success.count == 5
    assert [b.batch_size for b in stats.batch_stats] == [5]


async def test_batches_never_exceed_the_maximum() -> None:
    model = RecordingModel()
    batcher = _batcher(model, max_batch_size=4)
    batcher.start()
    try:
        results = await _requests(batcher, 6, rows=2)
    finally:
        await batcher.close()
    assert sorted(model.batch_sizes) == [4, 4, 4]
    assert [float(y[0, 0]) for y in results] == [2.0 * i for i in range(6)]


async def test_requests_arriving_during_a_run_form_the_next_batch() -> None:
    model = RecordingModel(delay=0.1)
    batcher = _batcher(model, window_s=0.0)
    batcher.start()
    try:
        first = asyncio.ensure_future(batcher.infer({"x": np.zeros((1, 3), np.float32)}))
        await asyncio.sleep(0.03)  # the first run is under way
        rest = await _requests(batcher, 4)
        await first
    finally:
        await batcher.close()
    assert model.batch_sizes == [1, 4]
    assert len(rest) == 4


async def test_window_waits_for_more_requests() -> None:
    """A batch that is not full waits for its window: requests that arrive inside it, the later
    ones too, join the first; the window then closes and a lone request runs alone."""
    model = RecordingModel()
    batcher = _batcher(model, window_s=0.5)
    batcher.start()
    try:
        early = asyncio.ensure_future(batcher.infer({"x": np.zeros((1, 3), np.float32)}))
        await asyncio.sleep(0.05)
        later = asyncio.ensure_future(batcher.infer({"x": np.ones((1, 3), np.float32)}))
        await asyncio.sleep(0.05)
        assert model.batch_sizes == []  # two rows of eight: still waiting for more
        last = asyncio.ensure_future(batcher.infer({"x": np.full((1, 3), 2, np.float32)}))
        results = await asyncio.gather(early, later, last)
        alone = await batcher.infer({"x": np.full((1, 3), 3, np.float32)})
    finally:
        await batcher.close()
    assert model.batch_sizes == [3, 1]
    assert [float(r["y"][0, 0]) for r in results] == [0.0, 2.0, 4.0] and float(alone["y"][0, 0]) == 6.0


async def test_a_full_batch_does_not_wait_for_the_window() -> None:
    model = RecordingModel()
    batcher = _batcher(model, max_batch_size=2, window_s=600.0)
    batcher.start()
    try:
        early = asyncio.ensure_future(batcher.infer({"x": np.zeros((1, 3), np.float32)}))
        await asyncio.sleep(0.05)
        assert model.batch_sizes == []  # one row of two: waiting
        # The second row fills the batch: it runs now, not when the ten-minute window closes.
        late = await batcher.infer({"x": np.ones((1, 3), np.float32)})
        await early
    finally:
        await batcher.close()
    assert model.batch_sizes == [2]
    assert (late["y"] == 2).all()


async def test_disabled_batching_runs_each_request_alone() -> None:
    model = RecordingModel()
    batcher = _batcher(model, enabled=False)
    batcher.start()
    try:
        results = await _requests(batcher, 4)
    finally:
        await batcher.close()
    assert model.batch_sizes == [1, 1, 1, 1]
    assert [float(y[0, 0]) for y in results] == [0.0, 2.0, 4.0, 6.0]


async def test_a_failed_run_fails_every_request_of_its_batch() -> None:
    batcher = _batcher(RecordingModel(fail=True))
    batcher.start()
    try:
        with pytest.raises(RuntimeError, match="the model broke"):
            await _requests(batcher, 3)
    finally:
        await batcher.close()
    assert batcher.stats.proto().inference_stats.fail.count == 3


class MeetingModel(RecordingModel):
    """An instance whose run waits until the other instance is running too: both runs overlap
    only if the instances run in parallel (otherwise the wait times out and says so)."""

    def __init__(self) -> None:
        super().__init__()
        self.running = threading.Event()
        self.other: MeetingModel | None = None
        self.met: list[bool] = []

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.running.set()
        assert self.other is not None
        self.met.append(self.other.running.wait(timeout=30))
        return super().run(inputs)


async def test_instances_run_batches_in_parallel() -> None:
    first, second = MeetingModel(), MeetingModel()
    first.other, second.other = second, first
    batcher = DynamicBatcher([first, second], ModelStatistics("m", "1"), max_batch_size=8, window_s=0.0)
    batcher.start()
    try:
        early = asyncio.ensure_future(batcher.infer({"x": np.zeros((1, 3), np.float32)}))
        await asyncio.sleep(0.05)  # the first instance is busy now
        late = await batcher.infer({"x": np.ones((1, 3), np.float32)})
        await early
    finally:
        await batcher.close()
    assert first.batch_sizes == [1] and second.batch_sizes == [1]
    assert (late["y"] == 2).all()
    assert first.met == [True] and second.met == [True], "the two runs did not overlap"


class GatedModel(RecordingModel):
    """Runs only when released, so a test can look at the queue while the instance is busy."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.started.set()
        assert self.release.wait(timeout=30)
        return super().run(inputs)


@pytest.mark.parametrize("enabled", [True, False])
async def test_pending_requests_count_those_waiting_for_the_busy_instance(enabled: bool) -> None:
    """Triton's nv_inference_pending_request_count: accepted, not yet executing."""
    model = GatedModel()
    batcher = _batcher(model, window_s=0.0, enabled=enabled)
    batcher.start()
    try:
        first = asyncio.ensure_future(batcher.infer({"x": np.zeros((1, 3), np.float32)}))
        await asyncio.get_running_loop().run_in_executor(None, model.started.wait, 30)
        assert batcher.stats.pending_requests == 0  # the first one is executing
        waiting = [asyncio.ensure_future(batcher.infer({"x": np.ones((1, 3), np.float32)})) for _ in range(3)]
        await asyncio.sleep(0)  # let them reach the queue
        assert batcher.stats.pending_requests == 3
        assert batcher.stats.snapshot()["pending_requests"] == 3
        model.release.set()
        await asyncio.gather(first, *waiting)
    finally:
        model.release.set()
        await batcher.close()
    assert batcher.stats.pending_requests == 0
