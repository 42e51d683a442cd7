"""Evaluates SASRec on MovieLens-1M, leave-one-out (`make eval`, or
`python -m recommender_server.training.evaluation --help`).

By default it scores the committed ONNX model of the model repository through onnxruntime, so
the numbers are those of the model that is served; `--checkpoint` evaluates a PyTorch
checkpoint instead. Two protocols, reported separately (see `ranking_metrics`): (a) the target
among 100 sampled unwatched movies, averaged over several negative draws with their spread;
(b) full ranking over every movie, watched movies excluded.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from marquee.data_location import find_data_dir
from recommender_server.movielens import Interactions, LeaveOneOut, leave_one_out, load_interactions
from recommender_server.training.ranking_metrics import Scorer, evaluate, left_pad, sample_negatives

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REPOSITORY = REPO_ROOT / "recommender_server" / "model_repository"


def load_split(data_dir: Path | None, limit_users: int = 0) -> tuple[Interactions, LeaveOneOut]:
    ml1m = (data_dir if data_dir else find_data_dir().root) / "ml-1m"
    interactions = load_interactions(ml1m)
    indexed = interactions.indexed_sequences()
    if limit_users:
        indexed = {u: indexed[u] for u in sorted(indexed)[:limit_users]}
    return interactions, leave_one_out(indexed)


def validation_inputs(split: LeaveOneOut) -> tuple[list[np.ndarray], np.ndarray]:
    """Histories (the training part) and validation targets, by user id."""
    users = sorted(split.valid)
    return [split.train[u] for u in users], np.array([split.valid[u] for u in users])


def test_inputs(split: LeaveOneOut) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """Histories (all but the last movie), test targets and whole sequences, by user id."""
    users = sorted(split.test)
    return (
        [split.full[u][:-1] for u in users],
        np.array([split.test[u] for u in users]),
        [split.full[u] for u in users],
    )


def test_metrics(scorer: Scorer, split: LeaveOneOut, num_items: int, draws: int, seed: int) -> dict:
    """Both protocols on the test items; negatives drawn from `seed`, so reruns agree."""
    histories, targets, sequences = test_inputs(split)
    rng = np.random.default_rng(seed)
    negatives = [sample_negatives(sequences, num_items, rng) for _ in range(draws)]
    return evaluate(scorer, histories, targets, negatives).summary()


def onnx_scorer(
    model_path: Path, catalog_ids: np.ndarray, label_ids: np.ndarray, maxlen: int, threads: int = 0
) -> Scorer:
    """Scores from the exported model: item indices go in as raw movie ids, the label order comes
    back to the item-index order."""
    import onnxruntime as ort

    from recommender_server.onnx_runner import session_options

    session = ort.InferenceSession(
        str(model_path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )
    column_of = {int(m): i for i, m in enumerate(label_ids)}
    missing = [int(m) for m in catalog_ids if int(m) not in column_of]
    if missing:
        raise ValueError(f"{model_path} does not score movies {missing[:10]} of the data")
    order = np.array([column_of[int(m)] for m in catalog_ids])
    id_of_index = np.concatenate([[0], catalog_ids]).astype(np.int64)

    def score(histories: Sequence[np.ndarray]) -> np.ndarray:
        windows = np.stack([id_of_index[left_pad(h, maxlen)] for h in histories])
        return session.run(None, {"movie_ids": windows})[0][:, order]

    return score


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m recommender_server.training.evaluation",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--checkpoint", type=Path, help="evaluate this PyTorch checkpoint (best.pt) instead of the ONNX model"
    )
    p.add_argument("--model-repository", type=Path, default=DEFAULT_REPOSITORY)
    p.add_argument("--model-name", default="sasrec")
    p.add_argument("--data-dir", type=Path, help="data directory holding ml-1m/")
    p.add_argument("--draws", type=int, default=5, help="negative draws for the sampled protocol")
    p.add_argument("--seed", type=int, default=43, help="seed of the negative draws")
    p.add_argument("--limit-users", type=int, default=0, help="evaluate the first N users only")
    p.add_argument("--threads", type=int, default=0, help="threads (0: all cores)")
    p.add_argument("--output", type=Path, help="also write the metrics here as JSON")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    interactions, split = load_split(args.data_dir, args.limit_users)
    if args.checkpoint:
        import torch

        from recommender_server.training.onnx_export import load_checkpoint
        from recommender_server.training.ranking_metrics import torch_scorer

        if args.threads:
            torch.set_num_threads(args.threads)
        model, movie_ids, _state = load_checkpoint(args.checkpoint)
        if not np.array_equal(movie_ids, interactions.movie_ids):
            raise SystemExit(f"{args.checkpoint} was trained on another movie vocabulary")
        scorer, source = torch_scorer(model), str(args.checkpoint)
    else:
        from recommender_server.repository import OUTPUT_NAME, load_entry

        entry = load_entry(args.model_repository, args.model_name)
        version = entry.latest_version
        labels = np.array([int(x) for x in entry.labels[OUTPUT_NAME]], dtype=np.int64)
        scorer = onnx_scorer(
            entry.versions[version], interactions.movie_ids, labels, int(entry.config.input[0].dims[0]), args.threads
        )
        source = str(entry.versions[version])
    result = test_metrics(scorer, split, interactions.num_items, args.draws, args.seed)
    result |= {"model": source, "data": str(interactions.source), "seconds": round(time.monotonic() - started, 1)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text)
    s, f = result.get("sampled", {}), result["full"]
    if s:
        print(
            f"(a) sampled 100 negatives, {s['draws']} draws: NDCG@10 {s['ndcg']:.4f} "
            f"(±{s['ndcg_std']:.4f}, {s['ndcg_min']:.4f}..{s['ndcg_max']:.4f}), HR@10 {s['hr']:.4f} "
            f"(±{s['hr_std']:.4f}, {s['hr_min']:.4f}..{s['hr_max']:.4f})"
        )
    print(f"(b) full ranking, watched excluded: NDCG@10 {f['ndcg']:.4f}, HR@10 {f['hr']:.4f} ({result['users']} users)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
