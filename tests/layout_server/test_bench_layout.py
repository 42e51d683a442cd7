"""The layout benchmark runs (`--smoke`) and reports every measurement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bench_layout_smoke(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(repo_root / "tests" / "benchmarks" / "bench_layout.py"), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=repo_root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
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
