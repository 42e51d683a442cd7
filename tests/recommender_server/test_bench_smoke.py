"""The benchmark script runs end to end in its quick mode and measures every scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_benchmark_smoke(repo_root: Path, tmp_path: Path, committed_repository: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            str(repo_root / "tests" / "benchmarks" / "bench_recommender.py"),
            "--smoke",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=repo_root,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    scenarios = {(r["scenario"].split(",")[0].split(" (")[0], r["concurrency"]) for r in results}
    assert {
        ("Recommend", 1),
        ("Recommend", 4),
        ("ModelInfer", 1),
        ("ModelInfer", 4),
        ("PyTorch eager in-process", 1),
        ("PyTorch eager", 1),
    } <= scenarios
    assert len([r for r in results if r["scenario"].startswith("PyTorch eager")]) == 3
    for r in results:
        assert r["requests"] > 0 and r["throughput"] > 0 and 0 < r["p50_ms"] <= r["p99_ms"], r
    assert "| scenario | concurrency |" in done.stdout
    assert "single request p50" in done.stdout
