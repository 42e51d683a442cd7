"""What the recommender tests share: the tiny SASRec (12 movie ids) the fast tests export, and
the PyTorch reference the exported graphs are checked against."""

from __future__ import annotations

import numpy as np
import torch

from recommender_server.training.sasrec import SASRec, SASRecConfig

TINY_IDS = np.array([1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233], dtype=np.int64)


def tiny_model(seed: int, num_items: int = len(TINY_IDS), maxlen: int = 200) -> SASRec:
    torch.manual_seed(seed)
    return SASRec(SASRecConfig(num_items=num_items, maxlen=maxlen, hidden=16, blocks=2, heads=2, dropout=0.1)).eval()


def torch_scores(model: SASRec, movie_ids: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """The reference the exported graphs are checked against: PyTorch over the whole window of
    raw ids `batch` (no cropping, no id table in the graph; an unknown id is padding)."""
    index_of = {int(m): i + 1 for i, m in enumerate(movie_ids)}
    items = np.vectorize(lambda m: index_of.get(int(m), 0))(batch) if batch.size else batch
    with torch.no_grad():
        return model.eval().last_scores(torch.from_numpy(items.astype(np.int64))).numpy()
