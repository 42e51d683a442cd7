"""CreatiLayout and plain SD3 pipelines with random weights, built directly on a device.

A speed check needs the released *sizes*, not the released *weights*: the FLOPs, memory traffic
and kernels of a forward pass depend on shapes alone. Building every component from its config
with random weights needs no download (the GPU machines this project is measured on have no
internet) and no 16 GB read from disk. Both pipelines share the text encoders, VAE and scheduler,
so a side-by-side timing compares the transformers and the pipelines' own overhead, nothing else.

The tokenizers come from the tiny fixture pipeline (their ids fit every vocabulary below); CLIP
pads to 77 tokens and T5 to `max_sequence_length`, so the encoders do the released amount of work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
from transformers import (
    CLIPTextConfig,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)

from render_server.creatilayout.pipeline import CreatiLayoutPipeline
from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel

# The released SD3-Medium component sizes (the configs published with
# stabilityai/stable-diffusion-3-medium-diffusers); the transformer's come from the fixture's
# state-dict description, which was checked key by key against the released checkpoint.
SD3_MEDIUM_CLIP_L = dict(
    vocab_size=49408,
    hidden_size=768,
    intermediate_size=3072,
    num_hidden_layers=12,
    num_attention_heads=12,
    max_position_embeddings=77,
    hidden_act="quick_gelu",
    projection_dim=768,
)
SD3_MEDIUM_CLIP_G = dict(
    vocab_size=49408,
    hidden_size=1280,
    intermediate_size=5120,
    num_hidden_layers=32,
    num_attention_heads=20,
    max_position_embeddings=77,
    hidden_act="gelu",
    projection_dim=1280,
)
SD3_MEDIUM_T5_XXL = dict(
    vocab_size=32128,
    d_model=4096,
    d_kv=64,
    d_ff=10240,
    num_layers=24,
    num_heads=64,
    relative_attention_num_buckets=32,
    relative_attention_max_distance=128,
    feed_forward_proj="gated-gelu",
    dense_act_fn="gelu_new",
    is_gated_act=True,
    is_encoder_decoder=False,
    use_cache=False,
)
SD3_MEDIUM_VAE = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=16,
    block_out_channels=[128, 256, 512, 512],
    down_block_types=["DownEncoderBlock2D"] * 4,
    up_block_types=["UpDecoderBlock2D"] * 4,
    layers_per_block=2,
    norm_num_groups=32,
    act_fn="silu",
    sample_size=1024,
    scaling_factor=1.5305,
    shift_factor=0.0609,
    use_quant_conv=False,
    use_post_quant_conv=False,
)
SD3_MEDIUM_SCHEDULER = dict(num_train_timesteps=1000, shift=3.0)
SIZES = ("sd3-medium", "tiny")


@dataclass
class PipelinePair:
    """Marquee's layout pipeline and plain SD3 over the same encoders, VAE and scheduler config."""

    marquee: CreatiLayoutPipeline
    plain: StableDiffusion3Pipeline
    size: str
    parameters: dict[str, int]


def _json(path: Path) -> dict[str, Any]:
    return {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}


def _component_configs(size: str, fixtures: Path) -> dict[str, dict[str, Any]]:
    tiny = fixtures / "tiny" / "pipeline"
    if size == "tiny":
        return {
            name: _json(tiny / name / ("config.json" if name != "scheduler" else "scheduler_config.json"))
            for name in ("transformer", "text_encoder", "text_encoder_2", "text_encoder_3", "vae", "scheduler")
        }
    if size != "sd3-medium":
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    layout = json.loads((fixtures / "sd3m_layout_state_dict.json").read_text())["config"]
    return {
        "transformer": {k: v for k, v in layout.items() if not k.startswith("_")},
        "text_encoder": SD3_MEDIUM_CLIP_L,
        "text_encoder_2": SD3_MEDIUM_CLIP_G,
        "text_encoder_3": SD3_MEDIUM_T5_XXL,
        "vae": SD3_MEDIUM_VAE,
        "scheduler": SD3_MEDIUM_SCHEDULER,
    }


def _build(make: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """Allocate on the device in the target dtype from the start: a 4.7 B-parameter T5 in fp32
    on the host first would cost minutes and 19 GB for nothing."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            module = make()
    finally:
        torch.set_default_dtype(previous)
    return module.eval().requires_grad_(False)


def build_pipelines(
    size: str, fixtures: Path, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, seed: int = 0
) -> PipelinePair:
    """Every component of both pipelines at `size` ("sd3-medium" or "tiny") with seeded random
    weights, allocated on `device` in `dtype`. `fixtures` is `shared/fixtures/creatilayout`."""
    device = torch.device(device)
    configs = _component_configs(size, fixtures)
    torch.manual_seed(seed)
    layout_config = configs["transformer"]
    base_config = {k: v for k, v in layout_config.items() if k not in ("attention_type", "max_boxes_per_image")}
    transformer = _build(lambda: SiamLayoutSD3Transformer2DModel(**layout_config), device, dtype)
    plain_transformer = _build(lambda: SD3Transformer2DModel(**base_config), device, dtype)
    text_encoder = _build(lambda: CLIPTextModelWithProjection(CLIPTextConfig(**configs["text_encoder"])), device, dtype)
    text_encoder_2 = _build(
        lambda: CLIPTextModelWithProjection(CLIPTextConfig(**configs["text_encoder_2"])), device, dtype
    )
    text_encoder_3 = _build(lambda: T5EncoderModel(T5Config(**configs["text_encoder_3"])), device, dtype)
    vae = _build(lambda: AutoencoderKL(**configs["vae"]), device, dtype)
    tiny = fixtures / "tiny" / "pipeline"
    shared = dict(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=CLIPTokenizer.from_pretrained(tiny / "tokenizer"),
        text_encoder_2=text_encoder_2,
        tokenizer_2=CLIPTokenizer.from_pretrained(tiny / "tokenizer_2"),
        text_encoder_3=text_encoder_3,
        tokenizer_3=T5TokenizerFast.from_pretrained(tiny / "tokenizer_3"),
    )
    marquee = CreatiLayoutPipeline(
        transformer=transformer, scheduler=FlowMatchEulerDiscreteScheduler(**configs["scheduler"]), **shared
    )
    plain = StableDiffusion3Pipeline(
        transformer=plain_transformer, scheduler=FlowMatchEulerDiscreteScheduler(**configs["scheduler"]), **shared
    )
    for pipe in (marquee, plain):
        pipe.set_progress_bar_config(disable=True)
    parameters = {
        name: sum(p.numel() for p in module.parameters())
        for name, module in (
            ("layout transformer", transformer),
            ("plain transformer", plain_transformer),
            ("clip-l", text_encoder),
            ("clip-g", text_encoder_2),
            ("t5", text_encoder_3),
            ("vae", vae),
        )
    }
    return PipelinePair(marquee=marquee, plain=plain, size=size, parameters=parameters)
