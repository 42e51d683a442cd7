"""Leave-one-out ranking metrics for SASRec, the two protocols reported separately:

(a) sampled: the target among 100 movies the user never watched, drawn uniformly without
    replacement (the SASRec paper's protocol; averaged over several draws);
(b) full: the target ranked against every movie, the movies in the user's input history
    excluded.

A target's rank counts the candidates that score strictly higher; NDCG@k = 1 / log2(rank + 2)
when rank < k, else 0; HR@k = rank < k.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from recommender_server.training.sasrec import SASRec

SAMPLED_NEGATIVES = 100


def left_pad(history: np.ndarray, maxlen: int) -> np.ndarray:
    """The last `maxlen` items, left-padded with 0."""
    window = np.zeros(maxlen, dtype=np.int64)
    tail = history[-maxlen:]
    if len(tail):
        window[maxlen - len(tail) :] = tail
    return window


def ndcg_hr(ranks: np.ndarray, k: int = 10) -> tuple[float, float]:
    ranks = np.asarray(ranks)
    hit = ranks < k
    ndcg = np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(ndcg.mean()), float(hit.mean())


Scorer = Callable[[Sequence[np.ndarray]], np.ndarray]
"""Scores [batch, num_items] (columns = item indices 1..num_items) for a batch of histories."""


def torch_scorer(model: SASRec) -> Scorer:
    """Scores from the PyTorch model, in eval mode, without gradients."""

    @torch.no_grad()
    def score(histories: Sequence[np.ndarray]) -> np.ndarray:
        was_training = model.training
        model.eval()
        try:
            windows = torch.from_numpy(np.stack([left_pad(h, model.cfg.maxlen) for h in histories]))
            return model.last_scores(windows).float().numpy()
        finally:
            model.train(was_training)

    return score


def sample_negatives(
    full_sequences: Sequence[np.ndarray], num_items: int, rng: np.random.Generator, count: int = SAMPLED_NEGATIVES
) -> np.ndarray:
    """[users, count] item indices (1..num_items), none of them in the user's whole sequence."""
    every = np.arange(1, num_items + 1)
    out = np.empty((len(full_sequences), count), dtype=np.int64)
    for row, seq in enumerate(full_sequences):
        candidates = np.setdiff1d(every, seq, assume_unique=False)
        out[row] = rng.choice(candidates, size=count, replace=False)
    return out


@dataclass(frozen=True)
class Ranks:
    """Ranks of each user's target: in the full ranking and in each sampled draw."""

    full: np.ndarray  # [users]
    sampled: np.ndarray  # [draws, users]

    def summary(self, k: int = 10) -> dict:
        full_ndcg, full_hr = ndcg_hr(self.full, k)
        per_draw = np.array([ndcg_hr(r, k) for r in self.sampled]) if len(self.sampled) else np.zeros((0, 2))
        out: dict = {"users": int(self.full.shape[0]), "k": k, "full": {"ndcg": full_ndcg, "hr": full_hr}}
        if len(per_draw):
            out["sampled"] = {
                "draws": int(per_draw.shape[0]),
                "ndcg": float(per_draw[:, 0].mean()),
                "ndcg_std": float(per_draw[:, 0].std()),
                "ndcg_min": float(per_draw[:, 0].min()),
                "ndcg_max": float(per_draw[:, 0].max()),
                "hr": float(per_draw[:, 1].mean()),
                "hr_std": float(per_draw[:, 1].std()),
                "hr_min": float(per_draw[:, 1].min()),
                "hr_max": float(per_draw[:, 1].max()),
            }
        return out


def rank_targets(
    scores: np.ndarray, histories: Sequence[np.ndarray], targets: np.ndarray, negatives: Sequence[np.ndarray] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks for one batch: scores [b, num_items] over item indices 1..num_items."""
    rows = np.arange(scores.shape[0])
    target_cols = np.asarray(targets, dtype=np.int64) - 1
    target_scores = scores[rows, target_cols][:, None]
    masked = scores.copy()
    for row, history in enumerate(histories):
        masked[row, np.asarray(history, dtype=np.int64) - 1] = -np.inf
    masked[rows, target_cols] = target_scores[:, 0]
    full = (masked > target_scores).sum(1)
    sampled = [(scores[rows[:, None], draw - 1] > target_scores).sum(1) for draw in negatives]
    return full, np.array(sampled, dtype=np.int64).reshape(len(negatives), scores.shape[0])


def evaluate(
    scorer: Scorer,
    histories: Sequence[np.ndarray],
    targets: Sequence[int] | np.ndarray,
    negative_draws: Sequence[np.ndarray] = (),
    batch_size: int = 256,
) -> Ranks:
    """Ranks every user's target given their history. `negative_draws`: [users, 100] arrays."""
    targets_arr = np.asarray(targets, dtype=np.int64)
    full_parts, sampled_parts = [], []
    for start in range(0, len(histories), batch_size):
        stop = min(start + batch_size, len(histories))
        scores = np.asarray(scorer(histories[start:stop]), dtype=np.float32)
        full, sampled = rank_targets(
            scores, histories[start:stop], targets_arr[start:stop], [draw[start:stop] for draw in negative_draws]
        )
        full_parts.append(full)
        sampled_parts.append(sampled)
    sampled_all = (
        np.concatenate(sampled_parts, axis=1) if negative_draws else np.zeros((0, len(targets_arr)), dtype=np.int64)
    )
    return Ranks(full=np.concatenate(full_parts), sampled=sampled_all)
