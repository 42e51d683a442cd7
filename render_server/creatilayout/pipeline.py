"""CreatiLayout's layout-to-image pipeline: SD3 text conditioning plus SiamLayout boxes.

Text conditioning, latents, the flow-matching schedule and decoding are stock SD3 (the methods are taken
from diffusers' `StableDiffusion3Pipeline`). What is added: per-box phrase embeddings, layout tensors
padded to `max_boxes_per_image`, the layout branch switched on for the first `int(0.3 × steps)` steps,
all-null layout tokens for the unconditional half of classifier-free guidance, a predicted-clean-latent
tensor for cheap previews, and cancellation that stops before the next transformer call.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

import torch
from diffusers import AutoencoderKL, DiffusionPipeline, FlowMatchEulerDiscreteScheduler, StableDiffusion3Pipeline
from diffusers.image_processor import VaeImageProcessor
from diffusers.pipelines.stable_diffusion_3.pipeline_output import StableDiffusion3PipelineOutput
from diffusers.pipelines.stable_diffusion_3.pipeline_stable_diffusion_3 import retrieve_timesteps
from transformers import CLIPTextModelWithProjection, CLIPTokenizer, T5EncoderModel, T5TokenizerFast

from render_server.creatilayout.first_block_cache import FirstBlockCache
from render_server.creatilayout.step_tensors import StepTensors
from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel

# The fraction of the denoising steps that see the layout branch (bbox_scale 1, then 0).
LAYOUT_STEP_FRACTION = 0.3
OUTPUT_TYPES = ("pil", "np", "pt", "latent")


class GenerationInterrupted(RuntimeError):
    """Raised by `CreatiLayoutPipeline.__call__` when `interrupt_generation()` was requested."""

    def __init__(self, completed_steps: int, total_steps: int) -> None:
        super().__init__(f"generation interrupted after {completed_steps} of {total_steps} steps")
        self.completed_steps = completed_steps
        self.total_steps = total_steps


def layout_step_count(num_inference_steps: int) -> int:
    """Steps that run the layout branch: int(0.3 × steps), truncated (1 for 4 or 5 steps, 8 for 28, 15 for 50)."""
    return int(LAYOUT_STEP_FRACTION * num_inference_steps)


class CreatiLayoutPipeline(DiffusionPipeline):
    """Layout-to-image with a SiamLayout SD3 transformer.

    Load it with the transformer passed explicitly (the fixture's model_index.json names none on
    purpose): `CreatiLayoutPipeline.from_pretrained(dir,
    transformer=SiamLayoutSD3Transformer2DModel.from_pretrained(dir / "transformer"))`
    or through `render_server.creatilayout.loading.load_pipeline`.
    """

    model_cpu_offload_seq = "text_encoder->text_encoder_2->text_encoder_3->transformer->vae"
    _optional_components: ClassVar[list[str]] = []
    _callback_tensor_inputs: ClassVar[list[str]] = ["latents", "x0_pred", "prompt_embeds", "pooled_prompt_embeds"]

    # SD3's text path is reused as is: it matched the reference bit for bit.
    _get_t5_prompt_embeds = StableDiffusion3Pipeline._get_t5_prompt_embeds
    _get_clip_prompt_embeds = StableDiffusion3Pipeline._get_clip_prompt_embeds
    encode_prompt = StableDiffusion3Pipeline.encode_prompt
    prepare_latents = StableDiffusion3Pipeline.prepare_latents

    def __init__(
        self,
        transformer: SiamLayoutSD3Transformer2DModel,
        scheduler: FlowMatchEulerDiscreteScheduler,
        vae: AutoencoderKL,
        text_encoder: CLIPTextModelWithProjection,
        tokenizer: CLIPTokenizer,
        text_encoder_2: CLIPTextModelWithProjection,
        tokenizer_2: CLIPTokenizer,
        text_encoder_3: T5EncoderModel,
        tokenizer_3: T5TokenizerFast,
    ) -> None:
        super().__init__()
        self.register_modules(
            vae=vae,
            text_encoder=text_encoder,
            text_encoder_2=text_encoder_2,
            text_encoder_3=text_encoder_3,
            tokenizer=tokenizer,
            tokenizer_2=tokenizer_2,
            tokenizer_3=tokenizer_3,
            transformer=transformer,
            scheduler=scheduler,
        )
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1) if vae is not None else 8
        self.image_processor = VaeImageProcessor(vae_scale_factor=self.vae_scale_factor)
        self.tokenizer_max_length = tokenizer.model_max_length if tokenizer is not None else 77
        self.default_sample_size = transformer.config.sample_size if transformer is not None else 128
        self.patch_size = transformer.config.patch_size if transformer is not None else 2
        self._interrupt = False
        self._guidance_scale = 1.0
        self._num_timesteps = 0
        # Off unless enabled: negative-prompt embeddings by (text, max length, device), LRU.
        self._negative_cache: OrderedDict[tuple[str, int, str], tuple[torch.Tensor, torch.Tensor]] | None = None
        self._negative_cache_size = 0
        self.first_block_cache: FirstBlockCache | None = None
        self._check_phrase_embedding_width()

    def enable_first_block_cache(self, threshold: float) -> FirstBlockCache:
        """After the layout steps, skip the blocks after the first while the first one's residual
        changes by less than `threshold` (relative L1); approximate, see `first_block_cache`."""
        if self.first_block_cache is not None:
            self.first_block_cache.detach()
        self.first_block_cache = FirstBlockCache.attach(self.transformer, threshold)
        return self.first_block_cache

    def enable_negative_prompt_cache(self, max_entries: int = 8) -> None:
        """Encode each negative prompt once: most jobs send the same one (often empty), and
        encoding it runs CLIP-L, CLIP-G and T5-XXL again for every job. The embeddings are the
        same tensors the encoders would give, so images do not change."""
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self._negative_cache = OrderedDict()
        self._negative_cache_size = max_entries

    def _cached_negative(self, key: tuple[str, int, str]) -> tuple[torch.Tensor, torch.Tensor] | tuple[None, None]:
        if self._negative_cache is None or key not in self._negative_cache:
            return None, None
        self._negative_cache.move_to_end(key)
        return self._negative_cache[key]

    def _remember_negative(self, key: tuple[str, int, str], embeds: torch.Tensor, pooled: torch.Tensor) -> None:
        if self._negative_cache is None or key in self._negative_cache:
            return
        self._negative_cache[key] = (embeds, pooled)
        while len(self._negative_cache) > self._negative_cache_size:
            self._negative_cache.popitem(last=False)

    def _check_phrase_embedding_width(self) -> None:
        parts = (self.transformer, self.text_encoder, self.text_encoder_2)
        if any(part is None for part in parts):
            return
        clip_width = self.text_encoder.config.projection_dim + self.text_encoder_2.config.projection_dim
        if clip_width != self.transformer.config.pooled_projection_dim:
            raise ValueError(
                f"the CLIP projections add up to {clip_width} features but the transformer's "
                f"pooled_projection_dim is {self.transformer.config.pooled_projection_dim}: "
                "the text encoders do not belong to this transformer"
            )

    @property
    def guidance_scale(self) -> float:
        return self._guidance_scale

    @property
    def do_classifier_free_guidance(self) -> bool:
        return self._guidance_scale > 1

    @property
    def num_timesteps(self) -> int:
        return self._num_timesteps

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    @property
    def max_boxes_per_image(self) -> int:
        return int(self.transformer.config.max_boxes_per_image)

    @property
    def size_multiple(self) -> int:
        """Height and width must be multiples of this (VAE downsampling × patch size; 16 for SD3)."""
        return self.vae_scale_factor * self.patch_size

    @staticmethod
    def layout_step_count(num_inference_steps: int) -> int:
        return layout_step_count(num_inference_steps)

    def interrupt_generation(self) -> None:
        """Ask the running call to stop; it raises `GenerationInterrupted` before the next transformer call.

        Safe to call from a step callback or another thread.
        """
        self._interrupt = True

    def encode_layout_phrases(self, phrases: Sequence[str], device: torch.device | None = None) -> torch.Tensor:
        """[n, pooled_projection_dim]: concat(CLIP-L, CLIP-G) projected pooled embeddings; T5 is not used."""
        _, clip_l = self._get_clip_prompt_embeds(list(phrases), device=device, clip_model_index=0)
        _, clip_g = self._get_clip_prompt_embeds(list(phrases), device=device, clip_model_index=1)
        return torch.cat([clip_l, clip_g], dim=-1)

    def prepare_layout(
        self,
        layout_phrases: Sequence[str],
        layout_boxes: Sequence[Sequence[float]],
        device: torch.device,
        dtype: torch.dtype,
        do_classifier_free_guidance: bool,
    ) -> dict[str, torch.Tensor]:
        """The transformer's layout input, padded to max_boxes_per_image slots.

        With CFG the batch is [unconditional, conditional] and the unconditional half gets masks of 0,
        so it sees only null layout tokens. Boxes are used as given (xyxy, 0..1).
        """
        num_slots = self.max_boxes_per_image
        phrase_dim = self.transformer.config.pooled_projection_dim
        num_boxes = len(layout_boxes)
        boxes = torch.zeros(1, num_slots, 4, device=device, dtype=torch.float32)
        phrase_embeddings = torch.zeros(1, num_slots, phrase_dim, device=device, dtype=dtype)
        masks = torch.zeros(1, num_slots, device=device, dtype=dtype)
        if num_boxes:
            boxes[0, :num_boxes] = torch.tensor(layout_boxes, dtype=torch.float32, device=device)
            phrase_embeddings[0, :num_boxes] = self.encode_layout_phrases(layout_phrases, device=device).to(dtype)
            masks[0, :num_boxes] = 1
        if do_classifier_free_guidance:
            boxes = torch.cat([boxes, boxes])
            phrase_embeddings = torch.cat([phrase_embeddings, phrase_embeddings])
            masks = torch.cat([torch.zeros_like(masks), masks])
        return {"boxes": boxes, "positive_embeddings": phrase_embeddings, "masks": masks}

    def check_layout_inputs(
        self,
        prompt: str,
        layout_phrases: Sequence[str],
        layout_boxes: Sequence[Sequence[float]],
        height: int,
        width: int,
        num_inference_steps: int,
        output_type: str,
        max_sequence_length: int,
        callback_on_step_end_tensor_inputs: Sequence[str],
    ) -> None:
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
        if len(layout_phrases) != len(layout_boxes):
            raise ValueError(
                f"layout_phrases and layout_boxes must have the same length, got {len(layout_phrases)} "
                f"phrases and {len(layout_boxes)} boxes"
            )
        if len(layout_boxes) > self.max_boxes_per_image:
            raise ValueError(
                f"at most {self.max_boxes_per_image} layout boxes (max_boxes_per_image), got {len(layout_boxes)}"
            )
        for index, box in enumerate(layout_boxes):
            if len(box) != 4 or not all(math.isfinite(float(v)) for v in box):
                raise ValueError(f"layout_boxes[{index}] must be 4 finite numbers [x1, y1, x2, y2], got {box!r}")
        for index, phrase in enumerate(layout_phrases):
            if not isinstance(phrase, str):
                raise TypeError(f"layout_phrases[{index}] must be a string, got {type(phrase).__name__}")
        multiple = self.size_multiple
        if height % multiple or width % multiple or height <= 0 or width <= 0:
            raise ValueError(f"height and width must be positive multiples of {multiple}, got {height}×{width}")
        if num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be at least 1, got {num_inference_steps}")
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
        if max_sequence_length > 512:
            raise ValueError(f"max_sequence_length cannot be greater than 512, got {max_sequence_length}")
        unknown = [k for k in callback_on_step_end_tensor_inputs if k not in self._callback_tensor_inputs]
        if unknown:
            raise ValueError(f"callback_on_step_end_tensor_inputs {unknown} not in {self._callback_tensor_inputs}")

    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        layout_phrases: Sequence[str],
        layout_boxes: Sequence[Sequence[float]],
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 28,
        guidance_scale: float = 7.0,
        negative_prompt: str | None = None,
        generator: torch.Generator | None = None,
        output_type: str = "pil",
        max_sequence_length: int = 256,
        callback_on_step_end: Callable[[Any, int, torch.Tensor, Mapping[str, torch.Tensor]], dict] | None = None,
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
        return_dict: bool = True,
    ) -> StableDiffusion3PipelineOutput | tuple:
        """Render one image for `prompt` with one phrase per box (xyxy in 0..1, at most max_boxes_per_image).

        An empty layout renders as plain text-to-image with null layout tokens. After each step
        `callback_on_step_end(pipe, i, t, {name: tensor})` receives the requested tensors ("latents",
        "x0_pred" = x_t − σ_t·v in the scaled latent space, "prompt_embeds", "pooled_prompt_embeds");
        a returned "latents" replaces the latents. `interrupt_generation()` makes the call raise
        `GenerationInterrupted` before the next transformer call (or before decoding).
        """
        height = height or self.default_sample_size * self.vae_scale_factor
        width = width or self.default_sample_size * self.vae_scale_factor
        self.check_layout_inputs(
            prompt,
            layout_phrases,
            layout_boxes,
            height,
            width,
            num_inference_steps,
            output_type,
            max_sequence_length,
            callback_on_step_end_tensor_inputs,
        )
        self._guidance_scale = guidance_scale
        self._interrupt = False
        device = self._execution_device
        do_cfg = self.do_classifier_free_guidance

        negative_key = (negative_prompt or "", max_sequence_length, str(device))
        cached_negative, cached_negative_pooled = self._cached_negative(negative_key) if do_cfg else (None, None)
        prompt_embeds, negative_prompt_embeds, pooled_prompt_embeds, negative_pooled_prompt_embeds = self.encode_prompt(
            prompt=prompt,
            prompt_2=None,
            prompt_3=None,
            negative_prompt=negative_prompt,
            do_classifier_free_guidance=do_cfg,
            device=device,
            num_images_per_prompt=1,
            max_sequence_length=max_sequence_length,
            negative_prompt_embeds=cached_negative,
            negative_pooled_prompt_embeds=cached_negative_pooled,
        )
        if do_cfg:
            self._remember_negative(negative_key, negative_prompt_embeds, negative_pooled_prompt_embeds)
        if do_cfg:
            prompt_embeds = torch.cat([negative_prompt_embeds, prompt_embeds], dim=0)
            pooled_prompt_embeds = torch.cat([negative_pooled_prompt_embeds, pooled_prompt_embeds], dim=0)
        layout = self.prepare_layout(layout_phrases, layout_boxes, device, prompt_embeds.dtype, do_cfg)

        latents = self.prepare_latents(
            1, self.transformer.config.in_channels, height, width, prompt_embeds.dtype, device, generator
        )
        timesteps, num_inference_steps = retrieve_timesteps(self.scheduler, num_inference_steps, device)
        self._num_timesteps = len(timesteps)
        # Python floats, read once: indexing the schedule on the device in the loop would copy
        # (and on a GPU synchronise) every step.
        sigmas = [float(s) for s in self.scheduler.sigmas.tolist()]
        layout_steps = layout_step_count(num_inference_steps)
        if self.first_block_cache is not None:
            self.first_block_cache.reset()

        with self.progress_bar(total=num_inference_steps) as progress_bar:
            for i, t in enumerate(timesteps):
                if self._interrupt:
                    raise GenerationInterrupted(i, num_inference_steps)
                latent_model_input = torch.cat([latents] * 2) if do_cfg else latents
                noise_pred = self.transformer(
                    hidden_states=latent_model_input,
                    encoder_hidden_states=prompt_embeds,
                    pooled_projections=pooled_prompt_embeds,
                    timestep=t.expand(latent_model_input.shape[0]),
                    layout_kwargs={"layout": layout},
                    bbox_scale=1.0 if i < layout_steps else 0.0,
                    return_dict=False,
                )[0]
                if do_cfg:
                    noise_pred_uncond, noise_pred_text = noise_pred.chunk(2)
                    noise_pred = noise_pred_uncond + guidance_scale * (noise_pred_text - noise_pred_uncond)

                latents_before = latents
                latents = self.scheduler.step(noise_pred, t, latents, return_dict=False)[0]

                if callback_on_step_end is not None:
                    callback_kwargs = StepTensors(
                        callback_on_step_end_tensor_inputs,
                        ready={
                            "latents": latents,
                            "prompt_embeds": prompt_embeds,
                            "pooled_prompt_embeds": pooled_prompt_embeds,
                        },
                        # Bound now: the tensors are read (if at all) before the next step.
                        makers={
                            "x0_pred": partial(self._predicted_clean_latents, latents_before, noise_pred, sigmas[i])
                        },
                    )
                    callback_outputs = callback_on_step_end(self, i, t, callback_kwargs) or {}
                    latents = callback_outputs.pop("latents", latents)
                    prompt_embeds = callback_outputs.pop("prompt_embeds", prompt_embeds)
                    pooled_prompt_embeds = callback_outputs.pop("pooled_prompt_embeds", pooled_prompt_embeds)
                progress_bar.update()

        if self._interrupt:
            raise GenerationInterrupted(num_inference_steps, num_inference_steps)
        if output_type == "latent":
            image = latents
        else:
            latents = latents / self.vae.config.scaling_factor + self.vae.config.shift_factor
            image = self.vae.decode(latents.to(self.vae.dtype), return_dict=False)[0]
            image = self.image_processor.postprocess(image, output_type=output_type)

        self.maybe_free_model_hooks()
        if not return_dict:
            return (image,)
        return StableDiffusion3PipelineOutput(images=image)

    @staticmethod
    def _predicted_clean_latents(latents: torch.Tensor, velocity: torch.Tensor, sigma: float) -> torch.Tensor:
        """x0 = x_t − σ_t·v for the step just taken (rectified flow), in the latents' dtype."""
        return (latents.float() - sigma * velocity.float()).to(latents.dtype)
