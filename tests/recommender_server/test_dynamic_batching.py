"""Dynamic batching: concurrent requests inside the window share one run; each gets its rows."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from recommender_server.dynamic_batching import DynamicBatcher
from recommender_server.inference_statistics import ModelStatistics


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
    model = RecordingModel()
    batcher = _batcher(model, window_s=0.2)
    batcher.start()
    try:
        started = time.perf_counter()
        early = asyncio.ensure_future(batcher.infer({"x": np.zeros((1, 3), np.float32)}))
        await asyncio.sleep(0.05)
        late = asyncio.ensure_future(batcher.infer({"x": np.ones((1, 3), np.float32)}))
        await asyncio.gather(early, late)
        waited = time.perf_counter() - started
    finally:
        await batcher.close()
    assert model.batch_sizes == [2]
    assert waited >= 0.19


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


async def test_instances_run_batches_in_parallel() -> None:
    first, second = RecordingModel(delay=0.2), RecordingModel(delay=0.2)
    batcher = DynamicBatcher([first, second], ModelStatistics("m", "1"), max_batch_size=8,
                             window_s=0.0)
    batcher.start()
    try:
        started = time.perf_counter()
        early = asyncio.ensure_future(batcher.infer({"x": np.zeros((1, 3), np.float32)}))
        await asyncio.sleep(0.05)  # the first instance is busy now
        late = await batcher.infer({"x": np.ones((1, 3), np.float32)})
        await early
        took = time.perf_counter() - started
    finally:
        await batcher.close()
    assert first.batch_sizes == [1] and second.batch_sizes == [1]
    assert (late["y"] == 2).all()
    assert took < 0.35, f"the two runs did not overlap ({took:.2f} s)"
