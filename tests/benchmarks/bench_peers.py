"""Marquee's recommender against real Triton and the Python model servers, side by side, in one run.

    .venv/bin/python tests/benchmarks/bench_peers.py            # full run (~8 min after installs)
    .venv/bin/python tests/benchmarks/bench_peers.py --smoke    # a few seconds, Marquee alone

Every server serves the same ONNX file (the model repository's sasrec) on this machine, one at a
time: (a) Marquee's recommender server; (b) a real Triton Inference Server, the `tritonserver`
binary of `nvidia-pytriton`, Python backend running onnxruntime, dynamic batching on; (c) MLServer
with a custom runtime and adaptive batching; (d) KServe's Python model server; and (e) a
zero-compute KServe server that answers zeros, which measures what the protocol and the client
cost alone. (b) to (e) use Marquee's onnxruntime session options and run from their own virtual
environments (they pin other protobuf and gRPC versions), created here under .bench/peers with
uv; a peer that cannot install or start is reported with the reason, never skipped silently.

One load generator for all (`tritonclient.grpc.aio`, a closed loop of `concurrency` callers, in
this process) sends ModelInfer for the full `scores` output and, separately, the classification
top 10. Also measured: one bare onnxruntime call for one row, in this process, back to back
(the reference of the goals) and after the idle gap a server has between one caller's requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS.parents[1]
for folder in (REPO_ROOT, BENCHMARKS):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from bench_recommender import (  # noqa: E402
    WINDOW,
    Result,
    _summary,
    add_load_options,
    bench_model_infer,
    histories,
    machine_line,
    padded_windows,
    table,
)
from peer_servers import PEERS, PeerUnavailable, session_options_json, start_peer  # noqa: E402

from marquee.local_stack import LocalStack  # noqa: E402
from recommender_server.config import DEFAULT_MODEL_REPOSITORY  # noqa: E402

MODES = {"scores": 0, "top-10": 10}
MARQUEE = "Marquee"
# About the gap between one caller's requests as the server sees it here (a round trip, less
# the server's own time): the second bare reference sleeps this long before each call.
IDLE_BETWEEN_CALLS_MS = 2.5


def served_answer(address: str, window: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """One request in each mode: the scores and the top-10 movie ids as the server labels them,
    so the run checks that every server computes the same thing before timing it."""
    import tritonclient.grpc as triton

    client = triton.InferenceServerClient(address)
    try:
        tensor = triton.InferInput("movie_ids", [1, WINDOW], "INT64")
        tensor.set_data_from_numpy(window[None])
        scores = client.infer("sasrec", [tensor], outputs=[triton.InferRequestedOutput("scores")]).as_numpy("scores")
        top = client.infer("sasrec", [tensor], outputs=[triton.InferRequestedOutput("scores", class_count=10)])
        indices = [entry.decode().split(":")[1] for entry in top.as_numpy("scores")[0]]
    finally:
        client.close()
    return scores[0], indices


def per_model_metrics(port: int | None) -> dict[str, set[str]]:
    """Triton's per-model families (`nv_inference_*`) on a /metrics page, with their label names."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    if port is None:
        return {}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
            text = page.read().decode()
    except OSError:
        return {}
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("nv_inference_"):
            labels = found.setdefault(family.name, set())
            for sample in family.samples:
                labels.update(sample.labels)
    return found


def metrics_verdict(triton: dict[str, set[str]], marquee: dict[str, set[str]]) -> str:
    """Whether Triton's dashboards would find on Marquee every per-model family real Triton exports."""
    missing = sorted(set(triton) - set(marquee))
    labels = sorted(
        f"{name}{{{','.join(sorted(triton[name] - marquee[name]))}}}"
        for name in set(triton) & set(marquee)
        if triton[name] - marquee[name]
    )
    if not missing and not labels:
        return (
            f"/metrics: Marquee exports all {len(triton)} per-model families real Triton exported here, with its labels"
        )
    return f"/metrics: Triton families Marquee lacks: {missing or 'none'}; labels it lacks: {labels or 'none'}"


def bare_onnxruntime(model: Path, windows: np.ndarray, seconds: float, warmup: float, idle_ms: float = 0.0) -> Result:
    """One row per call, in this process, with the faster of Marquee's two session kinds (one
    intra-op thread, as its small-batch session, or all cores): the strictest reference. With
    `idle_ms` the process sleeps that long before each call, as a server does between one
    caller's requests (its CPU goes idle and the call starts cold); the call alone is timed."""
    import onnxruntime as ort

    from recommender_server.onnx_runner import session_options

    best: Result | None = None
    for threads in (1, os.cpu_count() or 1):
        session = ort.InferenceSession(str(model), session_options(threads), providers=["CPUExecutionProvider"])
        latencies: list[float] = []
        stop_at = time.perf_counter() + warmup + seconds
        began = time.perf_counter() + warmup
        i = 0
        while time.perf_counter() < stop_at:
            if idle_ms:
                time.sleep(idle_ms / 1000)
            started = time.perf_counter()
            session.run(["scores"], {"movie_ids": windows[i % len(windows)][None]})
            if started >= began:
                latencies.append(time.perf_counter() - started)
            i += 1
        idle = f", {idle_ms:g} ms idle before each" if idle_ms else ""
        result = _summary(f"bare onnxruntime, one row, {threads} thread(s){idle}", 1, latencies, seconds)
        if best is None or result.p50_ms < best.p50_ms:
            best = result
    assert best is not None
    return best


def start_marquee(repository: Path, log_dir: Path) -> LocalStack:
    stack = LocalStack({"recommender": ["--model-repository", str(repository), "--log-level", "warning"]}, log_dir)
    return stack.start(timeout=180)


async def run(args: argparse.Namespace) -> tuple[list[Result], list[str]]:
    repository: Path = args.model_repository
    model = repository / "sasrec" / "1" / "model.onnx"
    labels_path = repository / "sasrec" / "movie_ids.txt"
    labels = np.array(labels_path.read_text().split(), dtype=np.int64)
    hist = histories(labels, 512)
    windows = padded_windows(hist)
    concurrencies = [1, 4] if args.smoke else args.concurrency
    seconds, warmup = (1.0, 0.3) if args.smoke else (args.seconds, args.warmup)
    results: list[Result] = [
        bare_onnxruntime(model, windows, seconds, warmup),
        bare_onnxruntime(model, windows, seconds, warmup, idle_ms=IDLE_BETWEEN_CALLS_MS),
    ]
    for result in results:
        print(json.dumps(asdict(result)), flush=True)
    notes: list[str] = []
    metrics: dict[str, dict[str, set[str]]] = {}
    server_side: dict[tuple[str, int], tuple[float, float]] = {}
    reference: tuple[np.ndarray, list[str]] | None = None
    options = session_options_json()
    if True:  # logs stay in .bench/logs/<server> after the run, for a peer that failed
        for name in args.servers:
            log_dir = args.environments.parent / "logs" / name.split(" ")[0].lower()
            try:
                if name == MARQUEE:
                    server = start_marquee(repository, log_dir)
                    address, stop = server.addresses()["recommender"], server.stop
                    metrics_port: int | None = server.processes["recommender"].metrics_port
                else:
                    peer = PEERS[name]
                    process = start_peer(peer, args.environments, model, labels_path, options, log_dir)
                    address, stop = process.address, process.stop
                    metrics_port = process.metrics_port if peer.kind == "triton" else None
            except PeerUnavailable as error:
                notes.append(f"{name}: not measured: {error}")
                print(notes[-1], flush=True)
                continue
            try:
                modes = ["scores"] if name.startswith("zero-compute") else list(MODES)
                if not name.startswith("zero-compute"):
                    answer = served_answer(address, windows[0])
                    reference = reference or answer
                    same = np.allclose(answer[0], reference[0], atol=1e-4) and answer[1] == reference[1]
                    if not same:
                        notes.append(f"{name}: answers differ from {args.servers[0]}'s (scores or top 10)")
                for mode in modes:
                    results += await bench_model_infer(
                        address,
                        windows,
                        concurrencies,
                        seconds,
                        warmup,
                        scenario=f"{name}, {mode}",
                        class_count=MODES[mode],
                        server_side=server_side,
                    )
                if metrics_port is not None:
                    metrics[name] = per_model_metrics(metrics_port)
            finally:
                stop()
    for (scenario, concurrency), (request_ms, infer_ms) in server_side.items():
        notes.append(
            f"{scenario} at concurrency {concurrency}, as the server counts it (ModelStatistics): "
            f"{request_ms:.3f} ms per request, of which {infer_ms:.3f} ms computing"
        )
    triton = next((m for name, m in metrics.items() if name != MARQUEE), None)
    if triton and MARQUEE in metrics:
        notes.append(metrics_verdict(triton, metrics[MARQUEE]))
    return results, notes


def verdicts(results: list[Result], concurrency: int) -> list[str]:
    """The issue's goals, each with its verdict, from this run's figures only."""

    def find(scenario: str, c: int) -> Result | None:
        return next((r for r in results if r.scenario == scenario and r.concurrency == c), None)

    lines = []
    bare = next((r for r in results if r.scenario.startswith("bare onnxruntime")), None)
    single = find(f"{MARQUEE}, scores", 1)
    if bare and single:
        ratio = single.p50_ms / bare.p50_ms
        lines.append(
            f"single request p50 {single.p50_ms:.2f} ms vs one bare onnxruntime call {bare.p50_ms:.2f} ms: "
            f"{ratio:.2f}x (goal <= 1.5x): {'met' if ratio <= 1.5 else 'MISSED'}"
        )
    for mode in MODES:
        ours = find(f"{MARQUEE}, {mode}", concurrency)
        if not ours:
            continue
        for r in results:
            if r.concurrency != concurrency or not r.scenario.endswith(f", {mode}") or r is ours:
                continue
            peer = r.scenario.rsplit(", ", 1)[0]
            if peer.startswith("zero-compute"):
                continue
            ahead = ours.throughput > r.throughput and ours.p99_ms <= r.p99_ms
            lines.append(
                f"{mode} at concurrency {concurrency}: Marquee {ours.throughput:,.0f} req/s, p99 {ours.p99_ms:.1f} ms; "
                f"{peer} {r.throughput:,.0f} req/s, p99 {r.p99_ms:.1f} ms: {'ahead' if ahead else 'NOT ahead'}"
            )
    ours, mock = find(f"{MARQUEE}, scores", concurrency), find(f"{PEERS_MOCK}, scores", concurrency)
    if ours and mock:
        share, tail = ours.throughput / mock.throughput, ours.p99_ms / mock.p99_ms
        lines.append(
            f"full scores at concurrency {concurrency} vs the zero-compute mock: {share:.2f}x its throughput "
            f"(goal >= 0.65x), p99 {tail:.2f}x its p99 (goal <= 2.5x): "
            f"{'met' if share >= 0.65 and tail <= 2.5 else 'MISSED'}"
        )
    return lines


PEERS_MOCK = next(name for name in PEERS if name.startswith("zero-compute"))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="1 s per scenario at concurrency 1 and 4, Marquee alone")
    add_load_options(p)
    p.add_argument(
        "--servers",
        nargs="+",
        choices=[MARQUEE, *PEERS],
        help=f"which servers (default: all; with --smoke, {MARQUEE} alone)",
    )
    p.add_argument(
        "--environments",
        type=Path,
        default=REPO_ROOT / ".bench" / "peers",
        help="where the peers' virtual environments are created and kept",
    )
    p.add_argument("--model-repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    args.servers = args.servers or ([MARQUEE] if args.smoke else [MARQUEE, *PEERS])
    started = time.perf_counter()
    results, notes = asyncio.run(run(args))
    print()
    print(machine_line(started))
    print(table(results))
    print()
    for line in notes + verdicts(results, max(args.concurrency if not args.smoke else [4])):
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"results": [asdict(r) for r in results], "notes": notes}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
