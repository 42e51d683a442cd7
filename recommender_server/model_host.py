"""The models of a repository, loaded: one onnxruntime session, batcher and statistics per
served version."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marquee.serving import NotFound, shorten
from marquee.serving.structured_logs import get_logger
from recommender_server.dynamic_batching import DynamicBatcher
from recommender_server.model_statistics import ModelStatistics
from recommender_server.onnx_runner import OnnxModel
from recommender_server.repository import ModelEntry, RepositoryError, load_entry, numpy_dtype, parse_version

log = get_logger("recommender.models")


@dataclass
class ServedVersion:
    version: int
    instances: list[OnnxModel]
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
        number = parse_version(requested)
        if number not in self.versions:
            served = ", ".join(str(v) for v in sorted(self.versions))
            raise NotFound(f"model {self.name!r} has no version {shorten(requested)!r} loaded (served: {served})")
        return self.versions[number]


@dataclass(frozen=True)
class BatchingOptions:
    enabled: bool = True
    window_s: float | None = None
    max_batch_size: int | None = None
    intra_op_threads: int = 0
    instances: int | None = None
    spinning: bool = False
    length_groups: int = 1


def model_names(repository: Path) -> list[str]:
    if not repository.is_dir():
        raise RepositoryError(f"model repository {repository} not found")
    names = sorted(p.name for p in repository.iterdir() if (p / "config.pbtxt").is_file())
    if not names:
        raise RepositoryError(f"model repository {repository} holds no model (no <name>/config.pbtxt)")
    return names


def _warm(model: OnnxModel, entry: ModelEntry) -> None:
    """A few runs at the sizes the batcher will use, so the first requests are not slow."""
    for rows in sorted({1, min(8, entry.config.max_batch_size), entry.config.max_batch_size}):
        inputs = {
            spec.name: np.ones((rows, *spec.dims), dtype=numpy_dtype(spec.data_type)) for spec in entry.config.input
        }
        model.run(inputs)


def instance_count(entry: ModelEntry, override: int | None) -> int:
    """Instances to run: the override, else the config's CPU instance groups (Triton's default
    is one instance)."""
    if override is not None:
        return override
    return sum(group.count or 1 for group in entry.config.instance_group) or 1


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
    count = instance_count(entry, options.instances)
    # The cores are shared out between instances unless the threads are set explicitly.
    threads = options.intra_op_threads or max(1, (os.cpu_count() or 1) // count)
    versions: dict[int, ServedVersion] = {}
    for version, path in sorted(entry.versions.items()):
        started = time.perf_counter()
        instances = [
            OnnxModel(path, intra_op_threads=threads, spinning=options.spinning, length_groups=options.length_groups)
            for _ in range(count)
        ]
        declared = [i.name for i in entry.config.input]
        if sorted(instances[0].input_names) != sorted(declared):
            raise RepositoryError(f"{path} takes inputs {instances[0].input_names}, but the config declares {declared}")
        for instance in instances:
            _warm(instance, entry)
        stats = ModelStatistics(name, str(version))
        batcher = DynamicBatcher(
            instances, stats, max_batch_size=entry.config.max_batch_size, window_s=window_s, enabled=enabled
        )
        versions[version] = ServedVersion(version, instances, batcher, stats)
        log.info(
            "model version loaded",
            model=name,
            version=version,
            path=str(path),
            providers=instances[0].providers,
            instances=count,
            intra_op_threads=threads,
            dynamic_batching=enabled,
            length_groups=options.length_groups,
            batch_window_ms=window_s * 1000,
            max_batch_size=entry.config.max_batch_size,
            load_seconds=round(time.perf_counter() - started, 3),
        )
    return ServedModel(entry, versions)


class ModelHost:
    """Every model of the repository by name."""

    def __init__(self, models: dict[str, ServedModel]) -> None:
        self.models = models

    def get(self, name: str) -> ServedModel:
        if name not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise NotFound(f"model {shorten(name)!r} is not in the repository (models: {known})")
        return self.models[name]

    def start(self) -> None:
        for model in self.models.values():
            for served in model.versions.values():
                served.batcher.start()

    async def close(self) -> None:
        for model in self.models.values():
            for served in model.versions.values():
                await served.batcher.close()
