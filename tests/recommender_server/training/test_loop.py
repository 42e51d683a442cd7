"""The training loop on a small slice of MovieLens: it learns, checkpoints, resumes, and its
windows and batches hold exactly the training interactions."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from recommender_server.training.loop import batches, ema_with_warmup, full_softmax_loss, lr_at, train, training_windows
from recommender_server.training.onnx_export import export_checkpoint, load_checkpoint
from recommender_server.training.options import parse_args
from tests.recommender_server.helpers import tiny_model, torch_scores


def test_windows_cover_every_training_step() -> None:
    train_seqs = {1: np.arange(1, 12), 2: np.array([5, 6, 7])}
    last_only = training_windows(train_seqs, maxlen=4, all_windows=False)
    assert [w.inputs.tolist() for w in last_only] == [[7, 8, 9, 10], [5, 6]]
    assert [w.targets.tolist() for w in last_only] == [[8, 9, 10, 11], [6, 7]]
    every = training_windows(train_seqs, maxlen=4, all_windows=True)
    targets = sorted(t for w in every for t in w.targets.tolist())
    assert targets == sorted([*list(range(2, 12)), 6, 7])


def test_batches_are_left_padded_to_their_longest_window() -> None:
    windows = training_windows(
        {u: np.arange(1, n + 2) for u, n in enumerate([3, 5, 2, 4])}, maxlen=10, all_windows=False
    )
    out = batches(windows, batch_size=2, rng=random.Random(0), mixed=False)
    widths = sorted(inputs.shape[1] for inputs, _ in out)
    assert widths == [3, 5]  # similar lengths share a batch
    for inputs, targets in out:
        for row_in, row_t in zip(inputs, targets, strict=False):
            real = row_in != 0
            assert (row_t[real] == row_in[real] + 1).all()  # next item at each slot
            assert not real[: (~real).sum()].any()  # padding only on the left


def test_mixed_batches_hold_every_window_once_in_a_random_order() -> None:
    windows = training_windows(
        {u: np.arange(1, n + 2) for u, n in enumerate(range(1, 41))}, maxlen=50, all_windows=False
    )
    first = batches(windows, batch_size=8, rng=random.Random(0))
    rows = [tuple(row[row != 0]) for inputs, _ in first for row in inputs]
    assert sorted(rows) == sorted(tuple(w.inputs) for w in windows)
    # Not sorted by length: some batch mixes a short window with a long one.
    assert any(inputs.shape[1] - (inputs != 0).sum(axis=1).min() > 20 for inputs, _ in first)
    again = batches(windows, batch_size=8, rng=random.Random(1))
    assert [i.tolist() for i, _ in again] != [i.tolist() for i, _ in first]


def test_the_moving_average_follows_early_then_settles_at_its_decay() -> None:
    update = ema_with_warmup(0.999)
    averaged, current = torch.zeros(3), torch.ones(3)
    # The first update moves 90 % of the way: the average does not drag the initialisation.
    assert torch.allclose(update(averaged, current, torch.tensor(0)), torch.full((3,), 0.9))
    # Late in a run the decay is the configured one.
    assert torch.allclose(update(averaged, current, torch.tensor(100_000)), torch.full((3,), 0.001))


def test_loss_only_counts_real_positions() -> None:
    model = tiny_model(0, num_items=12).train(False)
    inputs = torch.tensor([[0, 0, 1, 2], [3, 4, 5, 6]])
    targets = torch.tensor([[0, 0, 2, 3], [4, 5, 6, 7]])
    loss = full_softmax_loss(model, inputs, targets)
    hidden = model(inputs)
    logits = hidden @ model.item_weights().T
    real = targets != 0
    expected = torch.nn.functional.cross_entropy(logits[real], targets[real] - 1)
    assert torch.allclose(loss, expected, atol=1e-6)


def test_uniform_bce_adds_the_target_against_drawn_movies_never_itself() -> None:
    """With 12 movies and 64 draws a position, every draw set holds the target: those draws
    must not count, or the target would be pushed down and up at once."""
    model = tiny_model(0, num_items=12).train(False)
    inputs = torch.tensor([[0, 0, 1, 2], [3, 4, 5, 6]])
    targets = torch.tensor([[0, 0, 2, 3], [4, 5, 6, 7]])
    plain = full_softmax_loss(model, inputs, targets)
    torch.manual_seed(5)
    loss = full_softmax_loss(model, inputs, targets, uniform_bce=0.5, uniform_negatives=64)
    torch.manual_seed(5)
    drawn = torch.randint(0, 12, (6, 64))
    real = targets != 0
    logits = (model(inputs)[real] @ model.item_weights().T).float()
    columns = targets[real] - 1
    assert (drawn == columns[:, None]).any(1).all()
    per_position = [
        -torch.nn.functional.logsigmoid(logits[i, columns[i]])
        - sum(torch.nn.functional.logsigmoid(-logits[i, j]) for j in drawn[i].tolist() if j != columns[i])
        for i in range(6)
    ]
    assert torch.allclose(loss, plain + 0.5 * torch.stack(per_position).mean(), atol=1e-5)
    assert loss > plain


def test_lr_schedule_warms_up_then_anneals_within_the_budget() -> None:
    assert lr_at(0, 100, 10, 1e-3, "cosine") == 1e-4
    assert lr_at(10, 100, 10, 1e-3, "cosine") == 1e-3
    assert abs(lr_at(100, 100, 10, 1e-3, "cosine") - 5e-5) < 1e-12
    # Half the steps but the whole time budget: already annealed.
    assert abs(lr_at(55, 100, 10, 1e-3, "cosine", time_fraction=1.0) - 5e-5) < 1e-12
    assert lr_at(55, 100, 10, 1e-3, "constant") == 1e-3


def test_smoke_training_learns_checkpoints_and_resumes(tmp_path: Path, shared_data: Path) -> None:
    common = [
        "--data-dir",
        str(shared_data),
        "--checkpoint-dir",
        str(tmp_path),
        "--limit-users",
        "120",
        "--hidden",
        "16",
        "--maxlen",
        "50",
        "--batch-size",
        "32",
        "--lr",
        "5e-3",
        "--warmup-steps",
        "1",
        "--test-draws",
        "2",
        "--no-export",
        "--threads",
        "1",
        "--no-bf16",
    ]
    first = train(parse_args([*common, "--epochs", "3"]))
    losses = [r["loss"] for r in first["history"]]
    assert len(losses) == 3
    assert losses[-1] < losses[0] - 0.05, losses
    assert (tmp_path / "best.pt").is_file() and (tmp_path / "last.pt").is_file()
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test"]["users"] == 120
    assert saved["test"]["sampled"]["draws"] == 2
    assert 0.0 <= saved["test"]["full"]["ndcg"] <= saved["test"]["full"]["hr"] <= 1.0
    # A popularity-free random ranker hits 10 of 101 about 10 % of the time; three epochs of a
    # model that learned something do better on the sampled protocol.
    assert saved["test"]["sampled"]["hr"] > 0.15
    resumed = train(parse_args([*common, "--epochs", "4", "--resume"]))
    assert [r["epoch"] for r in resumed["history"]] == [1, 2, 3, 4]
    assert resumed["history"][:3] == first["history"]


def test_uniform_bce_is_off_until_its_compute_minute(tmp_path: Path, shared_data: Path) -> None:
    """Before `--uniform-bce-after` the run is the cross-entropy run, draw for draw (so a run that
    switches it on late repeats the plain run up to there); from then on the loss has the term."""

    def run(name: str, *extra: str) -> list[float]:
        args = [
            *("--data-dir", str(shared_data), "--checkpoint-dir", str(tmp_path / name)),
            *("--limit-users", "40", "--hidden", "16", "--maxlen", "50", "--batch-size", "32"),
            *("--epochs", "2", "--test-draws", "1", "--no-export", "--threads", "1", "--no-bf16"),
            *extra,
        ]
        return [r["loss"] for r in train(parse_args(args))["history"]]

    plain = run("plain")
    assert run("later", "--uniform-bce", "1", "--uniform-bce-after", "1000") == plain
    with_term = run("now", "--uniform-bce", "1", "--uniform-bce-after", "0")
    assert all(a > b for a, b in zip(with_term, plain, strict=True))


def test_block_options_reach_the_checkpoint_and_the_export(tmp_path: Path, shared_data: Path) -> None:
    train(
        parse_args(
            [
                "--data-dir",
                str(shared_data),
                "--checkpoint-dir",
                str(tmp_path / "run"),
                "--limit-users",
                "40",
                "--hidden",
                "16",
                "--maxlen",
                "50",
                "--batch-size",
                "32",
                "--epochs",
                "1",
                "--test-draws",
                "1",
                "--no-export",
                "--threads",
                "1",
                "--gated",
                "--ffn",
                "swiglu",
                "--ffn-multiplier",
                "2",
            ]
        )
    )
    model, movie_ids, state = load_checkpoint(tmp_path / "run" / "best.pt")
    assert (state["config"]["gated"], state["config"]["ffn"], state["config"]["ffn_multiplier"]) == (True, "swiglu", 2)
    assert model.blocks[0].ffn_in.weight.shape == (2 * 2 * 16, 16)
    onnx_path = export_checkpoint(tmp_path / "run" / "best.pt", tmp_path / "repo")
    batch = np.zeros((2, 50), dtype=np.int64)
    batch[0, -3:] = movie_ids[:3]
    batch[1, -1:] = movie_ids[7:8]
    scores = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(
        ["scores"], {"movie_ids": batch}
    )[0]
    assert np.abs(scores - torch_scores(model, movie_ids, batch)).max() <= 1e-4
