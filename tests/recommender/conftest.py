"""Fixtures of the recommender tests: a tiny SASRec exported to a temporary repository (fast
tests) and the committed, trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from recommender_server.config import DEFAULT_MODEL_REPOSITORY
from recommender_server.onnx_export import export_to_repository
from recommender_server.sasrec import SASRec, SASRecConfig

TINY_IDS = np.array([1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233], dtype=np.int64)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    torch.set_num_threads(1)


def tiny_model(seed: int, num_items: int = len(TINY_IDS), maxlen: int = 200) -> SASRec:
    torch.manual_seed(seed)
    return SASRec(SASRecConfig(num_items=num_items, maxlen=maxlen, hidden=16, blocks=2, heads=2,
                               dropout=0.1)).eval()


def torch_scores(model: SASRec, movie_ids: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """The reference the exported graphs are checked against: PyTorch over the whole window of
    raw ids `batch` (no cropping, no id table in the graph; an unknown id is padding)."""
    index_of = {int(m): i + 1 for i, m in enumerate(movie_ids)}
    items = np.vectorize(lambda m: index_of.get(int(m), 0))(batch) if batch.size else batch
    with torch.no_grad():
        return model.eval().last_scores(torch.from_numpy(items.astype(np.int64))).numpy()


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
