"""Peer (b) of bench_peers.py: a real Triton Inference Server (the `tritonserver` binary that
`nvidia-pytriton` ships) serving the ONNX model through its Python backend, which runs
onnxruntime here with Marquee's session options; dynamic batching on, as Marquee's config.

Triton itself computes classification (class_count) from the scores output, as for Marquee."""

from __future__ import annotations

import argparse

import numpy as np
from onnx_model import INPUT, OUTPUT, Scorer, add_model_arguments
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--items", type=int, required=True)
    args = parser.parse_args()
    scorer = Scorer(args)

    @batch
    def infer(movie_ids: np.ndarray) -> dict[str, np.ndarray]:
        return {OUTPUT: scorer.scores(movie_ids)}

    config = TritonConfig(grpc_port=args.port, http_port=args.http_port, metrics_port=args.metrics_port, log_verbose=0)
    with Triton(config=config) as triton:
        triton.bind(
            model_name="sasrec",
            infer_func=infer,
            inputs=[Tensor(name=INPUT, dtype=np.int64, shape=(args.window,))],
            outputs=[Tensor(name=OUTPUT, dtype=np.float32, shape=(args.items,))],
            config=ModelConfig(max_batch_size=256, batcher=DynamicBatcher()),
            strict=False,
        )
        triton.serve()


if __name__ == "__main__":
    main()
