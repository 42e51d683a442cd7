"""The exported ONNX model matches PyTorch, reads raw movie ids, and has a dynamic batch axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from recommender_server.training.onnx_export import DEFAULT_WEIGHTS, export_to_repository, load_checkpoint
from recommender_server.training.sasrec import SASRec, SASRecConfig
from tests.recommender_server.helpers import TINY_IDS, tiny_model, torch_scores


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _random_histories(ids: np.ndarray, rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    batch = np.zeros((rows, 200), dtype=np.int64)
    for row in range(rows):
        length = int(rng.integers(1, 201))
        batch[row, 200 - length :] = rng.choice(ids, size=length)
    return batch


def test_tiny_model_parity_for_several_batch_sizes(tiny_repository: Path) -> None:
    session = _session(tiny_repository / "sasrec" / "2" / "model.onnx")
    model = tiny_model(2)
    for rows in (1, 3, 8):
        batch = _random_histories(TINY_IDS, rows, seed=rows)
        onnx_scores = session.run(["scores"], {"movie_ids": batch})[0]
        assert onnx_scores.shape == (rows, len(TINY_IDS)) and onnx_scores.dtype == np.float32
        assert np.abs(onnx_scores - torch_scores(model, TINY_IDS, batch)).max() <= 1e-4


def test_short_histories_match_the_full_window(tiny_repository: Path) -> None:
    session = _session(tiny_repository / "sasrec" / "2" / "model.onnx")
    batch = np.zeros((3, 200), dtype=np.int64)
    batch[0, -1:] = [8]
    batch[1, -4:] = [1, 2, 3, 5]
    batch[2, -2:] = [233, 999_999]  # unknown ids are padding, wherever they are
    onnx_scores = session.run(["scores"], {"movie_ids": batch})[0]
    assert np.abs(onnx_scores - torch_scores(tiny_model(2), TINY_IDS, batch)).max() <= 1e-4
    alone = session.run(["scores"], {"movie_ids": batch[1:2]})[0]
    assert np.abs(alone - onnx_scores[1:2]).max() <= 1e-5


def test_unknown_ids_behave_like_padding(tiny_repository: Path) -> None:
    session = _session(tiny_repository / "sasrec" / "1" / "model.onnx")
    clean = np.zeros((1, 200), dtype=np.int64)
    clean[0, -3:] = [1, 5, 13]
    noisy = clean.copy()
    noisy[0, 10] = 4  # within the id range, but never rated
    noisy[0, 20] = 999_999  # beyond every id
    noisy[0, 30] = -7
    run = lambda x: session.run(["scores"], {"movie_ids": x})[0]  # noqa: E731
    assert np.array_equal(run(clean), run(noisy))
    different = clean.copy()
    different[0, -3:] = [1, 5, 21]
    assert not np.allclose(run(clean), run(different))


def test_graph_declares_the_contract(tiny_repository: Path) -> None:
    session = _session(tiny_repository / "sasrec" / "1" / "model.onnx")
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.type, inp.shape[1]) == ("movie_ids", "tensor(int64)", 200)
    assert (out.name, out.type, out.shape[1]) == ("scores", "tensor(float)", len(TINY_IDS))
    assert isinstance(inp.shape[0], str) and isinstance(out.shape[0], str)  # dynamic batch


def test_trained_model_parity(committed_repository: Path) -> None:
    if not DEFAULT_WEIGHTS.is_file():
        pytest.fail(f"{DEFAULT_WEIGHTS} is missing: it holds the weights of the committed model")
    model, movie_ids, _ = load_checkpoint(DEFAULT_WEIGHTS)
    labels = (committed_repository / "sasrec" / "movie_ids.txt").read_text().split()
    assert [int(x) for x in labels] == movie_ids.tolist()
    session = _session(committed_repository / "sasrec" / "1" / "model.onnx")
    batch = _random_histories(movie_ids, 6, seed=7)
    onnx_scores = session.run(["scores"], {"movie_ids": batch})[0]
    assert onnx_scores.shape == (6, 3706)
    assert np.abs(onnx_scores - torch_scores(model, movie_ids, batch)).max() <= 1e-4


def test_last_slot_shortcut_equals_the_full_forward() -> None:
    model = tiny_model(3, num_items=12)
    batch = torch.from_numpy(_random_histories(np.arange(1, 13), 5, seed=3))
    batch[0] = 0
    batch[0, -1] = 4  # a one-movie history
    with torch.no_grad():
        full = model(batch)[:, -1]
        last = model(batch, last_only=True)[:, -1]
    assert torch.allclose(full, last, atol=1e-5)


BLOCK_VARIANTS = [
    dict(heads=1),
    dict(heads=2),
    dict(heads=1, gated=True),
    dict(heads=2, gated=True, ffn="swiglu", ffn_multiplier=2),
]


@pytest.mark.parametrize("variant", BLOCK_VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_inference_form_equals_the_training_form(variant: dict) -> None:
    torch.manual_seed(4)
    model = SASRec(SASRecConfig(num_items=12, maxlen=200, hidden=16, blocks=2, dropout=0.0, **variant))
    batch = torch.from_numpy(_random_histories(np.arange(1, 13), 4, seed=4))
    with torch.no_grad():
        training_path = model.train()(batch)  # scaled_dot_product_attention (dropout 0)
        inference_path = model.eval()(batch)
    real = batch != 0
    assert torch.allclose(training_path[real], inference_path[real], atol=1e-5)


@pytest.mark.parametrize("variant", BLOCK_VARIANTS[2:], ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_gated_and_swiglu_blocks_export_with_parity(variant: dict, tmp_path: Path) -> None:
    torch.manual_seed(5)
    model = SASRec(
        SASRecConfig(num_items=len(TINY_IDS), maxlen=200, hidden=16, blocks=2, dropout=0.1, **variant)
    ).eval()
    export_to_repository(model, TINY_IDS, tmp_path, version=1, max_batch_size=8)
    session = _session(tmp_path / "sasrec" / "1" / "model.onnx")
    batch = _random_histories(TINY_IDS, 5, seed=5)
    onnx_scores = session.run(["scores"], {"movie_ids": batch})[0]
    assert np.abs(onnx_scores - torch_scores(model, TINY_IDS, batch)).max() <= 1e-4


def test_an_unknown_feed_forward_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown feed-forward 'gelu'"):
        SASRec(SASRecConfig(num_items=12, hidden=16, ffn="gelu"))
