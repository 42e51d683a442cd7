"""Exports a trained SASRec to ONNX inside a Triton-style model repository.

The exported graph takes raw MovieLens ids (`movie_ids`, INT64 [batch, maxlen], left-padded
with 0) and maps them to item indices with a table stored in the graph (an id the model does not
know maps to 0, padding). It returns `scores`, FP32 [batch, num_items]: the next-movie logits in
catalog order (ascending movie id, the label file's order).

    python -m recommender_server.training.onnx_export runs/sasrec/best.pt recommender_server/model_repository

also saves the checkpoint's weights (no optimiser state, ~1 MB) as `trained/sasrec_ml1m.pt`.
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from recommender_server.repository import INPUT_NAME, LABEL_FILE, MODEL_FILE, OUTPUT_NAME, write_config
from recommender_server.training.sasrec import SASRec, SASRecConfig

OPSET = 17
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "trained" / "sasrec_ml1m.pt"


class RawIdSASRec(nn.Module):
    """SASRec that reads raw movie ids and scores every catalog movie for the next step."""

    def __init__(self, model: SASRec, movie_ids: np.ndarray) -> None:
        super().__init__()
        self.model = model
        movie_ids = np.asarray(movie_ids, dtype=np.int64)
        table = np.zeros(int(movie_ids.max()) + 1, dtype=np.int64)
        table[movie_ids] = np.arange(1, len(movie_ids) + 1)
        self.register_buffer("index_of_id", torch.from_numpy(table))
        self.max_id = int(movie_ids.max())

    def forward(self, movie_ids: torch.Tensor) -> torch.Tensor:
        known_range = (movie_ids >= 0) & (movie_ids <= self.max_id)
        items = self.index_of_id[movie_ids.clamp(0, self.max_id)]
        items = torch.where(known_range, items, torch.zeros_like(items))
        # Columns that are padding in every row change nothing (positions number the slots from
        # the right, padding keys are masked): skip them, so short histories cost less.
        any_real = (items != 0).any(dim=0)
        first = torch.argmax(any_real.to(torch.int32))
        return self.model.last_scores(items[:, first:])


def load_checkpoint(path: Path) -> tuple[SASRec, np.ndarray, dict]:
    """The model (in eval mode), its catalog movie ids and the whole checkpoint."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = SASRec(SASRecConfig(**state["config"]))
    model.load_state_dict(state["model"])
    model.eval()
    return model, np.asarray(state["movie_ids"], dtype=np.int64), state


def export_onnx(model: SASRec, movie_ids: np.ndarray, path: Path) -> Path:
    wrapper = RawIdSASRec(model, movie_ids).eval()
    example = torch.zeros(2, model.cfg.maxlen, dtype=torch.int64)
    example[:, -3:] = torch.from_numpy(np.asarray(movie_ids[:3], dtype=np.int64))
    path.parent.mkdir(parents=True, exist_ok=True)
    # The TorchScript exporter: the torch.export-based one needs onnxscript, one more dependency
    # for a graph this simple. Its deprecation notice is expected.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    # The exporter may leave modules in train mode.
    model.eval()
    return path


def export_to_repository(
    model: SASRec,
    movie_ids: np.ndarray,
    repository: Path,
    *,
    name: str = "sasrec",
    version: int = 1,
    max_batch_size: int = 256,
    queue_delay_us: int = 0,
    parameters: dict[str, str] | None = None,
) -> Path:
    """Writes `repository/name/{config.pbtxt, movie_ids.txt, version/model.onnx}`."""
    model_dir = repository / name
    onnx_path = export_onnx(model, movie_ids, model_dir / str(version) / MODEL_FILE)
    (model_dir / LABEL_FILE).write_text("".join(f"{int(m)}\n" for m in movie_ids))
    write_config(
        model_dir,
        name=name,
        maxlen=model.cfg.maxlen,
        num_items=len(movie_ids),
        max_batch_size=max_batch_size,
        queue_delay_us=queue_delay_us,
        parameters=parameters or {},
    )
    return onnx_path


def export_checkpoint(checkpoint: Path, repository: Path, weights: Path | None = None, **kwargs) -> Path:
    """Exports `checkpoint` to `repository`; with `weights`, also saves its PyTorch weights there
    (without optimiser state) so that the exported model can be checked against them."""
    model, movie_ids, state = load_checkpoint(checkpoint)
    params = {"config": json.dumps(state["config"]), "epoch": str(state.get("epoch", ""))}
    path = export_to_repository(model, movie_ids, repository, parameters=params, **kwargs)
    if weights is not None:
        weights.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {key: state[key] for key in ("config", "model", "movie_ids", "epoch", "val") if key in state}, weights
        )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m recommender_server.training.onnx_export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", type=Path, help="best.pt written by `python -m recommender_server.training`")
    p.add_argument("repository", type=Path, help="model repository directory")
    p.add_argument("--name", default="sasrec")
    p.add_argument("--version", type=int, default=1)
    p.add_argument(
        "--weights",
        type=Path,
        default=DEFAULT_WEIGHTS,
        help="also save the PyTorch weights here (the parity test reads them)",
    )
    args = p.parse_args(argv)
    print(export_checkpoint(args.checkpoint, args.repository, args.weights, name=args.name, version=args.version))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
