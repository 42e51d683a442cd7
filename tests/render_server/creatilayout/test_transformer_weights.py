"""Weight compatibility of the SiamLayout transformer with the released checkpoint and the tiny fixture."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from render_server.creatilayout.transformer import MissingWeightsError, SiamLayoutSD3Transformer2DModel


def _config_without_class(config: dict) -> dict:
    return {k: v for k, v in config.items() if not k.startswith("_")}


def test_full_size_state_dict_matches_the_released_layout_exactly(fixtures_dir: Path) -> None:
    reference = json.loads((fixtures_dir / "sd3m_layout_state_dict.json").read_text())
    with torch.device("meta"):
        model = SiamLayoutSD3Transformer2DModel(**_config_without_class(reference["config"]))
    state = {key: list(tensor.shape) for key, tensor in model.state_dict().items()}

    assert sorted(set(reference["tensors"]) - set(state)) == []
    assert sorted(set(state) - set(reference["tensors"])) == []
    assert state == reference["tensors"]
    assert len(state) == reference["counts"]["state_dict_tensors"] == 1263
    parameters = list(model.parameters())
    assert len(parameters) == reference["counts"]["parameters"]
    assert sum(p.numel() for p in parameters) == reference["counts"]["parameter_elements"] == 3_308_630_912
    persistent_buffers = set(state) - {name for name, _ in model.named_parameters()}
    assert persistent_buffers == set(reference["persistent_buffers"]) == {"pos_embed.pos_embed"}


def test_default_config_is_the_released_sd3_medium_layout_config(fixtures_dir: Path) -> None:
    reference = json.loads((fixtures_dir / "sd3m_layout_state_dict.json").read_text())
    with torch.device("meta"):
        model = SiamLayoutSD3Transformer2DModel()
    assert {k: model.config[k] for k in _config_without_class(reference["config"])} == _config_without_class(
        reference["config"]
    )


def test_base_sd3_keys_are_a_subset_with_the_same_shapes(fixtures_dir: Path) -> None:
    base = json.loads((fixtures_dir / "sd3m_base_state_dict.json").read_text())["tensors"]
    with torch.device("meta"):
        model = SiamLayoutSD3Transformer2DModel()
    state = {key: list(tensor.shape) for key, tensor in model.state_dict().items()}
    assert {key: state.get(key) for key in base} == base


def test_tiny_checkpoint_loads_with_no_missing_unexpected_or_mismatched_keys(fixtures_dir: Path) -> None:
    model, info = SiamLayoutSD3Transformer2DModel.from_pretrained(
        fixtures_dir / "tiny" / "transformer", output_loading_info=True
    )
    assert info["missing_keys"] == []
    assert info["unexpected_keys"] == []
    assert info["mismatched_keys"] == []
    assert sum(p.numel() for p in model.parameters()) == 310_864
    stored = load_file(fixtures_dir / "tiny" / "transformer" / "diffusion_pytorch_model.safetensors")
    assert set(stored) == set(model.state_dict())
    assert torch.equal(
        model.state_dict()["position_net.null_positive_feature"], stored["position_net.null_positive_feature"]
    )


def test_a_checkpoint_missing_one_weight_fails_loudly(fixtures_dir: Path, tmp_path: Path) -> None:
    source = fixtures_dir / "tiny" / "transformer"
    shutil.copy(source / "config.json", tmp_path / "config.json")
    weights = load_file(source / "diffusion_pytorch_model.safetensors")
    del weights["transformer_blocks.1.bbox_fuser_block.add_q_proj.weight"]
    save_file(weights, tmp_path / "diffusion_pytorch_model.safetensors", metadata={"format": "pt"})

    with pytest.raises(MissingWeightsError, match=r"transformer_blocks\.1\.bbox_fuser_block\.add_q_proj\.weight"):
        SiamLayoutSD3Transformer2DModel.from_pretrained(tmp_path)


def test_a_plain_sd3_checkpoint_is_refused_rather_than_given_random_layout_weights(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    source = fixtures_dir / "tiny" / "transformer"
    shutil.copy(source / "config.json", tmp_path / "config.json")
    weights = load_file(source / "diffusion_pytorch_model.safetensors")
    layout_parts = ("position_net.", "bbox_", "norm1_bbox", "ff_bbox")
    base_only = {k: v for k, v in weights.items() if not any(part in k for part in layout_parts)}
    save_file(base_only, tmp_path / "diffusion_pytorch_model.safetensors", metadata={"format": "pt"})

    with pytest.raises(MissingWeightsError, match="position_net"):
        SiamLayoutSD3Transformer2DModel.from_pretrained(tmp_path)


def test_pooled_projection_dim_and_max_boxes_come_from_the_config() -> None:
    model = SiamLayoutSD3Transformer2DModel(
        sample_size=8,
        num_layers=2,
        attention_head_dim=4,
        num_attention_heads=2,
        joint_attention_dim=8,
        caption_projection_dim=8,
        pooled_projection_dim=24,
        pos_embed_max_size=8,
        max_boxes_per_image=3,
    ).eval()
    assert model.position_net.text_embedder.linear_1.in_features == 24
    assert model.time_text_embed.text_embedder.linear_1.in_features == 24

    def run(num_boxes: int) -> torch.Tensor:
        layout = {
            "boxes": torch.rand(1, num_boxes, 4),
            "positive_embeddings": torch.randn(1, num_boxes, 24),
            "masks": torch.ones(1, num_boxes),
        }
        with torch.no_grad():
            return model(
                torch.randn(1, 16, 8, 8),
                torch.randn(1, 5, 8),
                torch.randn(1, 24),
                torch.tensor([500.0]),
                layout_kwargs={"layout": layout},
            ).sample

    assert run(3).shape == (1, 16, 8, 8)
    with pytest.raises(ValueError, match="at most 3 layout boxes"):
        run(4)


def test_unknown_attention_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="attention_type"):
        SiamLayoutSD3Transformer2DModel(num_layers=1, attention_type="default")
