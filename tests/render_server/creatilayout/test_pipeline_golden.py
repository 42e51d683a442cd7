"""The tiny CreatiLayout pipeline against the reference goldens, for all four cases (fixture README §5-7)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from tests.render_server.creatilayout.golden import assert_close, call_as_recorded

CASES = ["case1_cfg_3boxes", "case2_nocfg_3boxes", "case3_cfg_1box", "case4_cfg_3boxes_nonsquare_5steps"]


@dataclass
class Recording:
    """What the pipeline fed its models during one call."""

    step_latents: list[torch.Tensor] = field(default_factory=list)
    transformer_kwargs: list[dict] = field(default_factory=list)
    transformer_outputs: list[torch.Tensor] = field(default_factory=list)
    input_ids: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    encoder_outputs: dict[str, list[torch.Tensor]] = field(default_factory=dict)


def _record_call(pipe, call: dict, output_type: str) -> tuple[object, Recording]:
    recording = Recording()
    handles = []

    def on_transformer(_module, _args, kwargs, output):
        recording.transformer_kwargs.append(kwargs)
        recording.transformer_outputs.append(output[0])

    handles.append(pipe.transformer.register_forward_hook(on_transformer, with_kwargs=True))
    for name in ("text_encoder", "text_encoder_2", "text_encoder_3"):
        ids, outs = recording.input_ids.setdefault(name, []), recording.encoder_outputs.setdefault(name, [])

        def on_encoder(_module, args, kwargs, output, ids=ids, outs=outs):
            ids.append(args[0] if args else kwargs["input_ids"])
            outs.append(output[0])

        handles.append(getattr(pipe, name).register_forward_hook(on_encoder, with_kwargs=True))

    def on_step(_pipe, _i, _t, callback_kwargs):
        recording.step_latents.append(callback_kwargs["latents"].clone())
        return {}

    try:
        result = call_as_recorded(pipe, call, output_type, callback_on_step_end=on_step)
    finally:
        for handle in handles:
            handle.remove()
    return result, recording


@pytest.fixture(scope="module", params=CASES)
def case_run(request, tiny_pipeline, pipeline_golden):
    tensors, meta = pipeline_golden
    name = request.param
    result, recording = _record_call(tiny_pipeline, meta["cases"][name]["call"], "np")
    schedule = (tiny_pipeline.scheduler.timesteps.clone(), tiny_pipeline.scheduler.sigmas.clone())
    golden = {key.removeprefix(f"{name}."): value for key, value in tensors.items() if key.startswith(f"{name}.")}
    return name, meta["cases"][name], golden, result, recording, schedule


def test_final_image_matches(case_run) -> None:
    _, _, golden, result, _, _ = case_run
    assert_close(torch.from_numpy(result.images), golden["image_np"], atol=1e-4, rtol=0)


def test_latents_after_every_step_match(case_run) -> None:
    _, info, golden, _, recording, _ = case_run
    assert len(recording.step_latents) == info["num_steps"]
    for step, latents in enumerate(recording.step_latents):
        assert_close(latents, golden[f"step{step}.latents"])
    assert_close(recording.step_latents[-1], golden["latents_final"])


def test_raw_transformer_outputs_match(case_run) -> None:
    _, info, golden, _, recording, _ = case_run
    assert len(recording.transformer_outputs) == info["num_steps"]
    for step, output in enumerate(recording.transformer_outputs):
        assert output.shape[0] == info["transformer_batch"]
        assert_close(output, golden[f"step{step}.transformer_out"])


def test_transformer_inputs_match(case_run) -> None:
    _, _info, golden, _, recording, _ = case_run
    first = recording.transformer_kwargs[0]
    layout = first["layout_kwargs"]["layout"]
    assert_close(first["encoder_hidden_states"], golden["transformer_in.encoder_hidden_states"])
    assert_close(first["pooled_projections"], golden["transformer_in.pooled_projections"])
    assert_close(layout["positive_embeddings"], golden["transformer_in.layout_phrase_embeddings"])
    assert_close(layout["boxes"], golden["transformer_in.layout_boxes"], atol=1e-6, rtol=0)
    assert torch.equal(layout["masks"].float(), golden["transformer_in.layout_masks"])
    assert torch.equal(first["hidden_states"][:1], golden["initial_noise"])
    for kwargs in recording.transformer_kwargs[1:]:
        assert kwargs["encoder_hidden_states"] is first["encoder_hidden_states"]


def test_schedule_and_layout_steps_match(case_run) -> None:
    _, info, golden, _, recording, (timesteps, sigmas) = case_run
    fed = torch.stack([kwargs["timestep"] for kwargs in recording.transformer_kwargs])
    assert (fed == fed[:, :1]).all(), "every batch row gets the same timestep"
    assert_close(fed[:, 0], golden["timesteps"], atol=1e-6, rtol=0)
    assert_close(timesteps, golden["scheduler_timesteps"], atol=1e-6, rtol=0)
    assert_close(sigmas, golden["scheduler_sigmas"], atol=1e-6, rtol=0)
    assert [kwargs["bbox_scale"] for kwargs in recording.transformer_kwargs] == info["bbox_scale_per_step"]


def test_token_ids_and_phrase_embeddings_match(case_run) -> None:
    _, info, golden, _, recording, _ = case_run
    cfg = info["classifier_free_guidance"]
    for encoder, tokenizer in (("text_encoder", "tokenizer"), ("text_encoder_2", "tokenizer_2")):
        calls = recording.input_ids[encoder]
        roles = ["prompt", "negative_prompt", "bbox_phrases"] if cfg else ["prompt", "bbox_phrases"]
        assert len(calls) == len(roles)
        for role, ids in zip(roles, calls, strict=False):
            assert torch.equal(ids.cpu(), golden[f"token_ids.{tokenizer}.{role}"]), f"{tokenizer} {role}"
    t5_roles = ["prompt", "negative_prompt"] if cfg else ["prompt"]
    assert len(recording.input_ids["text_encoder_3"]) == len(t5_roles), "T5 never encodes phrases"
    for role, ids in zip(t5_roles, recording.input_ids["text_encoder_3"], strict=False):
        assert torch.equal(ids.cpu(), golden[f"token_ids.tokenizer_3.{role}"]), f"tokenizer_3 {role}"
    assert_close(recording.encoder_outputs["text_encoder"][-1], golden["phrase_embeds.text_encoder_1"])
    assert_close(recording.encoder_outputs["text_encoder_2"][-1], golden["phrase_embeds.text_encoder_2"])


@pytest.mark.parametrize("name", CASES)
def test_latent_output_matches(tiny_pipeline, pipeline_golden, name) -> None:
    tensors, meta = pipeline_golden
    call = meta["cases"][name]["call"]
    latents = call_as_recorded(tiny_pipeline, call, "latent").images
    assert_close(latents, tensors[f"{name}.latents_final"])
