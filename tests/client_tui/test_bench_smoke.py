"""`bench_client.py --smoke` runs (start-up in tmux, search against the real recommender, a
preview stream against typing) and reports every figure; no key is lost under the stream."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_client.py"


def test_bench_client_smoke(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json", str(out)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(out.read_text())
    start, search, previews = figures["start"], figures["search"], figures["previews"]
    # This checks that the measurement works; how fast is the benchmark's business, not a test's.
    assert 0 < start["first_frame_s"]["max"] < float("inf")
    assert start["first_key_echoed_s"]["max"] >= start["first_frame_s"]["max"]
    assert search["keystrokes"] == len("toy story") and search["key_to_results_ms"]["max"] > 0
    assert previews["keys_lost"] == 0
    assert previews["frames_offered"] == previews["frames_shown"] + previews["frames_dropped"]
    assert previews["frames_shown"] >= 1
