"""`bench_render.py --smoke` runs end to end (server subprocess, tiny pipeline) and reports sane numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.real_stack import run_benchmark

pytest.importorskip("torch")


def test_bench_render_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = run_benchmark("bench_render.py", "--smoke", "--json", str(out))
    assert "| 64² |" in done.stdout
    [result] = json.loads(out.read_text())["results"]
    assert result["size"] == 64
    # Slopes from single short runs can come out anywhere on a busy machine: only check they exist.
    for key in (
        "direct_seconds_per_step",
        "grpc_seconds_per_step",
        "direct_cpu_seconds_per_step",
        "grpc_cpu_seconds_per_step",
    ):
        assert math.isfinite(result[key]), key
    for key in (
        "preview_on_worker_seconds",
        "preview_encoding_seconds",
        "first_preview_seconds_interval_1",
        "image_seconds_grpc",
    ):
        assert result[key] > 0, key
    # Correctness, not speed: every cancelled job stopped within one step of the request.
    assert result["cancels"] >= 2 and result["cancels_within_one_step"] == result["cancels"]
