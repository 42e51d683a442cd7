"""Peer (c) of bench_peers.py: MLServer with this small custom runtime and adaptive batching
(bench_peers writes model-settings.json with max_batch_size and max_batch_time).

MLServer has no classification extension: the runtime answers a requested output's
`classification` parameter itself, in Triton's format, so both modes compare like for like."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse, ResponseOutput
from onnx_model import OUTPUT, Scorer, classification_count


class SASRecRuntime(MLModel):
    async def load(self) -> bool:
        extra = self.settings.parameters.extra
        self._scorer = Scorer(
            argparse.Namespace(
                model=Path(extra["model"]), labels=Path(extra["labels"]), session_options=extra["session_options"]
            )
        )
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        scores = self._scorer.scores(NumpyCodec.decode_input(payload.inputs[0]))
        requested = (payload.outputs or [None])[0]
        k = classification_count(requested.parameters.model_dump() if requested and requested.parameters else None)
        if not k:
            return InferenceResponse(model_name=self.name, outputs=[NumpyCodec.encode_output(OUTPUT, scores)])
        top = self._scorer.top(scores, k)
        output = ResponseOutput(name=OUTPUT, shape=list(top.shape), datatype="BYTES", data=top.ravel().tolist())
        return InferenceResponse(model_name=self.name, outputs=[output])
