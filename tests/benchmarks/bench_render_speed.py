"""Render speed check: Marquee's CreatiLayout pipeline against plain SD3, eager and compiled.

    python tests/benchmarks/bench_render_speed.py --gpu --random-weights   # H200: released sizes, random weights
    python tests/benchmarks/bench_render_speed.py --gpu --real DIR --real-base BASE
    python tests/benchmarks/bench_render_speed.py --smoke                  # tiny, CPU, for the test suite

With `--random-weights` every component is built at its released size (SD3-Medium transformer +
SiamLayout branch, CLIP-L, CLIP-G, T5-XXL encoder, VAE) directly on the device: no download, no
server process (`render_server.creatilayout.random_weights`). One run times, at each size (28 steps, CFG on):
plain `StableDiffusion3Pipeline` and Marquee's pipeline, eager, then with `torch.compile` (the
transformer and VAE decode), seconds per image (fastest of the repeats) and the first run
(compilation included); for Marquee's pipeline also the preview cost per step (x0 → RGB → host,
against the step it follows), the cancel latency (interrupt at a random point of a step → the
call returns) and which attention kernels run. The `-fbc` variants run Marquee's pipeline with the
first-block cache (`--first-block-cache`, the render server's option): steps skipped, the first
block's change per step (what the threshold is compared with) and the image's mean absolute
difference from the uncached one. Peak GPU memory per variant. It prints one table
and writes JSON (`--json`). Past `--budget` seconds it starts nothing new and lists what it
skipped, so it fits one 10-minute command on the GPU machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# Runs from a plain checkout too (the GPU machine installs wheels, not this project).
sys.path[:0] = [str(REPO), str(REPO / "protos")]

import torch  # noqa: E402

from render_server.creatilayout.compilation import compile_for_speed  # noqa: E402
from render_server.creatilayout.pipeline import GenerationInterrupted  # noqa: E402
from render_server.previews import torch_latent_to_rgb  # noqa: E402

FIXTURES = (REPO / ".." / "shared" / "fixtures" / "creatilayout").resolve()
PROMPT = "a lone cowboy in a desert at dusk, cinematic poster"
PHRASES = ["cowboy hat", "old horse", "setting sun"]
BOXES = [[0.1, 0.1, 0.5, 0.6], [0.4, 0.4, 0.95, 0.95], [0.6, 0.05, 0.9, 0.35]]
VARIANTS = (
    "plain-eager",
    "marquee-eager",
    "marquee-eager-fbc",
    "plain-compiled",
    "marquee-compiled",
    "marquee-compiled-fbc",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny components on the CPU, 64², 4 steps (seconds)")
    parser.add_argument("--gpu", action="store_true", help="CUDA, bf16, 512² and 1024², 28 steps")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--random-weights", action="store_true", help="released sizes, random weights (default)")
    source.add_argument("--real", type=Path, metavar="DIR", help="CreatiLayout weights in a local directory")
    parser.add_argument("--real-base", type=Path, metavar="DIR", help="the SD3-Medium base for --real")
    parser.add_argument("--sizes", help="comma-separated sides in pixels")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--repeats", type=int, help="timed runs per variant after the first")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    parser.add_argument("--compile-mode", default="default", help="torch.compile mode (default, max-autotune, ...)")
    parser.add_argument(
        "--compile-backend",
        help="torch.compile backend (default inductor; --smoke: eager, "
        "since inductor's C++ build of even the tiny model takes minutes on 2 CPU cores)",
    )
    parser.add_argument(
        "--first-block-cache",
        type=float,
        default=0.08,
        metavar="THRESHOLD",
        help="the -fbc variants' first-block cache threshold (default 0.08)",
    )
    parser.add_argument("--budget", type=float, help="seconds after which nothing new starts")
    parser.add_argument("--json", type=Path, default=REPO / "outputs" / "bench_render_speed.json")
    args = parser.parse_args(argv)
    gpu = args.gpu
    args.device = "cuda" if gpu else "cpu"
    args.dtype = torch.bfloat16 if gpu else torch.float32
    args.size_preset = "tiny" if args.smoke else "sd3-medium"
    args.sizes = [int(s) for s in (args.sizes or ("64" if args.smoke else "512,1024")).split(",")]
    args.steps = args.steps or (4 if args.smoke else 28)
    args.repeats = args.repeats or (1 if args.smoke else 2)
    args.budget = args.budget or (300.0 if args.smoke else 540.0)
    args.compile_backend = args.compile_backend or ("eager" if args.smoke else "inductor")
    args.variants = [v for v in args.variants.split(",") if v]
    unknown = set(args.variants) - set(VARIANTS)
    if not 0 < args.first_block_cache <= 1:
        parser.error(f"--first-block-cache must be in (0, 1], got {args.first_block_cache}")
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    if args.real and not args.real_base:
        parser.error("--real needs --real-base (the SD3-Medium directory the plain pipeline loads)")
    if gpu and not torch.cuda.is_available():
        parser.error("--gpu: torch sees no CUDA device")
    return args


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def load(args: argparse.Namespace) -> tuple[Any, Any, dict[str, int]]:
    if args.real:
        from diffusers import StableDiffusion3Pipeline

        from render_server.creatilayout.loading import load_pipeline

        dtype = "bfloat16" if args.dtype == torch.bfloat16 else "float32"
        marquee = load_pipeline(
            str(args.real), base_model=str(args.real_base), device=args.device, dtype=dtype, local_files_only=True
        )
        plain = StableDiffusion3Pipeline.from_pretrained(
            args.real_base,
            torch_dtype=args.dtype,
            local_files_only=True,
            **{
                name: getattr(marquee, name)
                for name in (
                    "vae",
                    "text_encoder",
                    "text_encoder_2",
                    "text_encoder_3",
                    "tokenizer",
                    "tokenizer_2",
                    "tokenizer_3",
                )
            },
        ).to(args.device)
        plain.set_progress_bar_config(disable=True)
        return marquee, plain, {}
    from render_server.creatilayout.random_weights import build_pipelines

    pair = build_pipelines(args.size_preset, FIXTURES, device=args.device, dtype=args.dtype)
    return pair.marquee, pair.plain, pair.parameters


def _call(pipe: Any, variant: str, side: int, steps: int, **kwargs: Any) -> Any:
    common = dict(
        height=side,
        width=side,
        num_inference_steps=steps,
        guidance_scale=7.0,
        output_type="pt",
        generator=torch.Generator("cpu").manual_seed(0),
    )
    if variant.startswith("marquee"):
        return pipe(PROMPT, PHRASES, BOXES, **common, **kwargs)
    return pipe(PROMPT, **common, **kwargs)


def time_variant(pipe: Any, variant: str, side: int, args: argparse.Namespace) -> tuple[dict[str, Any], Any]:
    """The timing row, and the last image (every run renders the same one: same seed)."""
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    image = _call(pipe, variant, side, args.steps).images
    _sync(args.device)
    first = time.perf_counter() - started
    runs = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        image = _call(pipe, variant, side, args.steps).images
        _sync(args.device)
        runs.append(time.perf_counter() - started)
    row = {"variant": variant, "side": side, "first_run_s": first, "seconds": min(runs), "runs_s": runs}
    if args.device.startswith("cuda"):
        row["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return row, image


def time_cached(pipe: Any, variant: str, side: int, args: argparse.Namespace, uncached: Any) -> dict[str, Any]:
    """A `-fbc` variant: the first-block cache on for this row only (as `--first-block-cache`)."""
    cache = pipe.enable_first_block_cache(args.first_block_cache)
    try:
        row, image = time_variant(pipe, variant, side, args)
        skipped, changes = list(cache.skipped_steps), sorted(cache.changes)  # of the last run
    finally:
        cache.detach()
        pipe.first_block_cache = None
    row["fbc"] = {
        "threshold": args.first_block_cache,
        "skipped_steps": len(skipped),
        "skipped": skipped,
        # Steps that could skip: after the layout steps and the first full step after them.
        "eligible_steps": len(changes),
        "change_min_median_max": [changes[0], statistics.median(changes), changes[-1]] if changes else [],
        "image_mean_abs_diff": None if uncached is None else float((image.float() - uncached.float()).abs().mean()),
    }
    return row


def preview_cost(pipe: Any, side: int, args: argparse.Namespace) -> dict[str, float]:
    """Per step: the step itself, and the preview (x0 → RGB → host) after it, each between syncs."""
    step_times: list[float] = []
    preview_times: list[float] = []
    last = [0.0]

    def on_step(_pipe: Any, i: int, _t: Any, tensors: Any) -> dict:
        _sync(args.device)
        now = time.perf_counter()
        if i > 0:
            step_times.append(now - last[0])
        torch_latent_to_rgb(tensors["x0_pred"])
        _sync(args.device)
        last[0] = time.perf_counter()
        preview_times.append(last[0] - now)
        return {}

    _sync(args.device)
    last[0] = time.perf_counter()
    _call(
        pipe, "marquee", side, args.steps, callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=["x0_pred"]
    )
    step = statistics.median(step_times[1:] or step_times)
    preview = statistics.median(preview_times)
    return {"step_s": step, "preview_s": preview, "preview_share_of_step": preview / step}


def cancel_latency(pipe: Any, side: int, args: argparse.Namespace, step_s: float) -> dict[str, float]:
    """Interrupt at a random point inside the middle step; how long until the call has returned."""
    reached = threading.Event()
    done: dict[str, float] = {}
    middle = args.steps // 2

    def on_step(_pipe: Any, i: int, _t: Any, _tensors: Any) -> dict:
        done["steps"] = i + 1
        if i == middle - 1:
            reached.set()
        return {}

    def run() -> None:
        try:
            _call(pipe, "marquee", side, args.steps, callback_on_step_end=on_step)
        except GenerationInterrupted:
            pass
        _sync(args.device)
        done["returned"] = time.perf_counter()

    worker = threading.Thread(target=run)
    worker.start()
    reached.wait()
    time.sleep(random.Random(0).uniform(0.1, 0.9) * step_s)
    steps_at_request = done["steps"]
    requested = time.perf_counter()
    pipe.interrupt_generation()
    worker.join()
    latency = done["returned"] - requested
    return {
        "cancel_s": latency,
        "cancel_steps": latency / step_s,
        "steps_after_request": done["steps"] - steps_at_request,
    }


def attention_kernels(pipe: Any, side: int, args: argparse.Namespace) -> list[str]:
    """Names of the attention kernels one step runs (flash / memory-efficient / cuDNN SDPA)."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if args.device.startswith("cuda") else [])
    with profile(activities=activities) as prof:
        _call(pipe, "marquee", side, 1)
        _sync(args.device)
    keys = ("flash", "efficient", "cudnn", "fmha", "scaled_dot_product")
    return sorted({e.key for e in prof.key_averages() if any(k in e.key.lower() for k in keys)})[:8]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    started = time.perf_counter()
    if args.smoke:
        torch.set_num_threads(1)
    marquee, plain, parameters = load(args)
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor() or "cpu",
        "torch": torch.__version__,
        "dtype": str(args.dtype).removeprefix("torch."),
        "compile": f"{args.compile_backend} ({args.compile_mode})"
        if args.compile_backend == "inductor"
        else args.compile_backend,
        "components": "local weights" if args.real else f"{args.size_preset}, random weights",
        "parameters": parameters,
        "steps": args.steps,
        "load_s": time.perf_counter() - started,
        "rows": [],
        "marquee_extras": [],
        "skipped": [],
    }
    pipes = {"plain": plain, "marquee": marquee}
    # Eager first: compiling replaces the shared VAE decoder for both pipelines.
    order = [v for v in VARIANTS if v in args.variants]
    compiled: set[str] = set()
    uncached: dict[tuple[str, int], Any] = {}  # Marquee's image per (mode, side), for the -fbc rows
    for variant in order:
        kind, mode, *cached = variant.split("-")
        if mode == "compiled" and kind not in compiled:
            # What the render server's --compile does.
            compile_for_speed(pipes[kind], args.compile_mode if args.compile_backend == "inductor" else "eager")
            compiled.add(kind)
        for side in args.sizes:
            if time.perf_counter() - started > args.budget:
                report["skipped"].append(f"{variant} {side}²: past the {args.budget:.0f} s budget")
                continue
            if cached:
                report["rows"].append(time_cached(marquee, variant, side, args, uncached.get((mode, side))))
                continue
            row, image = time_variant(pipes[kind], variant, side, args)
            report["rows"].append(row)
            if kind == "marquee":
                uncached[(mode, side)] = image
            if variant == "marquee-eager":
                extras = {"variant": variant, "side": side, **preview_cost(marquee, side, args)}
                extras.update(cancel_latency(marquee, side, args, extras["step_s"]))
                extras["attention_kernels"] = attention_kernels(marquee, side, args)
                report["marquee_extras"].append(extras)
    report["total_s"] = time.perf_counter() - started
    print_table(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")
    return report


def print_table(report: dict[str, Any]) -> None:
    print(
        f"{report['machine']} · torch {report['torch']} · {report['dtype']} · {report['components']} · "
        f"{report['steps']} steps, CFG 7 · compile {report['compile']} · load {report['load_s']:.1f} s"
    )
    print(f"{'variant':<22}{'side':>6}{'s/image':>10}{'first run s':>13}{'peak GiB':>10}")
    for row in report["rows"]:
        peak = f"{row['peak_memory_gib']:.1f}" if "peak_memory_gib" in row else "-"
        print(f"{row['variant']:<22}{row['side']:>6}{row['seconds']:>10.3f}{row['first_run_s']:>13.2f}{peak:>10}")
    for extra in report["marquee_extras"]:
        print(
            f"{extra['variant']} {extra['side']}²: step {extra['step_s'] * 1e3:.1f} ms, preview "
            f"{extra['preview_s'] * 1e3:.2f} ms ({extra['preview_share_of_step']:.1%} of a step), cancel "
            f"{extra['cancel_s'] * 1e3:.0f} ms ({extra['cancel_steps']:.2f} steps, "
            f"{extra['steps_after_request']} step(s) after the request); attention: "
            f"{', '.join(extra['attention_kernels']) or 'none seen'}"
        )
    for row in report["rows"]:
        if "fbc" in row:
            fbc = row["fbc"]
            changes = "/".join(f"{c:.3f}" for c in fbc["change_min_median_max"]) or "-"
            diff = "-" if fbc["image_mean_abs_diff"] is None else f"{fbc['image_mean_abs_diff']:.4f}"
            print(
                f"{row['variant']} {row['side']}²: first-block cache {fbc['threshold']}: skipped "
                f"{fbc['skipped_steps']} of {fbc['eligible_steps']} eligible steps {fbc['skipped']}; first-block "
                f"change min/median/max {changes}; image mean |Δ| vs uncached {diff} (pixels 0-1)"
            )
    for line in report["skipped"]:
        print(f"skipped: {line}")
    print(f"total {report['total_s']:.1f} s")


if __name__ == "__main__":
    main()
