"""The models of a repository, loaded: one onnxruntime session, batcher and statistics per
served version."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marquee.serving import NotFound
from marquee.serving.structured_logs import get_logger
from recommender_server.dynamic_batching import DynamicBatcher
from recommender_server.inference_statistics import ModelStatistics
from recommender_server.onnx_runner import OnnxModel
from recommender_server.repository import ModelEntry, RepositoryError, load_entry, numpy_dtype

log = get_logger("recommender.models")


@dataclass
class ServedVersion:
    version: int
    model: OnnxModel
    batcher: DynamicBatcher
    stats: ModelStatistics


@dataclass
class ServedModel:
    entry: ModelEntry
    versions: dict[int, ServedVersion]

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def max_batch_size(self) -> int:
        return self.entry.config.max_batch_size

    def version(self, requested: str) -> ServedVersion:
        """The version asked for, or the highest when `requested` is empty."""
        if not requested:
            return self.versions[max(self.versions)]
        if not requested.isdigit() or int(requested) not in self.versions:
            served = ", ".join(str(v) for v in sorted(self.versions))
            raise NotFound(f"model {self.name!r} has no version {requested!r} loaded (served: {served})")
        return self.versions[int(requested)]


@dataclass(frozen=True)
class BatchingOptions:
    enabled: bool = True
    window_s: float | None = None
    max_batch_size: int | None = None
    intra_op_threads: int = 0
    spinning: bool = False


def model_names(repository: Path) -> list[str]:
    if not repository.is_dir():
        raise RepositoryError(f"model repository {repository} not found")
    names = sorted(p.name for p in repository.iterdir() if (p / "config.pbtxt").is_file())
    if not names:
        raise RepositoryError(f"model repository {repository} holds no model (no <name>/config.pbtxt)")
    return names


def _warm(served: ServedVersion, entry: ModelEntry) -> None:
    """A few runs at the sizes the batcher will use, so the first requests are not slow."""
    for rows in sorted({1, min(8, entry.config.max_batch_size), entry.config.max_batch_size}):
        inputs = {
            spec.name: np.zeros((rows, *spec.dims), dtype=numpy_dtype(spec.data_type))
            for spec in entry.config.input
        }
        served.model.run(inputs)


def load_model(repository: Path, name: str, options: BatchingOptions) -> ServedModel:
    """Reads the config, opens every version the version policy selects, warms them. Blocking."""
    entry = load_entry(repository, name)
    if entry.config.max_batch_size < 1:
        raise RepositoryError(f"{entry.directory}/config.pbtxt: max_batch_size must be at least 1")
    if options.max_batch_size is not None:
        entry.config.max_batch_size = min(entry.config.max_batch_size, options.max_batch_size)
    if options.window_s is not None:
        entry.config.dynamic_batching.max_queue_delay_microseconds = int(options.window_s * 1e6)
    window_s = entry.config.dynamic_batching.max_queue_delay_microseconds / 1e6
    enabled = options.enabled and entry.config.HasField("dynamic_batching")
    versions: dict[int, ServedVersion] = {}
    for version, path in sorted(entry.versions.items()):
        started = time.perf_counter()
        model = OnnxModel(path, intra_op_threads=options.intra_op_threads, spinning=options.spinning)
        declared = [i.name for i in entry.config.input]
        if sorted(model.input_names) != sorted(declared):
            raise RepositoryError(f"{path} takes inputs {model.input_names}, but the config declares {declared}")
        stats = ModelStatistics(name, str(version))
        batcher = DynamicBatcher(model, stats, max_batch_size=entry.config.max_batch_size,
                                 window_s=window_s, enabled=enabled)
        served = ServedVersion(version, model, batcher, stats)
        _warm(served, entry)
        versions[version] = served
        log.info("model version loaded", model=name, version=version, path=str(path),
                 providers=model.providers, dynamic_batching=enabled, batch_window_ms=window_s * 1000,
                 max_batch_size=entry.config.max_batch_size,
                 load_seconds=round(time.perf_counter() - started, 3))
    return ServedModel(entry, versions)


class ModelHost:
    """Every model of the repository by name."""

    def __init__(self, models: dict[str, ServedModel]) -> None:
        self.models = models

    def get(self, name: str) -> ServedModel:
        if name not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise NotFound(f"model {name!r} is not in the repository (models: {known})")
        return self.models[name]

    def start(self) -> None:
        for model in self.models.values():
            for served in model.versions.values():
                served.batcher.start()

    async def close(self) -> None:
        for model in self.models.values():
            for served in model.versions.values():
                await served.batcher.close()
