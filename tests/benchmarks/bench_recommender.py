"""Recommender benchmark: Recommend over gRPC at several concurrencies with dynamic batching on and
off, ModelInfer through tritonclient, and the seed's way (PyTorch eager, one request at a time,
in-process) as the baseline.

    .venv/bin/python tests/benchmarks/bench_recommender.py            # full run (~2.5 min)
    .venv/bin/python tests/benchmarks/bench_recommender.py --smoke    # a few seconds, for tests

Each server runs as its own process (marquee.local_stack), one at a time; the load generator
is this process (grpc.aio, one coroutine per concurrent caller), on the same machine. Histories
are random: 5 to 200 movies the model knows, k = 10.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import grpc  # noqa: E402

from marquee.local_stack import LocalStack  # noqa: E402
from marquee.v1 import recommender_pb2 as rec  # noqa: E402
from marquee.v1 import recommender_pb2_grpc as rec_grpc  # noqa: E402
from recommender_server.config import DEFAULT_MODEL_REPOSITORY  # noqa: E402

WINDOW = 200
K = 10


@dataclass
class Result:
    scenario: str
    concurrency: int
    requests: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    mean_ms: float


def _summary(scenario: str, concurrency: int, latencies: list[float], seconds: float) -> Result:
    ms = np.array(latencies) * 1000
    return Result(
        scenario,
        concurrency,
        len(ms),
        round(seconds, 2),
        round(len(ms) / seconds, 1),
        round(float(np.percentile(ms, 50)), 3),
        round(float(np.percentile(ms, 99)), 3),
        round(float(ms.mean()), 3),
    )


def histories(labels: np.ndarray, count: int, seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [rng.choice(labels, size=int(rng.integers(5, WINDOW + 1)), replace=False).tolist() for _ in range(count)]


async def closed_loop(
    call: Callable[[int], Awaitable[object]], concurrency: int, seconds: float, warmup: float
) -> tuple[list[float], float]:
    """`concurrency` callers, each sending its next request when the last one returns."""
    latencies: list[float] = []
    measuring = False
    stop_at = time.perf_counter() + warmup + seconds

    async def caller(worker: int) -> None:
        i = worker
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await call(i)
            if measuring:
                latencies.append(time.perf_counter() - started)
            i += concurrency

    tasks = [asyncio.create_task(caller(w)) for w in range(concurrency)]
    await asyncio.sleep(warmup)
    measuring = True
    began = time.perf_counter()
    await asyncio.gather(*tasks)
    return latencies, time.perf_counter() - began


async def bench_recommend(
    address: str,
    scenario: str,
    requests: list[rec.RecommendRequest],
    concurrencies: Sequence[int],
    seconds: float,
    warmup: float,
) -> list[Result]:
    results = []
    async with grpc.aio.insecure_channel(address) as channel:
        stub = rec_grpc.RecommenderServiceStub(channel)
        for concurrency in concurrencies:
            latencies, took = await closed_loop(
                lambda i: stub.Recommend(requests[i % len(requests)]), concurrency, seconds, warmup
            )
            results.append(_summary(scenario, concurrency, latencies, took))
            print(json.dumps(asdict(results[-1])), flush=True)
    return results


async def bench_model_infer(
    address: str,
    windows: np.ndarray,
    concurrencies: Sequence[int],
    seconds: float,
    warmup: float,
    *,
    scenario: str = "ModelInfer (tritonclient, classification k=10), batching on",
    class_count: int = K,
    server_side: dict[tuple[str, int], tuple[float, float]] | None = None,
) -> list[Result]:
    """ModelInfer through `tritonclient.grpc.aio` at each concurrency, one window a request: the
    classification top `class_count`, or the full scores with 0. Where the server reports KServe
    statistics (Marquee, Triton) and `server_side` is given, also its own mean request duration
    and compute time per request, in ms."""
    import tritonclient.grpc.aio as triton_aio
    from tritonclient.grpc import InferInput, InferRequestedOutput

    inputs = []
    for row in windows:
        tensor = InferInput("movie_ids", [1, WINDOW], "INT64")
        tensor.set_data_from_numpy(row[None])
        inputs.append([tensor])
    outputs = [InferRequestedOutput("scores", class_count=class_count)]
    results = []
    client = triton_aio.InferenceServerClient(address)
    try:
        for concurrency in concurrencies:
            before = await _server_statistics(client)
            latencies, took = await closed_loop(
                lambda i: client.infer("sasrec", inputs[i % len(inputs)], outputs=outputs), concurrency, seconds, warmup
            )
            results.append(_summary(scenario, concurrency, latencies, took))
            print(json.dumps(asdict(results[-1])), flush=True)
            after = await _server_statistics(client)
            if server_side is not None and before and after and after[0] > before[0]:
                count = after[0] - before[0]
                server_side[(scenario, concurrency)] = (
                    (after[1] - before[1]) / count / 1e6,
                    (after[2] - before[2]) / count / 1e6,
                )
    finally:
        await client.close()
    return results


async def _server_statistics(client) -> tuple[int, int, int] | None:
    """(requests, their total ns, their compute-infer ns) as the server counts them, if it does."""
    try:
        stats = (await client.get_inference_statistics("sasrec")).model_stats[0].inference_stats
    except Exception:  # MLServer and KServe's Python server do not implement ModelStatistics
        return None
    return stats.success.count, stats.success.ns, stats.compute_infer.ns


def padded_windows(histories: list[list[int]]) -> np.ndarray:
    """The histories left-padded with 0 to the model's window, as the served model takes them."""
    windows = np.zeros((len(histories), WINDOW), dtype=np.int64)
    for row, history in enumerate(histories):
        windows[row, WINDOW - len(history) :] = history
    return windows


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """The load options every recommender benchmark takes."""
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])


def machine_line(started: float) -> str:
    """What the figures depend on: the machine, how busy it was, how long the run took."""
    load = os.getloadavg()
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; "
        f"took {time.perf_counter() - started:.0f} s"
    )


def seed_style_model(num_items: int, hidden: int = 50, blocks: int = 2, maxlen: int = WINDOW):
    """A timing replica of the seed's recommender: the SASRec reference implementation's layout
    at the seed's size (hidden 50, 2 blocks, 1 head, window 200), written from its description:
    nn.MultiheadAttention over the whole window with keys from the un-normalised sequence, a
    Conv1d point-wise feed-forward, and scores for every movie from item-embedding look-ups.
    Random weights: it measures cost, not quality."""
    import torch
    from torch import nn

    class SeedBlock(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn_norm = nn.LayerNorm(hidden, eps=1e-8)
            self.attn = nn.MultiheadAttention(hidden, 1, dropout=0.2)
            self.ffn_norm = nn.LayerNorm(hidden, eps=1e-8)
            self.conv1 = nn.Conv1d(hidden, hidden, kernel_size=1)
            self.conv2 = nn.Conv1d(hidden, hidden, kernel_size=1)
            self.dropout = nn.Dropout(0.2)

        def forward(self, seqs, causal, padding):
            seqs = seqs.transpose(0, 1)
            queries = self.attn_norm(seqs)
            attended, _ = self.attn(queries, seqs, seqs, attn_mask=causal)
            seqs = (queries + attended).transpose(0, 1)
            seqs = self.ffn_norm(seqs)
            inner = self.dropout(torch.relu(self.conv1(self.dropout(seqs).transpose(-1, -2))))
            seqs = seqs + self.dropout(self.conv2(inner)).transpose(-1, -2)
            return seqs * ~padding.unsqueeze(-1)

    class SeedSASRec(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.item_emb = nn.Embedding(num_items + 1, hidden, padding_idx=0)
            self.pos_emb = nn.Embedding(maxlen + 1, hidden, padding_idx=0)
            self.blocks = nn.ModuleList(SeedBlock() for _ in range(blocks))
            self.last_norm = nn.LayerNorm(hidden, eps=1e-8)

        def forward(self, items, candidates):
            seqs = self.item_emb(items) * hidden**0.5
            positions = torch.arange(1, items.shape[1] + 1).unsqueeze(0) * (items != 0)
            seqs = seqs + self.pos_emb(positions)
            padding = items == 0
            seqs = seqs * ~padding.unsqueeze(-1)
            causal = ~torch.tril(torch.ones(items.shape[1], items.shape[1], dtype=torch.bool))
            for block in self.blocks:
                seqs = block(seqs, causal, padding)
            final = self.last_norm(seqs)[:, -1, :]
            return self.item_emb(candidates).matmul(final.unsqueeze(-1)).squeeze(-1)

    return SeedSASRec().eval()


def bench_eager(checkpoint: Path, windows: np.ndarray, seconds: float, warmup: float, kind: str) -> Result:
    """PyTorch in-process, one request at a time, top-k included, on both cores.

    kind "seed": the seed's model layout (see seed_style_model), the issue's baseline;
    "full": this model over the whole window; "optimised": this model with the served graph's
    shortcuts (padding columns cropped, last block on the last slot only)."""
    import torch

    from recommender_server.training.onnx_export import RawIdSASRec, load_checkpoint

    torch.set_num_threads(os.cpu_count() or 1)
    model, movie_ids, _ = load_checkpoint(checkpoint)
    wrapped = RawIdSASRec(model, movie_ids).eval()
    table = wrapped.index_of_id
    seed = seed_style_model(len(movie_ids))
    every_item = torch.arange(1, len(movie_ids) + 1)

    def full_window(ids: torch.Tensor) -> torch.Tensor:
        hidden = model(table[ids.clamp(0, wrapped.max_id)])[:, -1, :]
        return hidden @ model.item_weights().T

    def seed_way(ids: torch.Tensor) -> torch.Tensor:
        return seed(table[ids.clamp(0, wrapped.max_id)], every_item)

    score = {"seed": seed_way, "full": full_window, "optimised": wrapped}[kind]
    latencies: list[float] = []
    with torch.inference_mode():
        stop_at = time.perf_counter() + warmup + seconds
        began = None
        i = 0
        while time.perf_counter() < stop_at:
            if began is None and time.perf_counter() >= stop_at - seconds:
                began = time.perf_counter()
                latencies.clear()
            started = time.perf_counter()
            scores = score(torch.from_numpy(windows[i % len(windows)][None]))
            torch.topk(scores, K)
            latencies.append(time.perf_counter() - started)
            i += 1
    name = {
        "seed": "PyTorch eager in-process, one at a time: the seed's model layout (baseline)",
        "full": "PyTorch eager, this model over the whole window",
        "optimised": "PyTorch eager, this model with the served graph's shortcuts",
    }[kind]
    return _summary(name, 1, latencies, time.perf_counter() - (began or stop_at - seconds))


def start_server(repository: Path, log_dir: Path, extra: list[str]) -> LocalStack:
    stack = LocalStack(
        {"recommender": ["--model-repository", str(repository), "--log-level", "warning", "--no-metrics", *extra]},
        log_dir,
        grace_period=3.0,
    )
    return stack.start(timeout=180)


def table(results: list[Result]) -> str:
    lines = [
        "| scenario | concurrency | requests | req/s | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.scenario} | {r.concurrency} | {r.requests} | {r.throughput:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} |"
        )
    return "\n".join(lines)


def check_targets(results: list[Result]) -> list[str]:
    """The issue's targets, each with a verdict."""

    def find(prefix: str, concurrency: int) -> Result | None:
        return next((r for r in results if r.scenario.startswith(prefix) and r.concurrency == concurrency), None)

    lines = []
    single = find("Recommend, dynamic batching on", 1)
    busy = find("Recommend, dynamic batching on", 64)
    eager = find("PyTorch eager in-process", 1)
    own_eager = find("PyTorch eager, this model with", 1)
    if single:
        lines.append(
            f"single request p50 {single.p50_ms:.2f} ms (target <= 2 ms): {'met' if single.p50_ms <= 2 else 'MISSED'}"
        )
    if busy:
        lines.append(
            f"concurrency 64: {busy.throughput:,.0f} req/s (target >= 1,500), p99 "
            f"{busy.p99_ms:.1f} ms (target <= 50): "
            f"{'met' if busy.throughput >= 1500 and busy.p99_ms <= 50 else 'MISSED'}"
        )
        if eager:
            ratio = busy.throughput / eager.throughput
            lines.append(
                f"concurrency 64 vs the seed's way (PyTorch eager, in-process, no RPC): {ratio:.1f}x (context)"
            )
        if own_eager:
            lines.append(
                f"concurrency 64 vs this model in eager with the same shortcuts: "
                f"{busy.throughput / own_eager.throughput:.1f}x (no target)"
            )
    return lines


async def run(args: argparse.Namespace) -> list[Result]:
    repository: Path = args.model_repository
    labels = np.array((repository / "sasrec" / "movie_ids.txt").read_text().split(), dtype=np.int64)
    hist = histories(labels, 512)
    requests = [rec.RecommendRequest(watched_movie_ids=h, k=K) for h in hist]
    windows = padded_windows(hist)
    concurrencies = [1, 4] if args.smoke else args.concurrency
    seconds, warmup = (1.0, 0.3) if args.smoke else (args.seconds, args.warmup)
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        batching = ["--batch-window-ms", str(args.window_ms)] if args.window_ms is not None else []
        for label, extra in (("on", batching), ("off", ["--no-dynamic-batching"])):
            stack = start_server(repository, Path(tmp) / label, extra)
            try:
                address = stack.addresses()["recommender"]
                results += await bench_recommend(
                    address, f"Recommend, dynamic batching {label}", requests, concurrencies, seconds, warmup
                )
                if label == "on":
                    results += await bench_model_infer(address, windows, concurrencies, seconds, warmup)
            finally:
                stack.stop()
    for kind in ("seed", "full", "optimised"):
        results.append(bench_eager(args.checkpoint, windows, seconds, warmup, kind))
        print(json.dumps(asdict(results[-1])), flush=True)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="1 s per scenario at concurrency 1 and 4")
    add_load_options(p)
    p.add_argument("--window-ms", type=float, help="batch window (default: the model config's)")
    p.add_argument("--model-repository", type=Path, default=DEFAULT_MODEL_REPOSITORY)
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=DEFAULT_MODEL_REPOSITORY.parent / "training" / "trained" / "sasrec_ml1m.pt",
        help="PyTorch weights of the served model, for the eager baseline",
    )
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    started = time.perf_counter()
    results = asyncio.run(run(args))
    print()
    print(machine_line(started))
    print(table(results))
    print()
    for line in check_targets(results):
        print(line)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
