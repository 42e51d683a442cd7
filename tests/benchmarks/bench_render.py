"""Render benchmark: what the gRPC stream costs on top of the pipeline itself.

    .venv/bin/python tests/benchmarks/bench_render.py            # tiny pipeline on CPU (default)
    .venv/bin/python tests/benchmarks/bench_render.py --smoke    # a few seconds, for the test suite
    .venv/bin/python tests/benchmarks/bench_render.py --gpu      # SD3-M + layout, 512² and 1024², bf16

It starts the render server as a subprocess (`python -m render_server`, as an operator would),
loads the same pipeline in this process, and measures, at each size:
- seconds per step calling the pipeline directly vs through the gRPC stream (progress every step,
  no previews), in wall-clock time and in CPU time (all threads of each process; on a shared
  machine CPU time is the steadier measure). Per-step figures are the slope between a short and
  a long run, so fixed costs (text encoding, VAE decoding, PNG encoding, saving) cancel out; they
  are reported separately, with whole-image seconds at the long step count;
- preview cost: the part on the denoising thread (x0 → RGB, copy to the host) and the JPEG
  encoding (on another thread) timed on their own, and the slope with a preview every step
  minus the slope without;
- time to first preview as the client sees it (interval 1 and the default 5);
- cancelling: steps the engine ran after the request (`marquee_render_steps_after_stop`), the
  time until it stopped (`marquee_render_cancel_stop_seconds`) and until the next job ran.
Runs are interleaved and repeated; the fastest of each is reported (on a shared machine the
slower ones measure other processes). `--gpu` loads the model twice (server and this process):
about 2 × 17 GB of GPU memory in bf16.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import grpc  # noqa: E402

from marquee.local_stack import LocalStack  # noqa: E402
from marquee.v1 import common_pb2, render_pb2, render_pb2_grpc  # noqa: E402

TINY_PIPELINE = (REPO / ".." / "shared" / "fixtures" / "creatilayout" / "tiny" / "pipeline").resolve()
PROMPT = "a lone cowboy in a desert at dusk"
OBJECTS = [
    ("cowboy hat", (0.1, 0.1, 0.5, 0.6)),
    ("old horse", (0.4, 0.4, 0.95, 0.95)),
    ("setting sun", (0.6, 0.05, 0.9, 0.35)),
]
MESSAGE_LIMIT = 64 * 1024 * 1024


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and few repeats (seconds)")
    parser.add_argument("--gpu", action="store_true", help="the released model on CUDA in bf16 at 512² and 1024²")
    parser.add_argument(
        "--model", default=None, help="pipeline directory or Hub id (default: tiny fixture; --gpu: released)"
    )
    parser.add_argument("--base-model", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None)
    parser.add_argument("--sizes", default=None, help="comma-separated square sizes")
    parser.add_argument("--steps", default=None, help="short,long step counts for the per-step slope")
    parser.add_argument("--guidance", type=float, default=7.0)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--torch-threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.gpu:
        defaults = dict(
            model=None, device="cuda", dtype="bfloat16", sizes="512,1024", steps="8,28", repeats=3, torch_threads=0
        )
    elif args.smoke:
        defaults = dict(
            model=str(TINY_PIPELINE), device="cpu", dtype="float32", sizes="64", steps="2,6", repeats=1, torch_threads=1
        )
    else:
        defaults = dict(
            model=str(TINY_PIPELINE),
            device="cpu",
            dtype="float32",
            sizes="128,256",
            steps="10,40",
            repeats=5,
            torch_threads=1,
        )
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.size_list = [int(s) for s in str(args.sizes).split(",")]
    args.short, args.long = (int(s) for s in str(args.steps).split(","))
    return args


def render_request(
    size: int, steps: int, preview_interval: int, seed: int, guidance: float
) -> render_pb2.RenderRequest:
    return render_pb2.RenderRequest(
        prompt=PROMPT,
        objects=[
            render_pb2.RenderObject(phrase=p, box=common_pb2.Box(x1=b[0], y1=b[1], x2=b[2], y2=b[3]))
            for p, b in OBJECTS
        ],
        width=size,
        height=size,
        steps=steps,
        guidance=guidance,
        seed=seed,
        preview_interval=preview_interval,
    )


def process_cpu_seconds(pid: int) -> float:
    """CPU time of every thread of a process, in nanosecond resolution (Linux schedstat)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return total / 1e9


def grpc_run(stub: Any, pid: int, size: int, steps: int, preview_interval: int, guidance: float) -> dict[str, float]:
    """One job through the stream: wall time to the result and to the first preview (client side),
    and the CPU time the server process spent on it."""
    cpu = process_cpu_seconds(pid)
    started = time.perf_counter()
    first_preview = 0.0
    result = None
    for response in stub.Render(render_request(size, steps, preview_interval, 0, guidance), timeout=3600):
        kind = response.WhichOneof("event")
        if kind == "preview" and not first_preview:
            first_preview = time.perf_counter() - started
        elif kind == "result":
            result = response.result
    wall = time.perf_counter() - started
    assert result is not None, "the stream ended without a result"
    return {
        "wall": wall,
        "cpu": process_cpu_seconds(pid) - cpu,
        "first_preview": first_preview,
        "server_first_preview": result.metadata.first_preview_seconds,
    }


def direct_run(pipe: Any, size: int, steps: int, guidance: float) -> dict[str, float]:
    import torch

    cpu = process_cpu_seconds(os.getpid())
    started = time.perf_counter()
    pipe(
        PROMPT,
        layout_phrases=[p for p, _ in OBJECTS],
        layout_boxes=[list(b) for _, b in OBJECTS],
        height=size,
        width=size,
        num_inference_steps=steps,
        guidance_scale=guidance,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="pil",
    )
    return {"wall": time.perf_counter() - started, "cpu": process_cpu_seconds(os.getpid()) - cpu}


def preview_cost(pipe: Any, size: int, repeats: int) -> tuple[float, float]:
    """Seconds per preview of a latent of this size: (on the denoising thread: x0 → RGB and the
    copy to the host; on the encoder thread: upscale and JPEG)."""
    import torch

    from render_server.previews import encode_preview, torch_latent_to_rgb

    factor = pipe.vae_scale_factor
    latent = torch.randn(1, 16, size // factor, size // factor, device=pipe.device, dtype=pipe.transformer.dtype)
    on_worker, encoding = [], []
    for _ in range(max(20, repeats * 10)):
        started = time.perf_counter()
        rgb = torch_latent_to_rgb(latent)
        projected = time.perf_counter()
        encode_preview(rgb, size, size, 512)
        on_worker.append(projected - started)
        encoding.append(time.perf_counter() - projected)
    return best_of(on_worker), best_of(encoding)


def metric(metrics_text: str, name: str) -> float:
    """The sum of a metric's samples; `name` may carry its labels to pick one sample."""
    pattern = re.escape(name) if "{" in name else rf"{re.escape(name)}(?:\{{[^}}]*\}})?"
    return sum(float(m.group(1)) for m in re.finditer(rf"^{pattern} ([0-9.e+-]+)$", metrics_text, re.M))


def fetch_metrics(port: int) -> str:
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()


def cancel_runs(stub: Any, metrics_port: int, size: int, steps: int, guidance: float, repeats: int) -> dict[str, float]:
    """Cancels a long job after a few steps; the server's stop latency and the next job's start."""
    before = fetch_metrics(metrics_port)
    next_start = []
    for _ in range(repeats):
        call = stub.Render(render_request(size, steps, 0, 0, guidance), timeout=3600)
        for response in call:
            if response.HasField("progress") and response.progress.step >= 3:
                break
        cancelled = time.perf_counter()
        call.cancel()
        # The next job starts as soon as the device is free (read to its end: leaving cancels it).
        started = None
        for response in stub.Render(render_request(size, 1, 0, 0, guidance), timeout=3600):
            if response.HasField("progress") and started is None:
                started = time.perf_counter() - cancelled
        assert started is not None
        next_start.append(started)
    after = fetch_metrics(metrics_port)
    count = metric(after, "marquee_render_cancel_stop_seconds_count") - metric(
        before, "marquee_render_cancel_stop_seconds_count"
    )
    total = metric(after, "marquee_render_cancel_stop_seconds_sum") - metric(
        before, "marquee_render_cancel_stop_seconds_sum"
    )
    steps_count = metric(after, "marquee_render_steps_after_stop_count") - metric(
        before, "marquee_render_steps_after_stop_count"
    )
    steps_sum = metric(after, "marquee_render_steps_after_stop_sum") - metric(
        before, "marquee_render_steps_after_stop_sum"
    )
    within_one = metric(after, 'marquee_render_steps_after_stop_bucket{engine="creatilayout",le="1.0"}') - metric(
        before, 'marquee_render_steps_after_stop_bucket{engine="creatilayout",le="1.0"}'
    )
    # Means: each cancel lands at a random point of a step.
    return {
        "server_stop_seconds": total / max(count, 1),
        "next_job_start_seconds": best_of(next_start),
        "steps_after_request": steps_sum / max(steps_count, 1),
        "cancels": count,
        "cancels_within_one_step": within_one,
    }


def best_of(runs: list[float]) -> float:
    """The fastest run: on a shared machine the others carry other processes' load, not ours."""
    return min(runs)


def slope(short: float, long: float, steps: tuple[int, int]) -> float:
    return (long - short) / (steps[1] - steps[0])


def bench_size(args: argparse.Namespace, pipe: Any, stub: Any, server: Any, size: int) -> dict[str, Any]:
    steps = (args.short, args.long)
    pid = server.process.pid
    names = ("direct_short", "direct_long", "grpc_short", "grpc_long", "grpc_long_previews")
    samples: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in names}
    first_preview: list[float] = []
    first_preview_default: list[float] = []
    server_first_preview: list[float] = []
    # Warm both paths at this size once (allocator, kernels).
    direct_run(pipe, size, steps[0], args.guidance)
    grpc_run(stub, pid, size, steps[0], 0, args.guidance)
    runs: list[tuple[str, Callable[[], dict[str, float]]]] = [
        ("direct_short", lambda: direct_run(pipe, size, steps[0], args.guidance)),
        ("grpc_short", lambda: grpc_run(stub, pid, size, steps[0], 0, args.guidance)),
        ("direct_long", lambda: direct_run(pipe, size, steps[1], args.guidance)),
        ("grpc_long", lambda: grpc_run(stub, pid, size, steps[1], 0, args.guidance)),
        ("grpc_long_previews", lambda: grpc_run(stub, pid, size, steps[1], 1, args.guidance)),
    ]
    for _ in range(args.repeats):
        for name, run in runs:
            measured = run()
            for key in ("wall", "cpu"):
                samples[name][key].append(measured[key])
            if name == "grpc_long_previews":
                first_preview.append(measured["first_preview"])
                server_first_preview.append(measured["server_first_preview"])
        first_preview_default.append(grpc_run(stub, pid, size, steps[1], 5, args.guidance)["first_preview"])
    best = {n: {k: best_of(v) for k, v in kinds.items()} for n, kinds in samples.items()}

    def per_step(path: str, key: str) -> float:
        return slope(best[f"{path}_short"][key], best[f"{path}_long"][key], steps)

    direct_wall, grpc_wall = per_step("direct", "wall"), per_step("grpc", "wall")
    direct_cpu, grpc_cpu = per_step("direct", "cpu"), per_step("grpc", "cpu")
    previews_wall = slope(best["grpc_short"]["wall"], best["grpc_long_previews"]["wall"], steps)
    previews_cpu = slope(best["grpc_short"]["cpu"], best["grpc_long_previews"]["cpu"], steps)
    preview_on_worker, preview_encoding = preview_cost(pipe, size, args.repeats)
    cancel = cancel_runs(stub, server.metrics_port, size, max(steps[1], 50), args.guidance, max(2, args.repeats))
    return {
        "size": size,
        "steps": list(steps),
        "direct_seconds_per_step": direct_wall,
        "grpc_seconds_per_step": grpc_wall,
        "grpc_overhead_per_step_pct": 100.0 * (grpc_wall / direct_wall - 1.0),
        "direct_cpu_seconds_per_step": direct_cpu,
        "grpc_cpu_seconds_per_step": grpc_cpu,
        "grpc_cpu_overhead_per_step_pct": 100.0 * (grpc_cpu / direct_cpu - 1.0),
        "image_seconds_direct": best["direct_long"]["wall"],
        "image_seconds_grpc": best["grpc_long"]["wall"],
        "direct_fixed_seconds": best["direct_short"]["wall"] - steps[0] * direct_wall,
        "grpc_fixed_seconds": best["grpc_short"]["wall"] - steps[0] * grpc_wall,
        "preview_on_worker_seconds": preview_on_worker,
        "preview_on_worker_pct_of_step": 100.0 * preview_on_worker / direct_wall,
        "preview_encoding_seconds": preview_encoding,
        "preview_total_pct_of_step": 100.0 * (preview_on_worker + preview_encoding) / direct_wall,
        "preview_every_step_overhead_pct": 100.0 * (previews_wall / grpc_wall - 1.0),
        "preview_every_step_cpu_overhead_pct": 100.0 * (previews_cpu / grpc_cpu - 1.0),
        "first_preview_seconds_interval_1": best_of(first_preview),
        "server_first_preview_seconds_interval_1": best_of(server_first_preview),
        "first_preview_seconds_interval_5": best_of(first_preview_default),
        "cancel_stop_seconds": cancel["server_stop_seconds"],
        "cancel_stop_steps": cancel["server_stop_seconds"] / direct_wall,
        "cancel_steps_after_request": cancel["steps_after_request"],
        "cancels": cancel["cancels"],
        "cancels_within_one_step": cancel["cancels_within_one_step"],
        "cancel_to_next_job_start_seconds": cancel["next_job_start_seconds"],
    }


def report(results: list[dict[str, Any]], args: argparse.Namespace, device: str) -> str:
    ms = lambda seconds: f"{seconds * 1e3:.2f} ms"  # noqa: E731
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, device {device}, "
        f"dtype {args.dtype}, torch threads {args.torch_threads or 'default'}, guidance {args.guidance}, "
        f"steps {args.short} and {args.long} (slope), best of {args.repeats}",
        "",
        "| size | direct s/step (wall) | gRPC s/step (wall) | overhead (wall) | direct CPU/step | gRPC CPU/step "
        f"| overhead (CPU) | fixed per image direct / gRPC | image at {args.long} steps direct / gRPC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']}² | {ms(r['direct_seconds_per_step'])} | {ms(r['grpc_seconds_per_step'])}"
            f" | {r['grpc_overhead_per_step_pct']:+.1f}% | {ms(r['direct_cpu_seconds_per_step'])}"
            f" | {ms(r['grpc_cpu_seconds_per_step'])} | {r['grpc_cpu_overhead_per_step_pct']:+.1f}%"
            f" | {ms(r['direct_fixed_seconds'])} / {ms(r['grpc_fixed_seconds'])}"
            f" | {r['image_seconds_direct']:.3f} / {r['image_seconds_grpc']:.3f} s |"
        )
    lines += [
        "",
        "| size | preview on the denoising thread | % of a step | JPEG encoding (other thread) | total % of a step "
        "| preview every step: wall / CPU | first preview, interval 1 / 5 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']}² | {ms(r['preview_on_worker_seconds'])} | {r['preview_on_worker_pct_of_step']:.2f}%"
            f" | {ms(r['preview_encoding_seconds'])} | {r['preview_total_pct_of_step']:.2f}%"
            f" | {r['preview_every_step_overhead_pct']:+.1f}% / {r['preview_every_step_cpu_overhead_pct']:+.1f}%"
            f" | {r['first_preview_seconds_interval_1'] * 1e3:.0f}"
            f" / {r['first_preview_seconds_interval_5'] * 1e3:.0f} ms |"
        )
    lines += [
        "",
        "| size | cancels | steps run after the cancel (mean; all ≤ 1?) | cancel → engine stopped"
        " | cancel → next job runs |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        all_within = "yes" if r["cancels_within_one_step"] == r["cancels"] else "NO"
        lines.append(
            f"| {r['size']}² | {r['cancels']:.0f} | {r['cancel_steps_after_request']:.2f} ({all_within})"
            f" | {ms(r['cancel_stop_seconds'])} ({r['cancel_stop_steps']:.2f} steps)"
            f" | {ms(r['cancel_to_next_job_start_seconds'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    from render_server.creatilayout.loading import DEFAULT_LAYOUT_MODEL, load_pipeline

    model_flags = [
        "--engine",
        "creatilayout",
        "--device",
        args.device,
        "--dtype",
        args.dtype,
        "--torch-threads",
        str(args.torch_threads),
        "--queue-depth",
        "2",
    ]
    if args.model:
        model_flags += ["--model", args.model]
    if args.base_model:
        model_flags += ["--base-model", args.base_model]
    pipe = load_pipeline(
        args.model or DEFAULT_LAYOUT_MODEL,
        base_model=args.base_model,
        device=args.device,
        dtype=args.dtype,
        hf_token=os.environ.get("HF_TOKEN") or None,
    )
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        stack = LocalStack(
            {"render": [*model_flags, "--output-dir", f"{tmp}/renders", "--log-level", "warning"]},
            Path(tmp),
            grace_period=5.0,
        )
        stack.start(timeout=1800 if args.gpu else 180)
        server = stack.processes["render"]
        try:
            with grpc.insecure_channel(
                server.address, options=[("grpc.max_receive_message_length", MESSAGE_LIMIT)]
            ) as channel:
                stub = render_pb2_grpc.RenderServiceStub(channel)
                results = [bench_size(args, pipe, stub, server, size) for size in args.size_list]
        finally:
            stack.stop()
    text = report(results, args, str(pipe.device))
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"results": results, "argv": sys.argv[1:]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
