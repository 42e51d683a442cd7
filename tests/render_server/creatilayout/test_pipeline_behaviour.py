"""Pipeline behaviour beyond the goldens: cancellation, previews, empty layouts, bad input, dtype."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from render_server.creatilayout.pipeline import CreatiLayoutPipeline, GenerationInterrupted, layout_step_count
from tests.render_server.creatilayout.golden import assert_close, max_abs_diff

PROMPT = "a lone cowboy in a desert at dusk"
PHRASES = ["cowboy hat", "old horse", "setting sun"]
BOXES = [[0.1, 0.1, 0.5, 0.6], [0.4, 0.4, 0.95, 0.95], [0.6, 0.05, 0.9, 0.35]]
SMALL = {"height": 64, "width": 64, "num_inference_steps": 4}


def _count_transformer_calls(pipe) -> tuple[list[dict], object]:
    calls: list[dict] = []
    handle = pipe.transformer.register_forward_pre_hook(lambda _m, _a, kwargs: calls.append(kwargs), with_kwargs=True)
    return calls, handle


@pytest.mark.parametrize(("steps", "expected"), [(1, 0), (3, 0), (4, 1), (5, 1), (10, 3), (28, 8), (50, 15)])
def test_layout_step_count_truncates(steps, expected) -> None:
    assert layout_step_count(steps) == expected
    assert CreatiLayoutPipeline.layout_step_count(steps) == expected


@pytest.mark.parametrize("stop_after", [0, 2])
def test_interrupt_stops_before_the_next_transformer_call(tiny_pipeline, stop_after) -> None:
    seen_steps: list[int] = []

    def cancel_at(pipe, i, _t, _kwargs):
        seen_steps.append(i)
        if i == stop_after:
            pipe.interrupt_generation()
        return {}

    calls, handle = _count_transformer_calls(tiny_pipeline)
    try:
        with pytest.raises(GenerationInterrupted) as raised:
            tiny_pipeline(PROMPT, PHRASES, BOXES, **SMALL, guidance_scale=5.0, callback_on_step_end=cancel_at)
    finally:
        handle.remove()
    assert len(calls) == stop_after + 1
    assert seen_steps == list(range(stop_after + 1))
    assert raised.value.completed_steps == stop_after + 1
    assert raised.value.total_steps == 4


def test_interrupt_flag_is_reset_by_the_next_call(tiny_pipeline) -> None:
    tiny_pipeline.interrupt_generation()
    image = tiny_pipeline(PROMPT, PHRASES, BOXES, **SMALL, guidance_scale=1.0, output_type="latent").images
    assert image.shape == (1, 16, 8, 8)


def test_interrupt_during_the_last_step_skips_decoding(tiny_pipeline, monkeypatch) -> None:
    def cancel_last(pipe, i, _t, _kwargs):
        if i == 3:
            pipe._interrupt = True  # diffusers' convention works too
        return {}

    decodes: list[int] = []
    original_decode = tiny_pipeline.vae.decode
    monkeypatch.setattr(tiny_pipeline.vae, "decode", lambda *a, **k: (decodes.append(1), original_decode(*a, **k))[1])
    with pytest.raises(GenerationInterrupted):
        tiny_pipeline(PROMPT, PHRASES, BOXES, **SMALL, guidance_scale=5.0, callback_on_step_end=cancel_last)
    assert decodes == []


def test_x0_prediction_is_the_rectified_flow_clean_latent(tiny_pipeline, pipeline_golden) -> None:
    """x0 = x_t − σ_t·v; checked against the golden trajectory, where v = Δlatents / Δσ."""
    tensors, _ = pipeline_golden
    name = "case1_cfg_3boxes"
    predictions: list[torch.Tensor] = []

    def keep(_pipe, _i, _t, kwargs):
        assert set(kwargs) == {"latents", "x0_pred"}
        predictions.append(kwargs["x0_pred"].clone())
        return {}

    tiny_pipeline(
        PROMPT,
        PHRASES,
        BOXES,
        **SMALL,
        guidance_scale=5.0,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="latent",
        callback_on_step_end=keep,
        callback_on_step_end_tensor_inputs=["latents", "x0_pred"],
    )
    sigmas = tensors[f"{name}.scheduler_sigmas"]
    before = [tensors[f"{name}.initial_noise"]] + [tensors[f"{name}.step{i}.latents"] for i in range(3)]
    for i, prediction in enumerate(predictions):
        after = tensors[f"{name}.step{i}.latents"]
        velocity = (after - before[i]) / (sigmas[i + 1] - sigmas[i])
        assert_close(prediction, before[i] - sigmas[i] * velocity, atol=1e-3, rtol=1e-3)
    # The last step lands on σ = 0, where the prediction is the result itself.
    assert_close(predictions[-1], tensors[f"{name}.latents_final"])


def test_callback_can_replace_latents(tiny_pipeline) -> None:
    def zero_latents(_pipe, i, _t, kwargs):
        return {"latents": torch.zeros_like(kwargs["latents"])} if i == 3 else {}

    latents = tiny_pipeline(
        PROMPT, PHRASES, BOXES, **SMALL, guidance_scale=1.0, output_type="latent", callback_on_step_end=zero_latents
    ).images
    assert torch.count_nonzero(latents) == 0


def test_empty_layout_renders_text_to_image_with_null_layout_tokens(tiny_pipeline) -> None:
    calls, handle = _count_transformer_calls(tiny_pipeline)
    phrase_encodings: list[int] = []
    encoder_handle = tiny_pipeline.text_encoder.register_forward_pre_hook(lambda *_: phrase_encodings.append(1))
    try:
        result = tiny_pipeline(PROMPT, [], [], **SMALL, guidance_scale=5.0, output_type="np")
    finally:
        handle.remove()
        encoder_handle.remove()
    image = result.images
    assert image.shape == (1, 64, 64, 3) and (image >= 0).all() and (image <= 1).all()
    layout = calls[0]["layout_kwargs"]["layout"]
    assert layout["masks"].shape == (2, 10) and torch.count_nonzero(layout["masks"]) == 0
    assert torch.count_nonzero(layout["boxes"]) == 0
    assert [c["bbox_scale"] for c in calls] == [1.0, 0.0, 0.0, 0.0]
    assert len(phrase_encodings) == 2, "only the prompt and the negative prompt are CLIP-encoded"


def test_empty_layout_feeds_pure_null_tokens_and_differs_from_a_real_layout(tiny_pipeline) -> None:
    calls, handle = _count_transformer_calls(tiny_pipeline)
    try:
        empty = tiny_pipeline(
            PROMPT,
            [],
            [],
            **SMALL,
            guidance_scale=1.0,
            generator=torch.Generator("cpu").manual_seed(0),
            output_type="latent",
        ).images
    finally:
        handle.remove()
    first = calls[0]
    layout = first["layout_kwargs"]["layout"]
    # With every mask 0 the box and phrase contents cannot matter: each slot is the learned null token.
    scrambled = {
        "boxes": torch.rand_like(layout["boxes"]),
        "positive_embeddings": torch.randn_like(layout["positive_embeddings"]),
        "masks": layout["masks"],
    }
    with torch.no_grad():
        as_fed = tiny_pipeline.transformer(**first)[0]
        with_scrambled = tiny_pipeline.transformer(**{**first, "layout_kwargs": {"layout": scrambled}})[0]
    assert torch.equal(as_fed, with_scrambled)

    real = tiny_pipeline(
        PROMPT,
        PHRASES,
        BOXES,
        **SMALL,
        guidance_scale=1.0,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="latent",
    ).images
    assert torch.isfinite(empty).all()
    assert max_abs_diff(empty, real) > 0.01  # ~0.08 here; float noise is ~1e-5


def test_negative_prompt_changes_the_result(tiny_pipeline) -> None:
    def latents(negative):
        return tiny_pipeline(
            PROMPT,
            PHRASES,
            BOXES,
            **SMALL,
            guidance_scale=5.0,
            negative_prompt=negative,
            generator=torch.Generator("cpu").manual_seed(0),
            output_type="latent",
        ).images

    assert max_abs_diff(latents(None), latents("")) == 0.0
    assert max_abs_diff(latents(None), latents("blurry")) > 1e-3


def test_pil_output_is_the_rounded_numpy_image(tiny_pipeline) -> None:
    kwargs = dict(**SMALL, guidance_scale=5.0, negative_prompt=None)
    array = tiny_pipeline(
        PROMPT, PHRASES, BOXES, **kwargs, generator=torch.Generator("cpu").manual_seed(0), output_type="np"
    ).images[0]
    image = tiny_pipeline(PROMPT, PHRASES, BOXES, **kwargs, generator=torch.Generator("cpu").manual_seed(0)).images[0]
    assert image.size == (64, 64) and image.mode == "RGB"
    expected = torch.from_numpy(array * 255).round()
    assert max_abs_diff(torch.from_numpy(np.array(image)).float(), expected) <= 1


@pytest.mark.parametrize(
    ("phrases", "boxes", "overrides", "message"),
    [
        (["a"] * 11, [[0.1, 0.1, 0.2, 0.2]] * 11, {}, "at most 10 layout boxes"),
        (["a", "b"], [[0.1, 0.1, 0.2, 0.2]], {}, "same length"),
        (["a"], [[0.1, 0.1, 0.2]], {}, r"layout_boxes\[0\] must be 4 finite numbers"),
        (["a"], [[0.1, float("nan"), 0.2, 0.3]], {}, r"layout_boxes\[0\]"),
        ([], [], {"height": 72}, "multiples of 16"),
        ([], [], {"num_inference_steps": 0}, "num_inference_steps"),
        ([], [], {"output_type": "png"}, "output_type"),
        ([], [], {"max_sequence_length": 600}, "max_sequence_length"),
        ([], [], {"callback_on_step_end_tensor_inputs": ["noise"]}, "callback_on_step_end_tensor_inputs"),
    ],
)
def test_bad_input_is_rejected_before_any_work(tiny_pipeline, phrases, boxes, overrides, message) -> None:
    calls, handle = _count_transformer_calls(tiny_pipeline)
    try:
        with pytest.raises(ValueError, match=message):
            tiny_pipeline(PROMPT, phrases, boxes, **{**SMALL, **overrides})
    finally:
        handle.remove()
    assert calls == []


def test_max_boxes_comes_from_the_transformer_config(fixtures_dir) -> None:
    from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel

    directory = fixtures_dir / "tiny" / "pipeline"
    transformer = SiamLayoutSD3Transformer2DModel.from_pretrained(directory / "transformer")
    transformer.register_to_config(max_boxes_per_image=2)
    pipe = CreatiLayoutPipeline.from_pretrained(directory, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    assert pipe.max_boxes_per_image == 2
    with pytest.raises(ValueError, match="at most 2 layout boxes"):
        pipe(PROMPT, PHRASES, BOXES, **SMALL)
    calls, handle = _count_transformer_calls(pipe)
    try:
        pipe(PROMPT, PHRASES[:2], BOXES[:2], **SMALL, guidance_scale=1.0, output_type="latent")
    finally:
        handle.remove()
    assert calls[0]["layout_kwargs"]["layout"]["masks"].tolist() == [[1.0, 1.0]]


def test_mismatched_text_encoders_are_refused(fixtures_dir) -> None:
    from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel

    directory = fixtures_dir / "tiny" / "pipeline"
    transformer = SiamLayoutSD3Transformer2DModel.from_pretrained(directory / "transformer")
    transformer.register_to_config(pooled_projection_dim=4096)
    with pytest.raises(ValueError, match="pooled_projection_dim"):
        CreatiLayoutPipeline.from_pretrained(directory, transformer=transformer)


def test_pipeline_runs_in_bfloat16(fixtures_dir, pipeline_golden) -> None:
    from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel

    tensors, _ = pipeline_golden
    directory = fixtures_dir / "tiny" / "pipeline"
    transformer = SiamLayoutSD3Transformer2DModel.from_pretrained(directory / "transformer", dtype=torch.bfloat16)
    pipe = CreatiLayoutPipeline.from_pretrained(directory, transformer=transformer, dtype=torch.bfloat16)
    pipe.set_progress_bar_config(disable=True)
    previews: list[torch.Tensor] = []
    latents = pipe(
        PROMPT,
        PHRASES,
        BOXES,
        **SMALL,
        guidance_scale=1.0,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="latent",
        callback_on_step_end=lambda _p, _i, _t, kw: previews.append(kw["x0_pred"]) or {},
        callback_on_step_end_tensor_inputs=["x0_pred"],
    ).images
    assert latents.dtype == torch.bfloat16 and previews[0].dtype == torch.bfloat16
    golden = tensors["case2_nocfg_3boxes.latents_final"]
    assert (latents.float() - golden).abs().mean().item() < 0.1 * golden.abs().mean().item()
    image = pipe(PROMPT, PHRASES, BOXES, **SMALL, guidance_scale=1.0, output_type="np").images
    assert image.dtype.name == "float32" and image.shape == (1, 64, 64, 3)
