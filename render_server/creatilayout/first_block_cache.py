"""First-block cache for the SiamLayout SD3 transformer: skip the later blocks on steps where they
would change little.

Late denoising steps move the latents less and less, so the transformer's blocks compute nearly the
same residual (output − input) step after step. The first-block cache (ParaAttention's "First Block
Cache", also diffusers' `apply_first_block_cache`) runs the first block on every step and compares
its residual with the one it had on the last step that ran every block; when the relative L1
change is under a threshold, the other blocks are not run and their cached residual is added to
the first block's output instead. Comparing with the last full step rather than the previous
step means skipped steps cannot drift unnoticed: the change grows until a full step refreshes the
cache.

Why a cache of our own rather than diffusers' hook: the SiamLayout blocks return three streams
(text, image, layout), and the layout branch must never be skipped. Steps with the layout branch
on (`bbox_scale` != 0, the first 30 % of steps) run every block, record nothing and forget the
baseline, so the first step after them always runs in full. Only the image stream needs a cached
residual: the last block is context-pre-only (it returns no text stream) and the transformer's
output reads the image stream alone, so the text stream the skipped blocks would have produced is
never used. Classifier-free guidance runs both halves as one batch, so the cache is per batch
tensor and both halves skip together.

The blocks are hooked through diffusers' `HookRegistry` (their `forward` is wrapped; their weights,
names and state dict are untouched). Approximate by nature, so the render server enables it only
when asked (`--first-block-cache THRESHOLD`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from diffusers.hooks import HookRegistry, ModelHook

_HEAD_HOOK = "marquee_first_block_cache_head"
_BLOCK_HOOK = "marquee_first_block_cache_block"


def relative_l1(current: torch.Tensor, reference: torch.Tensor) -> float:
    """mean|current − reference| / mean|reference|, in float32 (bf16 means would round the ratio)."""
    reference = reference.float()
    return float((current.float() - reference).abs().mean() / reference.abs().mean().clamp_min(1e-12))


def _keyword_call(args: tuple[Any, ...], module: torch.nn.Module) -> None:
    # The transformer calls its blocks with keywords only; the hooks read the streams by name.
    if args:
        raise TypeError(f"{type(module).__name__} under the first-block cache must be called with keyword arguments")


class FirstBlockCache:
    """Reuses the residual of every block after the first on steps without the layout branch.

    `attach(transformer, threshold)` hooks the transformer's blocks; `reset()` starts a new image
    (the pipeline calls it at the start of every call). `skipped_steps` lists the transformer calls
    (0-based, one per denoising step) since the last reset that reused the cache; `changes` the
    relative L1 change of the first block's residual measured on each step that had a baseline
    (what a threshold is compared with, for choosing one).
    """

    def __init__(self, threshold: float) -> None:
        if not math.isfinite(threshold) or threshold < 0:
            raise ValueError(f"first-block cache threshold must be a finite number >= 0, got {threshold}")
        #: Skip when the first block's residual changed by less than this (relative L1); 0 never skips.
        self.threshold = threshold
        self.skipped_steps: list[int] = []
        self.changes: list[float] = []
        self._blocks: list[torch.nn.Module] = []
        self.reset()

    @classmethod
    def attach(cls, transformer: torch.nn.Module, threshold: float) -> FirstBlockCache:
        """Hook `transformer.transformer_blocks` (a SiamLayout SD3 transformer, compiled or not)."""
        cache = cls(threshold)
        blocks = list(transformer.transformer_blocks)
        if len(blocks) < 2:
            raise ValueError(f"the first-block cache needs at least 2 transformer blocks, got {len(blocks)}")
        if not getattr(blocks[-1], "context_pre_only", False):
            raise ValueError(
                "the first-block cache caches the image stream only: the last block must be context-pre-only"
            )
        if HookRegistry.check_if_exists_or_initialize(blocks[0]).get_hook(_HEAD_HOOK) is not None:
            raise ValueError("this transformer already has a first-block cache; detach it first")
        HookRegistry.check_if_exists_or_initialize(blocks[0]).register_hook(_HeadHook(cache), _HEAD_HOOK)
        for index, block in enumerate(blocks[1:], start=1):
            hook = _BlockHook(cache, is_tail=index == len(blocks) - 1)
            HookRegistry.check_if_exists_or_initialize(block).register_hook(hook, _BLOCK_HOOK)
        cache._blocks = blocks
        return cache

    def detach(self) -> None:
        """Remove the hooks: the blocks run as before."""
        if self._blocks:
            HookRegistry.check_if_exists_or_initialize(self._blocks[0]).remove_hook(_HEAD_HOOK, recurse=False)
            for block in self._blocks[1:]:
                HookRegistry.check_if_exists_or_initialize(block).remove_hook(_BLOCK_HOOK, recurse=False)
        self._blocks = []
        self.reset()

    def reset(self) -> None:
        """Forget everything about the previous image (its residuals would be another image's)."""
        self.skipped_steps = []
        self.changes = []
        self._step = -1
        self.skipping = False
        self._head_residual: torch.Tensor | None = None
        self._head_output: torch.Tensor | None = None
        self._tail_residual: torch.Tensor | None = None

    # Kept out of torch.compile: the decision reads a value back (`.item()`) and the bookkeeping
    # changes Python state every step, which would otherwise recompile the graph each step.
    @torch.compiler.disable
    def after_head(self, hidden_in: torch.Tensor, bbox_scale: float, output: tuple) -> tuple:
        """The first block's output, with the cached residual of the others added on a skipped step."""
        self._step += 1
        self.skipping = False
        if bbox_scale != 0:
            # Layout step: everything runs; its residuals come from another function (the layout
            # branch is on), so they are no baseline for the steps after it.
            self._head_residual = self._head_output = self._tail_residual = None
            return output
        encoder_hidden_states, hidden_states, layout_hidden_states = output
        residual = hidden_states - hidden_in
        if self._head_residual is not None and self._tail_residual is not None:
            self.changes.append(relative_l1(residual, self._head_residual))
            self.skipping = self.changes[-1] < self.threshold
        if self.skipping:
            self.skipped_steps.append(self._step)
            return encoder_hidden_states, hidden_states + self._tail_residual, layout_hidden_states
        self._head_residual = residual
        self._head_output = hidden_states
        return output

    @torch.compiler.disable
    def after_tail(self, hidden_out: torch.Tensor) -> None:
        """Remember what the blocks after the first added to the image stream on a full step."""
        if self._head_output is not None:
            self._tail_residual = hidden_out - self._head_output


class _HeadHook(ModelHook):
    def __init__(self, cache: FirstBlockCache) -> None:
        super().__init__()
        self.cache = cache

    # Under torch.compile only the block itself is compiled (recursive=False): the hook's Python
    # branches would otherwise be guards, one graph per cache state.
    @torch.compiler.disable(recursive=False)
    def new_forward(self, module: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        _keyword_call(args, module)
        output = self.fn_ref.original_forward(**kwargs)
        return self.cache.after_head(kwargs["hidden_states"], kwargs.get("bbox_scale", 1.0), output)


class _BlockHook(ModelHook):
    def __init__(self, cache: FirstBlockCache, is_tail: bool) -> None:
        super().__init__()
        self.cache = cache
        self.is_tail = is_tail

    @torch.compiler.disable(recursive=False)
    def new_forward(self, module: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        _keyword_call(args, module)
        if self.cache.skipping:
            # Passed through unchanged, in the block's own return shape; the image stream already
            # carries the cached residual, and the layout stream is kept (None: unchanged).
            text = None if module.context_pre_only else kwargs["encoder_hidden_states"]
            return text, kwargs["hidden_states"], None
        output = self.fn_ref.original_forward(**kwargs)
        if self.is_tail:
            self.cache.after_tail(output[1])
        return output
