"""Ranking metrics on constructed cases whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np

from recommender_server.training.ranking_metrics import evaluate, left_pad, ndcg_hr, rank_targets, sample_negatives


def test_ndcg_and_hit_rate_by_hand() -> None:
    ndcg, hr = ndcg_hr(np.array([0, 1, 9, 10, 500]), k=10)
    assert math.isclose(ndcg, (1 + 1 / math.log2(3) + 1 / math.log2(11)) / 5)
    assert hr == 3 / 5


def test_left_pad_keeps_the_most_recent() -> None:
    assert left_pad(np.array([4, 5, 6]), 5).tolist() == [0, 0, 4, 5, 6]
    assert left_pad(np.arange(1, 9), 5).tolist() == [4, 5, 6, 7, 8]
    assert left_pad(np.array([], dtype=np.int64), 3).tolist() == [0, 0, 0]


def test_full_ranking_excludes_the_history_but_not_the_target() -> None:
    # Items 1..6; the target (item 3) scores 0.5. Items 1 and 2 score higher but were watched.
    scores = np.array([[0.9, 0.8, 0.5, 0.7, 0.1, 0.6]], dtype=np.float32)
    full, sampled = rank_targets(scores, [np.array([1, 2])], np.array([3]), [np.array([[5, 6]]), np.array([[4, 6]])])
    assert full.tolist() == [2]  # only items 4 and 6 beat it
    assert sampled.tolist() == [[1], [2]]  # draw 1: item 6 beats it; draw 2: items 4 and 6


def test_sampled_negatives_are_unwatched_and_distinct() -> None:
    rng = np.random.default_rng(0)
    sequences = [np.arange(1, 150), np.array([7])]
    negatives = sample_negatives(sequences, num_items=300, rng=rng, count=100)
    assert negatives.shape == (2, 100)
    for seq, row in zip(sequences, negatives, strict=False):
        assert len(set(row.tolist())) == 100
        assert not set(row.tolist()) & set(seq.tolist())
        assert row.min() >= 1 and row.max() <= 300


def test_evaluate_summarises_draws_with_spread() -> None:
    # Item i scores 10 - i: item 1 is everyone's favourite.
    def scorer(histories):
        return np.tile(10.0 - np.arange(1, 11, dtype=np.float32), (len(histories), 1))

    histories = [np.array([1]), np.array([5]), np.array([2])]
    targets = np.array([2, 4, 3])
    # Full ranks: 0 (item 1 is watched), 3 (items 1-3), 1 (item 1).
    draws = [
        np.array([[5, 6], [6, 7], [8, 9]]),  # ranks 0, 0, 0
        np.array([[3, 4], [1, 7], [8, 9]]),
    ]  # ranks 0, 1, 0
    ranks = evaluate(scorer, histories, targets, draws, batch_size=2)
    assert ranks.full.tolist() == [0, 3, 1]
    assert ranks.sampled.tolist() == [[0, 0, 0], [0, 1, 0]]
    at_one = ranks.summary(k=1)
    assert at_one["full"]["hr"] == 1 / 3
    assert at_one["sampled"]["draws"] == 2
    assert math.isclose(at_one["sampled"]["hr"], 5 / 6)
    assert math.isclose(at_one["sampled"]["hr_std"], 1 / 6)
    assert (at_one["sampled"]["hr_min"], at_one["sampled"]["hr_max"]) == (2 / 3, 1.0)
    at_ten = ranks.summary(k=10)
    assert math.isclose(at_ten["full"]["ndcg"], (1 + 1 / math.log2(5) + 1 / math.log2(3)) / 3)
