"""What every peer server of `bench_peers.py` runs: the served ONNX model in one onnxruntime
session built from Marquee's own session options (bench_peers passes them as JSON, so there is
one source for them), and Triton's classification reply for requests that ask for the top k.

Imports numpy and onnxruntime only: it runs inside each peer's own environment."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

INPUT, OUTPUT = "movie_ids", "scores"


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="the model repository's sasrec/1/model.onnx")
    parser.add_argument("--labels", type=Path, required=True, help="its label file (one MovieLens id a line)")
    parser.add_argument("--session-options", required=True, help="Marquee's onnxruntime session options, JSON")
    parser.add_argument("--port", type=int, required=True, help="gRPC port")
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, required=True)


def session(model: Path, options_json: str) -> ort.InferenceSession:
    settings = json.loads(options_json)
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings["intra_op_num_threads"]
    options.inter_op_num_threads = settings["inter_op_num_threads"]
    options.execution_mode = ort.ExecutionMode(settings["execution_mode"])
    options.graph_optimization_level = ort.GraphOptimizationLevel(settings["graph_optimization_level"])
    for key, value in settings["config_entries"].items():
        options.add_session_config_entry(key, value)
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


class Scorer:
    """The model and its labels: scores for a batch of windows, or their top k as Triton
    formats classification results ("score:index:label", best first)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.session = session(args.model, args.session_options)
        self.labels = np.array(args.labels.read_text().split())

    def scores(self, movie_ids: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT], {INPUT: movie_ids.astype(np.int64, copy=False)})[0]

    def top(self, scores: np.ndarray, k: int) -> np.ndarray:
        """[rows, k] as Marquee's recommender writes them (a suite test holds the two equal)."""
        k = min(k, scores.shape[1])
        best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        return np.array(
            [
                [f"{row[i]:f}:{i}:{self.labels[i]}".encode() for i in columns[np.argsort(-row[columns], kind="stable")]]
                for row, columns in zip(scores, best, strict=True)
            ],
            dtype=np.object_,
        )


def classification_count(parameters: object) -> int:
    """The `classification` parameter of a requested output (0: the raw scores)."""
    if not parameters:
        return 0
    value = parameters.get("classification", 0) if isinstance(parameters, dict) else 0
    if isinstance(value, list):  # a batch merges each request's parameters into lists
        value = value[0]
    return int(getattr(value, "int64_param", value) or 0)
