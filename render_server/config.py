"""Every option of the render server (flags and `MARQUEE_*` environment variables).

The Hugging Face token is deliberately not a setting: it is read from `HF_TOKEN` at load time
and handed to the loader only, so it can never appear in the logged configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from marquee.addresses import RENDER
from marquee.serving import ServerSettings

#: What a request gets when it leaves a field unset (the original pipeline's signature).
DEFAULT_STEPS = 28
DEFAULT_GUIDANCE = 7.0
DEFAULT_SIZE = 1024
DEFAULT_PREVIEW_INTERVAL = 5
MAX_STEPS = 200
#: Sizes are multiples of 16: the VAE downsamples by 8 and the transformer patches by 2.
SIZE_MULTIPLE = 16

#: Shown in `--help`; the loader (`render_server.creatilayout.loading`) owns the actual defaults.
RELEASED_MODEL = "HuiZhang0812/CreatiLayout (subfolder SiamLayout_SD3)"
RELEASED_BASE = "stabilityai/stable-diffusion-3-medium-diffusers"


class RenderSettings(ServerSettings):
    """Render thumbnail layouts to images over gRPC (RenderService), streaming previews."""

    port: int = Field(RENDER.port, ge=0, le=65535, description="gRPC port; 0 picks a free port.")
    metrics_port: int = Field(
        RENDER.metrics_port, ge=0, le=65535, description="Prometheus /metrics port; 0 picks a free port."
    )
    engine: Literal["auto", "creatilayout", "draft"] = Field(
        "auto",
        description=(
            "Which engine renders: 'creatilayout' (the layout-to-image diffusion model), 'draft' "
            "(a CPU poster mock-up in well under a second), or 'auto': creatilayout when --model is "
            "given, draft otherwise."
        ),
    )
    model: str | None = Field(
        None,
        description=(
            "CreatiLayout pipeline: a Hugging Face id or a local directory (a full pipeline in "
            f"diffusers layout, or a layout transformer on --base-model). Default: {RELEASED_MODEL}. "
            "Gated downloads read the token from HF_TOKEN."
        ),
    )
    base_model: str | None = Field(
        None, description=f"SD3 base pipeline (VAE, text encoders, scheduler) for --model. Default: {RELEASED_BASE}."
    )
    device: str = Field("auto", description="Torch device: auto (cuda, then mps, then cpu), cpu, cuda, cuda:1, ...")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Weights dtype: auto = bfloat16 (or float16) on GPU, float32 on CPU."
    )
    torch_threads: int = Field(
        0, ge=0, le=256, description="Torch intra-op threads; 0 keeps torch's default (one per core)."
    )
    max_size: int = Field(
        1536,
        ge=64,
        le=4096,
        description=(
            "Largest width or height a request may ask for, in pixels (a multiple of 16). Lowered "
            "at load to what the model can render (its position-embedding grid: 3072 for SD3-Medium); "
            "DescribeEngine reports the value in force."
        ),
    )
    queue_depth: int = Field(
        8,
        ge=0,
        le=1000,
        description="Jobs that may wait behind the running one; more are refused with RESOURCE_EXHAUSTED.",
    )
    output_dir: Path = Field(
        Path("outputs/renders"),
        description="Where every result is saved (image, layout visualisations, metadata JSON).",
    )
    output_file_mode: str = Field(
        "0644",
        pattern=r"^0?[0-7]{3}$",
        description="Permissions of every saved file, in octal (default 0644, as the client writes: "
        "readable by whoever reads the output folder; 0600 keeps them to the server's user).",
    )
    preview_size: int = Field(512, ge=16, le=2048, description="Longest side of a streamed preview JPEG, in pixels.")
    warm_up: bool = Field(True, description="Render a tiny image after loading, before reporting SERVING.")
    compile: Literal["off", "default", "reduce-overhead", "max-autotune", "eager"] = Field(
        "off",
        description="creatilayout: torch.compile the transformer and VAE decoder with this inductor "
        "mode (eager: capture only, no code generation). The warm-up then renders at the default "
        "size, so compiling happens before SERVING; each other size compiles on its first job. "
        "Worth it on a GPU; minutes of start-up on a CPU.",
    )
    negative_prompt_cache: int = Field(
        8,
        ge=0,
        le=1024,
        description="creatilayout: negative prompts whose text-encoder embeddings are kept (most "
        "jobs send the same, usually empty, one); 0 encodes every time.",
    )
    first_block_cache: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="creatilayout: first-block cache threshold. On the steps after the layout "
        "branch (the last 70 %), a step whose first transformer block changed its residual by less "
        "than this (relative L1, against the last step that ran every block) reuses the other "
        "blocks' cached residual instead of running them. 0 (default): off, exact images. "
        "Approximate: ParaAttention uses 0.08 for FLUX, diffusers defaults to 0.05; on the tiny "
        "test model 0.5 skips 6 of 28 steps and the tests hold the image within 0.03 mean "
        "absolute difference (pixels 0-1). With --compile the blocks compile one by one.",
    )

    @model_validator(mode="after")
    def _size_cap_is_a_multiple_of_16(self) -> Self:
        if self.max_size % SIZE_MULTIPLE:
            raise ValueError(f"--max-size must be a multiple of {SIZE_MULTIPLE}, got {self.max_size}")
        return self

    @property
    def engine_name(self) -> str:
        """The engine `auto` resolves to."""
        if self.engine == "auto":
            return "creatilayout" if self.model else "draft"
        return self.engine

    @property
    def default_size(self) -> int:
        return min(DEFAULT_SIZE, self.max_size)
