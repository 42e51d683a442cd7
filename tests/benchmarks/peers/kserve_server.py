"""Peer (d) of bench_peers.py: KServe's Python model server (`kserve.ModelServer`, V2 gRPC)
with the ONNX model; with `--zeros`, the zero-compute mock: every row answered with the
model's number of zeros, built once, so what it measures is the protocol and the client.

KServe's Python server has no batching of its own; classification is answered here, in
Triton's format, as for MLServer."""

from __future__ import annotations

import argparse

import numpy as np
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer
from onnx_model import OUTPUT, Scorer, add_model_arguments, classification_count


class SASRecModel(Model):
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__("sasrec")
        self.zeros = np.zeros((1, args.items), dtype=np.float32) if args.zeros else None
        self.scorer = None if args.zeros else Scorer(args)
        self.ready = True

    async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        ids = payload.inputs[0].as_numpy()
        if self.scorer is None:
            scores = self.zeros if len(ids) == 1 else np.zeros((len(ids), self.zeros.shape[1]), np.float32)
            k = 0
        else:
            scores = self.scorer.scores(ids)
            outputs = payload.request_outputs or []
            k = classification_count(outputs[0].parameters) if outputs else 0
        if k:
            top = self.scorer.top(scores, k)
            output = InferOutput(name=OUTPUT, shape=list(top.shape), datatype="BYTES")
            output.set_data_from_numpy(top)
        else:
            output = InferOutput(name=OUTPUT, shape=list(scores.shape), datatype="FP32")
            output.set_data_from_numpy(scores)
        return InferResponse(response_id=payload.id or "", model_name=self.name, infer_outputs=[output])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--zeros", action="store_true", help="the zero-compute mock")
    args = parser.parse_args()
    ModelServer(http_port=args.http_port, grpc_port=args.port, enable_latency_logging=False).start([SASRecModel(args)])


if __name__ == "__main__":
    main()
