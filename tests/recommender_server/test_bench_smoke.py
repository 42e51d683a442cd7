"""The benchmark script runs end to end in its quick mode and measures every scenario."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.real_stack import run_benchmark


def test_benchmark_smoke(tmp_path: Path, committed_repository: Path) -> None:
    out = tmp_path / "bench.json"
    done = run_benchmark("bench_recommender.py", "--smoke", "--json", str(out))
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


def _benchmark_module(name: str):
    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    for path in (folder, folder / "peers"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    return importlib.import_module(name)


def test_peer_benchmark_smoke(tmp_path: Path) -> None:
    """Marquee alone (the peers install from PyPI, which make bench does): the bare onnxruntime
    reference, both output modes through tritonclient, the table and the verdicts."""
    out = tmp_path / "peers.json"
    done = run_benchmark("bench_peers.py", "--smoke", "--json", str(out))
    report = json.loads(out.read_text())
    scenarios = {(r["scenario"], r["concurrency"]) for r in report["results"]}
    assert {("Marquee, scores", 1), ("Marquee, scores", 4), ("Marquee, top-10", 1), ("Marquee, top-10", 4)} <= scenarios
    bare = [r["scenario"] for r in report["results"] if r["scenario"].startswith("bare onnxruntime, one row")]
    assert len(bare) == 2 and bare[1].endswith("ms idle before each"), bare
    for r in report["results"]:
        assert r["requests"] > 0 and 0 < r["p50_ms"] <= r["p99_ms"], r
    assert not [n for n in report["notes"] if "not measured" in n or "differ" in n], report["notes"]
    assert any(n.startswith("Marquee, scores at concurrency 1, as the server counts it") for n in report["notes"])
    assert "| scenario | concurrency |" in done.stdout
    assert "single request p50" in done.stdout


def test_a_peer_that_cannot_install_is_reported_with_the_reason(tmp_path: Path) -> None:
    peer_servers = _benchmark_module("peer_servers")
    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\necho 'error: No solution found when resolving dependencies' >&2\nexit 2\n")
    uv.chmod(0o755)
    peer = peer_servers.PEERS["MLServer (custom runtime)"]
    with pytest.raises(peer_servers.PeerUnavailable, match=r"could not install mlserver==.*No solution found"):
        peer_servers.environment(peer, tmp_path / "environments", uv=str(uv))


def test_peers_answer_classification_as_marquee_does(committed_repository: Path) -> None:
    """The peers' top-k reply (they cannot import Marquee) is byte for byte the recommender's."""
    onnx_model = _benchmark_module("onnx_model")
    from recommender_server.kserve_servicer import classification_strings

    labels_path = committed_repository / "sasrec" / "movie_ids.txt"
    labels = labels_path.read_text().split()
    scorer = onnx_model.Scorer.__new__(onnx_model.Scorer)
    scorer.labels = np.array(labels)
    scores = np.random.default_rng(0).normal(size=(3, len(labels))).astype(np.float32)
    scores[1, :20] = 5.0  # ties: both keep the lower index first
    for k in (1, 10):
        assert scorer.top(scores, k).ravel().tolist() == classification_strings(scores, k, labels)
    assert onnx_model.classification_count({"classification": [10, 10]}) == 10
    assert onnx_model.classification_count(None) == 0


def test_length_groups_benchmark_smoke(tmp_path: Path, committed_repository: Path) -> None:
    out = tmp_path / "groups.json"
    done = run_benchmark("bench_length_groups.py", "--smoke", "--json", str(out))
    results = json.loads(out.read_text())
    assert {(r["rows"], r["length_groups"]) for r in results} == {(n, g) for n in (16, 64) for g in (1, 2, 3, 4)}
    for r in results:
        assert r["ms_per_batch"] > 0 and 1 <= r["groups_used"] <= r["length_groups"], r
    # 64 random histories of 5 to 200 movies do split; the whole batch is its own baseline.
    assert any(r["groups_used"] > 1 for r in results if r["rows"] == 64)
    assert all(r["vs_whole"] == 1 for r in results if r["length_groups"] == 1)
    assert "| rows | --length-groups |" in done.stdout
