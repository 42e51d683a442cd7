"""The tiny SiamLayout transformer against the reference outputs in transformer_io (atol/rtol 1e-4)."""

from __future__ import annotations

import pytest
import torch

from tests.render_server.creatilayout.golden import assert_close, max_abs_diff


def _layout(io: dict[str, torch.Tensor], masks: torch.Tensor | None = None) -> dict:
    return {
        "layout": {
            "boxes": io["inputs.layout_boxes"],
            "positive_embeddings": io["inputs.layout_phrase_embeddings"],
            "masks": io["inputs.layout_masks"] if masks is None else masks,
        }
    }


def _forward(model, io, *, scale: float, layout_kwargs="real", hidden_states: str = "inputs.hidden_states"):
    if layout_kwargs == "real":
        layout_kwargs = _layout(io)
    with torch.no_grad():
        return model(
            hidden_states=io[hidden_states],
            encoder_hidden_states=io["inputs.encoder_hidden_states"],
            pooled_projections=io["inputs.pooled_projections"],
            timestep=io["inputs.timestep"],
            layout_kwargs=layout_kwargs,
            bbox_scale=scale,
        ).sample


@pytest.mark.parametrize(
    ("scale", "hidden_states", "golden"),
    [
        (1.0, "inputs.hidden_states", "outputs.sample_bbox_scale_1"),
        (0.0, "inputs.hidden_states", "outputs.sample_bbox_scale_0"),
        (0.5, "inputs.hidden_states", "outputs.sample_bbox_scale_0_5"),
        (1.0, "inputs.hidden_states_nonsquare", "outputs.sample_nonsquare_bbox_scale_1"),
        (0.0, "inputs.hidden_states_nonsquare", "outputs.sample_nonsquare_bbox_scale_0"),
    ],
)
def test_output_matches_reference(tiny_transformer, transformer_io, scale, hidden_states, golden) -> None:
    assert_close(
        _forward(tiny_transformer, transformer_io, scale=scale, hidden_states=hidden_states), transformer_io[golden]
    )


def test_all_null_layout_matches_reference(tiny_transformer, transformer_io) -> None:
    masks = torch.zeros_like(transformer_io["inputs.layout_masks"])
    output = _forward(tiny_transformer, transformer_io, scale=1.0, layout_kwargs=_layout(transformer_io, masks))
    assert_close(output, transformer_io["outputs.sample_all_null_layout"])


def test_missing_layout_input_starts_from_a_zero_layout_stream_like_the_reference(
    tiny_transformer, transformer_io
) -> None:
    output = _forward(tiny_transformer, transformer_io, scale=1.0, layout_kwargs=None)
    assert_close(output, transformer_io["outputs.sample_no_layout_kwargs"])


def test_layout_tokens_and_fourier_embedding_match_reference(tiny_transformer, transformer_io) -> None:
    io = transformer_io
    with torch.no_grad():
        tokens = tiny_transformer.embed_layout(
            io["inputs.layout_boxes"], io["inputs.layout_masks"], io["inputs.layout_phrase_embeddings"]
        )
        null_tokens = tiny_transformer.embed_layout(
            io["inputs.layout_boxes"],
            torch.zeros_like(io["inputs.layout_masks"]),
            io["inputs.layout_phrase_embeddings"],
        )
        fourier = tiny_transformer.position_net.fourier_embedding(io["inputs.layout_boxes"])
    assert_close(tokens, io["outputs.layout_tokens"])
    assert_close(null_tokens, io["outputs.layout_tokens_all_null"])
    assert_close(fourier, io["outputs.fourier_box_embeddings"], atol=1e-6, rtol=0)


def test_every_stage_matches_the_reference_debug_tensors(tiny_transformer, transformer_io) -> None:
    """Pinpoints a regression: patch embedding, conditioning, context, layout tokens and each block's streams."""
    captured: dict[str, torch.Tensor] = {}

    def keep(name):
        def hook(_module, _args, output):
            captured[name] = output

        return hook

    model = tiny_transformer
    handles = [
        model.pos_embed.register_forward_hook(keep("patch_embed_out")),
        model.time_text_embed.register_forward_hook(keep("temb")),
        model.context_embedder.register_forward_hook(keep("context_embedder_out")),
        model.position_net.register_forward_hook(keep("position_net_out")),
    ]
    handles += [block.register_forward_hook(keep(f"block{i}")) for i, block in enumerate(model.transformer_blocks)]
    try:
        _forward(model, transformer_io, scale=1.0)
    finally:
        for handle in handles:
            handle.remove()

    for name in ("patch_embed_out", "temb", "context_embedder_out", "position_net_out"):
        assert_close(captured[name], transformer_io[f"debug.{name}"])
    last = len(model.transformer_blocks) - 1
    for i in range(last + 1):
        text, image, layout = captured[f"block{i}"]
        assert_close(image, transformer_io[f"debug.block{i}.hidden_states"])
        if i < last:
            assert_close(text, transformer_io[f"debug.block{i}.encoder_hidden_states"])
            assert_close(layout, transformer_io[f"debug.block{i}.layout_hidden_states"])
        else:
            assert text is None and layout is None


def test_unpadded_layout_is_padded_with_null_slots(tiny_transformer, transformer_io) -> None:
    """Three real boxes given without padding behave exactly like the same boxes padded to 10 slots."""
    io = transformer_io
    first = slice(0, 1)
    padded = {
        "boxes": io["inputs.layout_boxes"][first],
        "positive_embeddings": io["inputs.layout_phrase_embeddings"][first],
        "masks": io["inputs.layout_masks"][first],
    }
    unpadded = {name: value[:, :3] for name, value in padded.items()}
    with torch.no_grad():
        tokens_padded = tiny_transformer.embed_layout(padded["boxes"], padded["masks"], padded["positive_embeddings"])
        tokens_unpadded = tiny_transformer.embed_layout(
            unpadded["boxes"], unpadded["masks"], unpadded["positive_embeddings"]
        )
    assert max_abs_diff(tokens_unpadded, tokens_padded) == 0.0


def test_layout_changes_the_output_and_scale_zero_ignores_it(tiny_transformer, transformer_io) -> None:
    io = transformer_io
    with_layout = _forward(tiny_transformer, io, scale=1.0)
    moved = dict(io)
    moved["inputs.layout_boxes"] = io["inputs.layout_boxes"].flip(-1)
    assert max_abs_diff(_forward(tiny_transformer, moved, scale=1.0), with_layout) > 0.1
    assert max_abs_diff(_forward(tiny_transformer, moved, scale=0.0), _forward(tiny_transformer, io, scale=0.0)) == 0.0


def test_runs_in_bfloat16(fixtures_dir, transformer_io) -> None:
    """No float32-only code path: loaded in bf16, the output is bf16 and close to float32.

    bf16 rounding moves the output by ~0.04 on average; dropping the layout moves it by ~0.5.
    """
    from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel

    model = SiamLayoutSD3Transformer2DModel.from_pretrained(
        fixtures_dir / "tiny" / "transformer", dtype=torch.bfloat16
    ).eval()
    io = {k: v.to(torch.bfloat16) for k, v in transformer_io.items()}
    output = _forward(model, io, scale=1.0)
    assert output.dtype == torch.bfloat16
    reference = transformer_io["outputs.sample_bbox_scale_1"]
    assert (output.float() - reference).abs().mean().item() < 0.1
