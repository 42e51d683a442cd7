"""Fixtures of the recommender tests: a tiny SASRec exported to a temporary repository (fast
tests) and the committed, trained model."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender_server.config import DEFAULT_MODEL_REPOSITORY
from recommender_server.training.onnx_export import export_to_repository
from tests.recommender_server.helpers import TINY_IDS, tiny_model


@pytest.fixture(scope="session")
def tiny_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sasrec` with versions 1 and 2 (different weights) over the 12 ids of TINY_IDS."""
    root = tmp_path_factory.mktemp("tiny_repository")
    for version, seed in ((1, 1), (2, 2)):
        export_to_repository(tiny_model(seed), TINY_IDS, root, version=version, max_batch_size=8)
    return root


@pytest.fixture(scope="session")
def committed_repository() -> Path:
    if not (DEFAULT_MODEL_REPOSITORY / "sasrec" / "config.pbtxt").is_file():
        pytest.fail(f"{DEFAULT_MODEL_REPOSITORY} holds no trained model: run `make train`")
    return DEFAULT_MODEL_REPOSITORY
