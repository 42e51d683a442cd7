"""Fixtures of the CreatiLayout model tests: the tiny checkpoints and their goldens (one torch
thread, as the goldens were made, comes from `tests/render_server/conftest.py`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.paths import CREATILAYOUT_FIXTURES
from tests.render_server.creatilayout.golden import TINY


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not (TINY / "pipeline" / "model_index.json").is_file():
        pytest.fail(f"{CREATILAYOUT_FIXTURES} is missing: the suite expects ../shared beside the clone")
    return CREATILAYOUT_FIXTURES


@pytest.fixture(scope="session")
def transformer_io(fixtures_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(fixtures_dir / "tiny" / "transformer_io.safetensors")


@pytest.fixture(scope="session")
def pipeline_golden(fixtures_dir: Path) -> tuple[dict[str, torch.Tensor], dict]:
    tensors = load_file(fixtures_dir / "tiny" / "pipeline_golden.safetensors")
    meta = json.loads((fixtures_dir / "tiny" / "pipeline_golden.json").read_text())
    return tensors, meta


@pytest.fixture(scope="session")
def tiny_transformer(fixtures_dir: Path):
    from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel

    return SiamLayoutSD3Transformer2DModel.from_pretrained(fixtures_dir / "tiny" / "transformer").eval()


@pytest.fixture(scope="session")
def tiny_pipeline(fixtures_dir: Path):
    """Loaded the documented way: the layout transformer passed explicitly."""
    from render_server.creatilayout.pipeline import CreatiLayoutPipeline
    from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel

    directory = fixtures_dir / "tiny" / "pipeline"
    transformer = SiamLayoutSD3Transformer2DModel.from_pretrained(directory / "transformer")
    pipe = CreatiLayoutPipeline.from_pretrained(directory, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    return pipe
