"""onnxruntime sessions for one model instance, with their options set explicitly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from marquee.serving.structured_logs import get_logger
from recommender_server.length_groups import batch_groups

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
    """An ONNX model file and the sessions that run it.

    With more than one intra-op thread there are two sessions: a one-thread one for batches of
    at most `small_batch_rows` rows (thread hand-offs cost more than they save on a single short
    history: 0.32 vs 0.43 ms on this 2-core CPU) and a multi-thread one for larger batches
    (5.0 vs 6.4 ms at 16 rows).

    With `length_groups` > 1 a batch whose one input is a left-padded integer matrix runs as up
    to that many sub-batches of similar history lengths (see `length_groups`)."""

    def __init__(
        self,
        path: Path,
        *,
        intra_op_threads: int = 0,
        spinning: bool = False,
        small_batch_rows: int = 4,
        length_groups: int = 1,
    ) -> None:
        available = ort.get_available_providers()
        providers = [p for p in PREFERRED_PROVIDERS if p in available] or available
        threads = intra_op_threads or (os.cpu_count() or 1)
        self.path = path
        self.session = ort.InferenceSession(
            str(path), sess_options=session_options(threads, spinning), providers=providers
        )
        self.small_batch_rows = small_batch_rows if threads > 1 else 0
        self.small_session = (
            ort.InferenceSession(str(path), sess_options=session_options(1, spinning), providers=providers)
            if self.small_batch_rows
            else self.session
        )
        # onnxruntime-gpu falls back to CPU when CUDA cannot start; say what actually runs.
        self.providers = self.session.get_providers()
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.length_groups = length_groups
        log.info(
            "onnx session ready",
            model=str(path),
            providers=self.providers,
            requested_providers=providers,
            intra_op_threads=threads,
            inter_op_threads=1,
            single_thread_up_to_rows=self.small_batch_rows,
            spinning=spinning,
            length_groups=length_groups,
        )

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        (name, batch), *others = inputs.items()
        if self.length_groups > 1 and not others and batch.ndim == 2 and batch.dtype.kind in "iu":
            groups = batch_groups(batch, self.length_groups)
            if len(groups) > 1:
                parts = [self._run_once({name: batch[rows]}) for rows in groups]
                order = np.concatenate(groups)
                outputs = {}
                for output in self.output_names:
                    joined = np.concatenate([part[output] for part in parts])
                    outputs[output] = np.empty_like(joined)
                    outputs[output][order] = joined
                return outputs
        return self._run_once(inputs)

    def _run_once(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = next(iter(inputs.values())).shape[0]
        session = self.small_session if rows <= self.small_batch_rows else self.session
        outputs = session.run(self.output_names, inputs)
        return dict(zip(self.output_names, outputs, strict=False))
