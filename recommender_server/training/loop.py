"""Trains SASRec on MovieLens-1M (`make train`, or `python -m recommender_server.training --help`).

Loss: full softmax cross-entropy over every item at every position of each window (it beats
the original one-negative BCE by a wide margin, see docs/model_card.md). Seeded; early stopping
on validation NDCG@10 (full ranking, watched movies excluded); the best weights are saved as a
checkpoint, the latest state after every epoch so an interrupted run resumes with `--resume`.
At the end the best checkpoint is evaluated on the test items and exported to the model
repository.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from recommender_server.training.evaluation import load_split, test_metrics, validation_inputs
from recommender_server.training.options import parse_args
from recommender_server.training.ranking_metrics import evaluate, torch_scorer
from recommender_server.training.sasrec import SASRec, SASRecConfig


@dataclass(frozen=True)
class Window:
    """One training example: inputs and next-item targets for the slots of a left-padded window."""

    inputs: np.ndarray
    targets: np.ndarray


def training_windows(train: dict[int, np.ndarray], maxlen: int, all_windows: bool) -> list[Window]:
    """The last `maxlen` steps of each user's training sequence; with `all_windows`, also the
    earlier stretches of long histories (stride `maxlen`), so no interaction goes unused."""
    windows = []
    for seq in train.values():
        inputs, targets = seq[:-1], seq[1:]
        end = len(inputs)
        while end > 0:
            start = max(0, end - maxlen)
            windows.append(Window(inputs[start:end], targets[start:end]))
            if not all_windows:
                break
            end -= maxlen
            if end < 2:
                break
    return windows


def batches(
    windows: list[Window], batch_size: int, rng: random.Random, mixed: bool = True
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Windows in batches, each batch only as wide as its longest window. `mixed`: a uniformly
    random order, so each batch mixes short and long histories (the published recipe; the
    gradient of one step then stands for the whole data). Otherwise windows of similar length
    go together (less padding, but a step sees only light or only heavy users)."""
    if mixed:
        order = list(range(len(windows)))
        rng.shuffle(order)
    else:
        order = sorted(range(len(windows)), key=lambda i: (len(windows[i].inputs), rng.random()))
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if not mixed:
        rng.shuffle(groups)
    out = []
    for group in groups:
        width = max(len(windows[i].inputs) for i in group)
        inputs = np.zeros((len(group), width), dtype=np.int64)
        targets = np.zeros((len(group), width), dtype=np.int64)
        for row, i in enumerate(group):
            n = len(windows[i].inputs)
            inputs[row, width - n :] = windows[i].inputs
            targets[row, width - n :] = windows[i].targets
        out.append((inputs, targets))
    return out


def full_softmax_loss(
    model: SASRec,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    label_smoothing: float = 0.0,
    uniform_bce: float = 0.0,
    uniform_negatives: int = 8,
) -> torch.Tensor:
    """Cross-entropy over every item; with `uniform_bce` > 0, plus that weight times the SASRec
    paper's binary cross-entropy of the target against `uniform_negatives` items drawn uniformly
    (read from the same logits, so nearly free). The softmax hardly pushes down items it already
    finds unlikely, so the scores of rarely seen movies are left loose; the sampled protocol
    ranks the target against exactly such movies."""
    hidden = model(inputs)
    real = targets != 0
    logits = (hidden[real] @ model.item_weights().T).float()
    columns = targets[real] - 1
    loss = F.cross_entropy(logits, columns, label_smoothing=label_smoothing)
    if uniform_bce <= 0:
        return loss
    drawn = torch.randint(0, logits.shape[1], (logits.shape[0], uniform_negatives))
    negative = logits.gather(1, drawn)
    positive = logits.gather(1, columns[:, None])
    # A draw that hits the target itself would be pushed both ways: it is left out.
    not_target = (drawn != columns[:, None]).float()
    bce = -F.logsigmoid(positive).squeeze(1) - (F.logsigmoid(-negative) * not_target).sum(1)
    return loss + uniform_bce * bce.mean()


def ema_with_warmup(decay: float):
    """The per-tensor update of an exponential moving average whose decay grows as
    (1 + n) / (10 + n) up to `decay` (TensorFlow's ExponentialMovingAverage with num_updates):
    early on the average follows the fast-moving weights instead of dragging the random
    initialisation along, and a budget-limited run averages roughly its last tenth."""

    def update(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
        n = float(num_averaged)
        d = min(decay, (1 + n) / (10 + n))
        return averaged * d + current * (1 - d)

    return update


def served_model(averaged: nn.Module) -> SASRec:
    """The SASRec inside an EMA wrapper (or the model itself when there is none)."""
    return averaged.module if isinstance(averaged, AveragedModel) else averaged


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def lr_at(step: int, total: int, warmup: int, base: float, schedule: str, time_fraction: float = 0.0) -> float:
    """Linear warm-up, then a cosine down to 5 % of `base`. The cosine follows whichever is
    further along, the steps or the time budget (`time_fraction`), so that on a machine slower
    or busier than planned the run still anneals before the budget ends."""
    if step < warmup:
        return base * (step + 1) / warmup
    if schedule == "constant":
        return base
    progress = min(1.0, max((step - warmup) / max(1, total - warmup), time_fraction))
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


class ComputeBudget:
    """Minutes of compute: this process's CPU time divided by its threads. On an idle machine
    that is the wall time; on a shared one, the time the run actually had the cores."""

    def __init__(self, minutes: float, threads: int, cpu_before: float = 0.0) -> None:
        self.seconds = minutes * 60
        self.threads = max(1, threads)
        self.cpu_before = cpu_before
        self.cpu_start = time.process_time()

    def cpu_seconds(self) -> float:
        return self.cpu_before + time.process_time() - self.cpu_start

    def minutes(self) -> float:
        return self.cpu_seconds() / self.threads / 60

    def fraction(self) -> float:
        return self.minutes() * 60 / self.seconds


def train(args: argparse.Namespace) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    interactions, split = load_split(args.data_dir, args.limit_users)
    cfg = SASRecConfig(
        num_items=interactions.num_items,
        maxlen=args.maxlen,
        hidden=args.hidden,
        blocks=args.blocks,
        heads=args.heads,
        dropout=args.dropout,
        gated=args.gated,
        ffn=args.ffn,
        ffn_multiplier=args.ffn_multiplier,
        init=args.init,
    )
    model = SASRec(cfg)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=args.lr, betas=(0.9, args.adam_beta2), weight_decay=args.weight_decay
    )
    # The average the run evaluates and keeps; with --ema 0 it is the raw weights themselves.
    averaged: nn.Module = model
    if args.ema:
        averaged = AveragedModel(model, avg_fn=ema_with_warmup(args.ema))
    windows = training_windows(split.train, cfg.maxlen, args.all_windows)
    steps_per_epoch = math.ceil(len(windows) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    val_hist, val_targets = validation_inputs(split)
    ckpt_dir: Path = args.checkpoint_dir
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    history: list[dict] = []
    best = {"ndcg": -1.0, "epoch": 0}
    start_epoch, step, elapsed_before, cpu_before = 1, 0, 0.0, 0.0
    if args.resume and (ckpt_dir / "last.pt").is_file():
        state = torch.load(ckpt_dir / "last.pt", weights_only=False)
        model.load_state_dict(state["model"])
        if args.ema:
            averaged.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        rng.setstate(state["rng"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, step = state["epoch"] + 1, state["step"]
        history, best, elapsed_before = state["history"], state["best"], state["elapsed"]
        # States without CPU time count their wall time on every thread: never less than used.
        cpu_before = state.get("cpu_seconds", elapsed_before * torch.get_num_threads())
    print(
        f"users {len(split.train)}, items {cfg.num_items}, windows {len(windows)}, "
        f"steps/epoch {steps_per_epoch}, config {cfg.to_dict()}",
        flush=True,
    )
    started = time.monotonic() - elapsed_before
    budget = ComputeBudget(args.max_minutes, torch.get_num_threads(), cpu_before)
    stale = 0 if not history else (history[-1]["epoch"] - best["epoch"]) // args.eval_every
    for epoch in range(start_epoch, args.epochs + 1):
        model.train()
        losses = []
        bar = tqdm(
            batches(windows, args.batch_size, rng, args.batching == "mixed"),
            desc=f"epoch {epoch}/{args.epochs}",
            unit="batch",
            leave=False,
            mininterval=5,
        )
        for inputs, targets in bar:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, args.warmup_steps, args.lr, args.schedule, budget.fraction())
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                loss = full_softmax_loss(
                    model,
                    torch.from_numpy(inputs),
                    torch.from_numpy(targets),
                    args.label_smoothing,
                    args.uniform_bce if budget.minutes() >= args.uniform_bce_after else 0.0,
                    args.uniform_negatives,
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if args.ema:
                averaged.update_parameters(model)
            step += 1
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        record = {
            "epoch": epoch,
            "loss": float(np.mean(losses)),
            "lr": optimizer.param_groups[0]["lr"],
            "minutes": (time.monotonic() - started) / 60,
            "compute_minutes": budget.minutes(),
        }
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            val = evaluate(torch_scorer(served_model(averaged)), val_hist, val_targets).summary()
            record["val_ndcg"], record["val_hr"] = val["full"]["ndcg"], val["full"]["hr"]
            if record["val_ndcg"] > best["ndcg"]:
                best = {"ndcg": record["val_ndcg"], "hr": record["val_hr"], "epoch": epoch}
                torch.save(
                    {
                        "config": cfg.to_dict(),
                        "model": served_model(averaged).state_dict(),
                        "movie_ids": interactions.movie_ids,
                        "epoch": epoch,
                        "val": val,
                        "args": vars(args)
                        | {
                            "data_dir": str(args.data_dir),
                            "checkpoint_dir": str(ckpt_dir),
                            "model_repository": str(args.model_repository),
                        },
                    },
                    ckpt_dir / "best.pt",
                )
                stale = 0
            else:
                stale += 1
        history.append(record)
        print(json.dumps(record), flush=True)
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "ema": averaged.state_dict() if args.ema else None,
                "rng": rng.getstate(),
                "torch_rng": torch.get_rng_state(),
                "epoch": epoch,
                "step": step,
                "history": history,
                "best": best,
                "elapsed": time.monotonic() - started,
                "cpu_seconds": budget.cpu_seconds(),
            },
            ckpt_dir / "last.pt",
        )
        if stale >= args.patience:
            print(f"early stop: no better validation NDCG@10 for {stale} evaluations", flush=True)
            break
        if budget.fraction() >= 1.0:
            print(f"compute budget of {args.max_minutes} min reached", flush=True)
            break
        if (time.monotonic() - started) / 60 >= args.max_wall_minutes:
            print(f"wall-clock limit of {args.max_wall_minutes} min reached", flush=True)
            break
    train_minutes = (time.monotonic() - started) / 60
    compute_minutes = budget.minutes()
    best_state = torch.load(ckpt_dir / "best.pt", weights_only=False)
    model.load_state_dict(best_state["model"])
    model.eval()
    test = test_metrics(torch_scorer(model), split, cfg.num_items, args.test_draws, args.seed + 1)
    result = {
        "train_minutes": train_minutes,
        "compute_minutes": compute_minutes,
        "best": best,
        "history": history,
        "test": test,
        "config": cfg.to_dict(),
        "threads": torch.get_num_threads(),
        "source": str(interactions.source),
    }
    (ckpt_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    print(
        json.dumps(
            {"train_minutes": train_minutes, "compute_minutes": compute_minutes, "best": best, "test": test}, indent=2
        ),
        flush=True,
    )
    if args.export:
        from recommender_server.training.onnx_export import DEFAULT_WEIGHTS, export_checkpoint

        path = export_checkpoint(ckpt_dir / "best.pt", args.model_repository, DEFAULT_WEIGHTS)
        print(f"exported {path}", flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
