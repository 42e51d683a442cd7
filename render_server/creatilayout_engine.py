"""The creatilayout engine: the SiamLayout SD3 pipeline behind the `Engine` interface.

torch and diffusers are imported only when this engine loads, so the draft engine starts without
them. Previews come from the predicted clean latent the pipeline hands to its step callback
(see `render_server.previews`); cancelling interrupts the pipeline after the current step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from marquee.serving.structured_logs import get_logger
from render_server.engines import DECODING, DENOISING, ENCODING, Engine, EngineOutput, JobCancelled, JobControl
from render_server.previews import torch_latent_to_rgb
from render_server.spec import LayoutObject, RenderSpec

log = get_logger("render.creatilayout")

WARM_UP_SIZE = 64
WARM_UP_STEPS = 4  # int(0.3 × 4) = 1, so the layout branch runs too


def model_max_size(pipe: Any) -> int | None:
    """The largest side, in pixels, that the pipeline's transformer has position embeddings for.

    SD3's patch embedding crops a `pos_embed_max_size`² grid of positions (one per patch of
    `patch_size`² latent pixels, each latent pixel `vae_scale_factor` image pixels) and raises
    for a larger latent: 192 × 2 × 8 = 3072 px for SD3-Medium, 32 × 2 × 8 = 512 for the tiny
    test model. Without a maximum the embedding is computed for any size (None: no model limit).
    """
    config = pipe.transformer.config
    grid = getattr(config, "pos_embed_max_size", None)
    if not grid:
        return None
    return int(grid) * int(config.patch_size) * int(pipe.vae_scale_factor)


class CreatiLayoutEngine(Engine):
    name = "creatilayout"

    def __init__(
        self,
        model: str | None,
        base_model: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        torch_threads: int = 0,
        compile_mode: str = "off",
        negative_prompt_cache: int = 0,
        first_block_cache: float = 0.0,
        warm_up_size: int = WARM_UP_SIZE,
    ) -> None:
        super().__init__()
        self.compile_mode = compile_mode
        self.negative_prompt_cache = negative_prompt_cache
        self.first_block_cache = first_block_cache
        self.warm_up_size = warm_up_size
        self.requested_model = model
        self.base_model = base_model
        self.requested_device = device
        self.dtype = dtype
        self.torch_threads = torch_threads
        self.pipe: Any = None
        self._layout_steps_for: Any = None
        self.model = model or "the released CreatiLayout checkpoint"

    def describe_loading(self) -> str:
        base = f" on {self.base_model}" if self.base_model else ""
        return f"loading the creatilayout model {self.model}{base} (device {self.requested_device}, dtype {self.dtype})"

    def load(self) -> None:
        try:
            import torch

            from render_server.creatilayout.loading import DEFAULT_LAYOUT_MODEL, load_pipeline
            from render_server.creatilayout.pipeline import layout_step_count
        except ImportError as exc:
            raise RuntimeError(
                f"the creatilayout engine needs torch, diffusers and transformers ({exc}); install "
                "the render extra (pip install -e '.[render]') or run --engine draft"
            ) from exc

        if self.torch_threads:
            torch.set_num_threads(self.torch_threads)
        self.model = self.requested_model or DEFAULT_LAYOUT_MODEL
        # The token goes to the loader only; it is never stored on the engine or logged.
        self.pipe = load_pipeline(
            self.model,
            base_model=self.base_model,
            device=self.requested_device,
            dtype=self.dtype,
            hf_token=os.environ.get("HF_TOKEN") or None,
        )
        self.device = str(self.pipe.device)
        self.max_boxes = int(self.pipe.max_boxes_per_image)
        self.max_size = model_max_size(self.pipe)
        if self.negative_prompt_cache:
            self.pipe.enable_negative_prompt_cache(self.negative_prompt_cache)
        if self.first_block_cache:
            # Before compiling, so the compiled graph is traced through the cache's hooks.
            self.pipe.enable_first_block_cache(self.first_block_cache)
        if self.compile_mode != "off":
            from render_server.creatilayout.compilation import compile_for_speed

            compile_for_speed(self.pipe, self.compile_mode)
        self._layout_steps_for = layout_step_count

    def warm_up(self, control: JobControl) -> None:
        # A compiled pipeline is compiled for the shapes it has seen: warm up at the size most
        # jobs ask for, so they do not pay for compiling.
        size = self.warm_up_size if self.compile_mode != "off" else WARM_UP_SIZE
        if self.max_size:
            size = min(size, self.max_size)
        spec = RenderSpec(
            prompt="warm-up",
            objects=(LayoutObject("box", (0.25, 0.25, 0.75, 0.75)),),
            steps=WARM_UP_STEPS,
            guidance=2.0,
            width=size,
            height=size,
            seed=0,
            preview_interval=2,
        )
        self.render(spec, control)

    def render(self, spec: RenderSpec, control: JobControl) -> EngineOutput:
        import torch

        from render_server.creatilayout.pipeline import GenerationInterrupted

        pipe = self.pipe
        if pipe is None:
            raise RuntimeError("the creatilayout engine is not loaded")
        total = spec.steps
        previews = spec.preview_interval > 0

        def on_step_end(pipeline: Any, index: int, _timestep: Any, tensors: Mapping[str, Any]) -> dict:
            step = index + 1
            control.progress(step, total, DENOISING)
            if previews and control.wants_preview(step):
                control.preview(step, torch_latent_to_rgb(tensors["x0_pred"]))
            if control.stop_requested:
                pipeline.interrupt_generation()
            elif step == total:
                control.progress(step, total, DECODING)
            return {}

        control.progress(0, total, ENCODING)
        if control.stop_requested:
            raise JobCancelled()
        try:
            output = pipe(
                spec.prompt,
                layout_phrases=[obj.phrase for obj in spec.objects],
                layout_boxes=[list(obj.box) for obj in spec.objects],
                height=spec.height,
                width=spec.width,
                num_inference_steps=spec.steps,
                guidance_scale=spec.guidance,
                negative_prompt=spec.negative_prompt or None,
                generator=torch.Generator("cpu").manual_seed(spec.seed),
                output_type="pil",
                callback_on_step_end=on_step_end,
                callback_on_step_end_tensor_inputs=["x0_pred"] if previews else [],
            )
        except GenerationInterrupted as exc:
            raise JobCancelled() from exc
        return EngineOutput(image=output.images[0], steps=total, layout_steps=self._layout_steps_for(total))

    def close(self) -> None:
        self.pipe = None
