"""Speed options of the pipeline leave the pictures as they were: x0 only when a preview reads it,
the schedule read once as Python floats, and the negative-prompt cache."""

from __future__ import annotations

import pytest
import torch

from render_server.creatilayout.pipeline import CreatiLayoutPipeline
from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel

PROMPT = "a lone cowboy in a desert at dusk"
PHRASES = ["cowboy hat", "old horse", "setting sun"]
BOXES = [[0.1, 0.1, 0.5, 0.6], [0.4, 0.4, 0.95, 0.95], [0.6, 0.05, 0.9, 0.35]]
SMALL = {"height": 64, "width": 64, "num_inference_steps": 4}


@pytest.fixture(scope="module")
def own_pipeline(fixtures_dir):
    """A pipeline of this module's own: enabling the cache must not change other tests' pipeline."""
    directory = fixtures_dir / "tiny" / "pipeline"
    transformer = SiamLayoutSD3Transformer2DModel.from_pretrained(directory / "transformer")
    pipe = CreatiLayoutPipeline.from_pretrained(directory, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _run(pipe, negative: str | None = None, **kwargs) -> torch.Tensor:
    return pipe(
        PROMPT,
        PHRASES,
        BOXES,
        **SMALL,
        guidance_scale=5.0,
        negative_prompt=negative,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="latent",
        **kwargs,
    ).images


def test_x0_is_computed_only_on_the_steps_whose_callback_reads_it(own_pipeline, monkeypatch) -> None:
    computed: list[float] = []
    original = CreatiLayoutPipeline._predicted_clean_latents

    def counting(latents, velocity, sigma):
        computed.append(sigma)
        return original(latents, velocity, sigma)

    monkeypatch.setattr(own_pipeline, "_predicted_clean_latents", counting)
    previews: dict[int, torch.Tensor] = {}

    def preview_every_second_step(_pipe, i, _t, tensors):
        if i % 2 == 1:
            previews[i] = tensors["x0_pred"]
        return {}

    latents = _run(
        own_pipeline, callback_on_step_end=preview_every_second_step, callback_on_step_end_tensor_inputs=["x0_pred"]
    )
    assert sorted(previews) == [1, 3] and len(computed) == 2
    # σ is the schedule's value for the step just taken; the last step lands on σ = 0 (x0 = result).
    assert computed[-1] == pytest.approx(float(own_pipeline.scheduler.sigmas[3]))
    assert torch.equal(previews[3], latents)


@pytest.mark.parametrize("negative", [None, "blurry, text"])
def test_negative_prompt_cache_encodes_once_and_changes_nothing(own_pipeline, negative) -> None:
    reference = _run(own_pipeline, negative)
    t5_calls: list[int] = []
    handle = own_pipeline.text_encoder_3.register_forward_pre_hook(lambda *_: t5_calls.append(1))
    try:
        own_pipeline.enable_negative_prompt_cache(max_entries=2)
        first = _run(own_pipeline, negative)
        encodings_first = len(t5_calls)
        second = _run(own_pipeline, negative)
        encodings_second = len(t5_calls) - encodings_first
    finally:
        handle.remove()
        own_pipeline._negative_cache = None
    assert torch.equal(first, reference) and torch.equal(second, reference)
    # First job: prompt and negative prompt; a later one with the same negative: the prompt only.
    assert (encodings_first, encodings_second) == (2, 1)


def test_negative_prompt_cache_keeps_the_most_recent_entries(own_pipeline) -> None:
    own_pipeline.enable_negative_prompt_cache(max_entries=1)
    try:
        _run(own_pipeline, "first")
        _run(own_pipeline, "second")
        assert [key[0] for key in own_pipeline._negative_cache] == ["second"]
    finally:
        own_pipeline._negative_cache = None
    with pytest.raises(ValueError, match="at least 1"):
        own_pipeline.enable_negative_prompt_cache(max_entries=0)
