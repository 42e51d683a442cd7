"""One onnxruntime session per served model version, with its options set explicitly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from marquee.serving.structured_logs import get_logger

log = get_logger("recommender.onnx")

PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")


def session_options(intra_op_threads: int = 0, spinning: bool = False) -> ort.SessionOptions:
    options = ort.SessionOptions()
    # One run at a time (the batcher serialises runs), so parallelism lives inside operators.
    options.intra_op_num_threads = intra_op_threads or (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


class OnnxModel:
    """An ONNX model file and the session that runs it."""

    def __init__(self, path: Path, *, intra_op_threads: int = 0, spinning: bool = False) -> None:
        available = ort.get_available_providers()
        providers = [p for p in PREFERRED_PROVIDERS if p in available] or available
        self.path = path
        self.session = ort.InferenceSession(
            str(path), sess_options=session_options(intra_op_threads, spinning), providers=providers
        )
        # onnxruntime-gpu falls back to CPU when CUDA cannot start; say what actually runs.
        self.providers = self.session.get_providers()
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        log.info("onnx session ready", model=str(path), providers=self.providers,
                 requested_providers=providers, intra_op_threads=intra_op_threads or os.cpu_count(),
                 inter_op_threads=1, spinning=spinning)

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.session.run(self.output_names, inputs)
        return dict(zip(self.output_names, outputs))
