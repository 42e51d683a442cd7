"""The layout benchmark runs (`--smoke`) and reports every measurement."""

from __future__ import annotations

import json
from pathlib import Path

from tests.real_stack import run_benchmark


def test_bench_layout_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = run_benchmark("bench_layout.py", "--smoke", "--json", str(out), timeout=120)
    assert "offline cold" in result.stdout and "llm llm_path_grpc" in result.stdout
    results = json.loads(out.read_text())
    assert set(results["offline"]) == {
        "cold",
        "editing",
        "largest_request_cold",
        "cold_cpu",
        "editing_cpu",
        "largest_request_cold_cpu",
    }
    assert {"llm_path_in_process", "llm_path_grpc", "offline_grpc"} <= set(results["llm"])
    for group in ("offline", "llm"):
        for stats in results[group].values():
            assert stats["n"] >= 10 and 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]
