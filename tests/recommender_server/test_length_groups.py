"""Batches run as sub-batches of similar history lengths: same scores, in the request's order."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recommender_server.length_groups import batch_groups, plan_groups, real_lengths
from recommender_server.onnx_runner import OnnxModel
from tests.recommender_server.helpers import TINY_IDS, tiny_model, torch_scores


def _histories(lengths: list[int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    batch = np.zeros((len(lengths), 200), dtype=np.int64)
    for row, n in enumerate(lengths):
        if n:
            batch[row, -n:] = rng.choice(TINY_IDS, n)
    return batch


def test_real_lengths_count_from_the_first_real_slot() -> None:
    batch = _histories([0, 1, 7, 200])
    batch[2, -3] = 0  # a padding id inside a history still counts (the graph keeps the column)
    assert real_lengths(batch).tolist() == [0, 1, 7, 200]


def test_mixed_lengths_split_and_uniform_lengths_do_not() -> None:
    mixed = np.array([5] * 16 + [200] * 16)
    groups = plan_groups(mixed, max_groups=4)
    assert len(groups) > 1
    assert sorted(np.concatenate(groups).tolist()) == list(range(32))
    # Shortest first, and no group mixes the two lengths.
    assert set(mixed[groups[0]].tolist()) == {5}
    assert all(len(set(mixed[g].tolist())) == 1 for g in groups)
    assert len(plan_groups(np.full(32, 120), max_groups=4)) == 1
    assert len(plan_groups(mixed, max_groups=1)) == 1


def test_a_run_costs_more_than_a_few_padding_columns_save() -> None:
    # Two rows, 190 against 200 columns: splitting saves 10 row-columns, far below one run.
    assert len(plan_groups(np.array([190, 200]), max_groups=4, min_rows=1)) == 1
    assert len(plan_groups(np.array([190, 200]), max_groups=4, run_cost=0, min_rows=1)) == 2


def test_no_group_is_smaller_than_the_minimum() -> None:
    lengths = np.array([5] * 12 + [200] * 12)
    assert [len(g) for g in plan_groups(lengths, max_groups=4, min_rows=8)] == [12, 12]
    assert len(plan_groups(lengths[:15], max_groups=4, min_rows=8)) == 1
    assert len(plan_groups(np.array([], dtype=np.int64), max_groups=4)) == 1


def test_a_batch_too_small_to_split_is_one_group_in_order() -> None:
    batch = _histories([200, 3, 150, 1] * 3)  # 12 rows: under two groups of the minimum
    assert [g.tolist() for g in batch_groups(batch, 4)] == [list(range(12))]
    assert len(batch_groups(_histories([200, 3] * 8), 4)) == 2
    assert len(batch_groups(_histories([200, 3] * 8), 1)) == 1


def test_grouped_runs_score_as_one_run_in_the_request_order(tmp_path: Path) -> None:
    from recommender_server.training.onnx_export import export_to_repository

    model = tiny_model(3)
    export_to_repository(model, TINY_IDS, tmp_path, version=1, max_batch_size=64)
    path = tmp_path / "sasrec" / "1" / "model.onnx"
    lengths = [3, 200, 1, 150, 0, 40, 199, 2, 90, 5] * 3
    batch = _histories(lengths, seed=5)
    grouped = OnnxModel(path, intra_op_threads=1, length_groups=4)
    assert len(batch_groups(batch, 4)) > 1  # the case under test really splits
    whole = OnnxModel(path, intra_op_threads=1, length_groups=1)
    scores = grouped.run({"movie_ids": batch})["scores"]
    np.testing.assert_allclose(scores, whole.run({"movie_ids": batch})["scores"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores, torch_scores(model, TINY_IDS, batch), rtol=1e-4, atol=1e-4)
