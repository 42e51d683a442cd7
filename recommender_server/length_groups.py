"""Splitting a batch into runs of similar history lengths.

The exported SASRec skips the columns that are padding in every row of its batch
(`training.onnx_export.RawIdSASRec`), so a batch that mixes a 5-movie and a 200-movie history
pays 200 columns for both. Sorted by real length and run as a few sub-batches, each pays for its
own longest history only. Rows of a batched model are independent (Triton's contract for
`max_batch_size` > 0), so the split never changes a score, only the cost; a model that does not
skip padding pays one extra run per group for nothing, so it is a setting (`--length-groups`).

No batching library does this for onnxruntime: Triton's ragged batching removes padding inside
the model's own kernels, which an ONNX graph on the CPU provider does not have.
"""

from __future__ import annotations

import numpy as np

# What one extra onnxruntime run costs, in row-columns of work (a row times a window column):
# ~0.1 ms of fixed cost per run against ~1 µs per row-column at batch 32 on this CPU.
RUN_COST_IN_ROW_COLUMNS = 100
# Smaller sub-batches come close to the one-thread session's sizes (`OnnxModel.small_batch_rows`)
# and a run's fixed cost: at 16 rows or fewer splitting measured no gain on this CPU.
MIN_GROUP_ROWS = 8


def real_lengths(padded: np.ndarray) -> np.ndarray:
    """For left-padded rows (0 = padding): how many columns each row needs, from its first real
    slot to the end."""
    real = padded != 0
    first = np.where(real.any(axis=1), real.argmax(axis=1), padded.shape[1])
    return padded.shape[1] - first


def plan_groups(
    lengths: np.ndarray, max_groups: int, run_cost: int = RUN_COST_IN_ROW_COLUMNS, min_rows: int = MIN_GROUP_ROWS
) -> list[np.ndarray]:
    """Row indices per sub-batch, shortest histories first: the number of equal-count groups
    (1 to `max_groups`, none under `min_rows` rows) with the least estimated work, each group
    costing its rows times its longest history plus one run's fixed cost."""
    rows = len(lengths)
    order = np.argsort(lengths, kind="stable")
    if rows == 0:
        return [order]
    sorted_lengths = lengths[order]
    best, best_cost = [order], rows * int(sorted_lengths[-1]) + run_cost
    for count in range(2, min(max_groups, rows // max(1, min_rows)) + 1):
        groups = np.array_split(order, count)
        ends = np.cumsum([len(g) for g in groups]) - 1
        cost = sum(len(g) * int(sorted_lengths[end]) for g, end in zip(groups, ends, strict=True))
        cost += count * run_cost
        if cost < best_cost:
            best, best_cost = groups, cost
    return best


def batch_groups(batch: np.ndarray, max_groups: int) -> list[np.ndarray]:
    """Row indices per sub-batch of a left-padded batch; one group of every row, in order, when
    the batch is too small to split (decided before any per-row work: the one-row requests of a
    quiet server pay nothing for this)."""
    if min(max_groups, len(batch) // MIN_GROUP_ROWS) < 2:
        return [np.arange(len(batch))]
    return plan_groups(real_lengths(batch), max_groups)
