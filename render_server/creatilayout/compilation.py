"""Compiling an SD3-style pipeline for speed: `torch.compile` on the denoiser and the VAE decoder.

It applies to Marquee's `CreatiLayoutPipeline` and to plain SD3 alike (the speed benchmark compiles
both), so it lives beside the pipeline rather than in it.
"""

from __future__ import annotations

from typing import Any

import torch

COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune", "eager")


def compile_for_speed(pipe: Any, mode: str = "default") -> None:
    """`torch.compile` the denoiser and the VAE decoder of an SD3-style pipeline (Marquee's or
    plain SD3), the two places the time goes. `mode` is an inductor mode, or "eager": TorchDynamo
    capture without code generation, which checks the compiled path where inductor's C++ build
    would take minutes (a CPU test machine). Shapes are static: each new image size compiles once."""
    if mode not in COMPILE_MODES or mode == "off":
        raise ValueError(f"compile mode must be one of {COMPILE_MODES[1:]}, got {mode!r}")
    options: dict[str, Any] = {"backend": "eager"} if mode == "eager" else {"mode": mode}
    pipe.transformer = torch.compile(pipe.transformer, dynamic=False, **options)
    pipe.vae.decode = torch.compile(pipe.vae.decode, dynamic=False, **options)
