"""The options of `python -m recommender_server.training` (`make train`): every one with its
default, which is the recipe the committed model was trained with (docs/model_card.md)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CHECKPOINT_DIR = REPO_ROOT / "runs" / "sasrec"
_DESCRIPTION = """Trains SASRec on MovieLens-1M, then evaluates the best checkpoint on the test items
and exports it to the model repository.

Loss: full softmax cross-entropy over every item at every position of each window. Seeded; early
stopping on validation NDCG@10 (full ranking, watched movies excluded); the best weights are kept
as a checkpoint, the latest state after every epoch, so an interrupted run continues with
--resume. See docs/model_card.md."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m recommender_server.training",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        help="data directory holding ml-1m/ (default: found via MARQUEE_DATA_DIR, ./data, ../shared/data)",
    )
    p.add_argument(
        "--checkpoint-dir", type=Path, default=DEFAULT_CHECKPOINT_DIR, help="where best.pt, last.pt and metrics.json go"
    )
    p.add_argument("--epochs", type=int, default=200, help="maximum epochs (a cosine schedule spans them)")
    p.add_argument(
        "--patience", type=int, default=15, help="stop after this many epochs without a better validation NDCG@10"
    )
    p.add_argument(
        "--max-minutes",
        type=float,
        default=60.0,
        help="compute budget of the training "
        "loop in minutes of all its threads (CPU time / threads, so that other jobs on "
        "the machine do not shorten it): training stops after the epoch that crosses it, "
        "and the lr schedule fits in it",
    )
    p.add_argument("--max-wall-minutes", type=float, default=120.0, help="hard wall-clock limit")
    p.add_argument("--batch-size", type=int, default=128, help="windows per optimiser step")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (AdamW)")
    p.add_argument(
        "--adam-beta2",
        type=float,
        default=0.999,
        help="AdamW beta2 (0.999: PyTorch's and the SASRec+ recipe's; the original SASRec code used 0.98)",
    )
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay")
    p.add_argument(
        "--schedule",
        choices=["cosine", "constant"],
        default="constant",
        help="lr after warm-up: cosine to 5%% over the epochs or the budget, or constant",
    )
    p.add_argument("--warmup-steps", type=int, default=100, help="linear lr warm-up steps")
    p.add_argument(
        "--ema",
        type=float,
        default=0.999,
        help="decay of an exponential moving "
        "average of the weights, which validation, the checkpoint and the export use "
        "(0: off, the raw weights)",
    )
    p.add_argument(
        "--batching",
        choices=["mixed", "sorted"],
        default="mixed",
        help="mixed: random batches of any lengths; sorted: similar lengths together",
    )
    p.add_argument(
        "--init",
        choices=["normal", "xavier"],
        default="normal",
        help="weight initialisation: N(0, 0.02) or Xavier-normal",
    )
    p.add_argument("--label-smoothing", type=float, default=0.0, help="cross-entropy label smoothing")
    p.add_argument(
        "--uniform-bce",
        type=float,
        default=0.0,
        help="weight of an added binary cross-entropy of each target against uniformly drawn movies (0: off)",
    )
    p.add_argument("--uniform-negatives", type=int, default=8, help="movies drawn per position for --uniform-bce")
    p.add_argument(
        "--uniform-bce-after",
        type=float,
        default=0.0,
        help="compute minutes after which --uniform-bce is on (before: cross-entropy alone, as without it)",
    )
    p.add_argument("--maxlen", type=int, default=200, help="window: the most recent movies the model sees")
    p.add_argument("--hidden", type=int, default=64, help="embedding and hidden size")
    p.add_argument("--blocks", type=int, default=2, help="self-attention blocks")
    p.add_argument("--heads", type=int, default=1, help="attention heads per block")
    p.add_argument("--dropout", type=float, default=0.1, help="dropout rate (embeddings, attention, FFN)")
    p.add_argument(
        "--gated",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="LiGR-style blocks: a sigmoid gate from the block input on each residual branch",
    )
    p.add_argument("--ffn", choices=["relu", "swiglu"], default="relu", help="feed-forward network")
    p.add_argument("--ffn-multiplier", type=int, default=1, help="SwiGLU inner size / hidden size")
    p.add_argument(
        "--all-windows",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also train on the earlier stretches of histories longer than maxlen "
        "(+52 %% interactions per epoch; --no-all-windows: the last window only)",
    )
    p.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="bfloat16 autocast for training matmuls (evaluation stays float32); "
        "slower than float32 at hidden size 64 on this CPU, faster for wide models",
    )
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument("--seed", type=int, default=42, help="seed of initialisation, batching and dropout")
    p.add_argument("--limit-users", type=int, default=0, help="train on the first N users only (smoke runs)")
    p.add_argument("--eval-every", type=int, default=1, help="validate every N epochs")
    p.add_argument("--test-draws", type=int, default=5, help="negative draws for the final test")
    p.add_argument("--resume", action="store_true", help="continue from checkpoint-dir/last.pt")
    p.add_argument(
        "--export",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="export the best model to the model repository at the end",
    )
    p.add_argument(
        "--model-repository",
        type=Path,
        default=REPO_ROOT / "recommender_server" / "model_repository",
        help="where --export writes sasrec/ (config.pbtxt, labels, 1/model.onnx)",
    )
    return p.parse_args(argv)
