"""A Triton-style model repository: `<repo>/<model>/config.pbtxt`, numbered version folders
holding `model.onnx`, and the label file named by the output's `label_filename`.

The config is Triton's own `ModelConfig` protobuf (the copy tritonclient ships), read and
written as protobuf text. Versions follow Triton's rule: the config's `version_policy` picks
them (default: the highest one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

CONFIG_FILE = "config.pbtxt"
MODEL_FILE = "model.onnx"
LABEL_FILE = "movie_ids.txt"
INPUT_NAME = "movie_ids"
OUTPUT_NAME = "scores"
PLATFORM = "onnxruntime_onnx"

CONFIG_HEADER = """\
# Triton model configuration (tritonclient's ModelConfig protobuf, text format), written by
# `python -m recommender_server.training.onnx_export`. Input: raw MovieLens ids, left-padded
# with 0 (an unknown id counts as padding). Output: next-movie logits in the label file's order.
# dynamic_batching without max_queue_delay_microseconds: no added wait; requests that arrive
# while the instance is busy form its next batch (the server's --batch-window-ms adds a wait).
"""

_DTYPE_NUMPY = {
    mc.TYPE_BOOL: np.bool_,
    mc.TYPE_UINT8: np.uint8,
    mc.TYPE_UINT16: np.uint16,
    mc.TYPE_UINT32: np.uint32,
    mc.TYPE_UINT64: np.uint64,
    mc.TYPE_INT8: np.int8,
    mc.TYPE_INT16: np.int16,
    mc.TYPE_INT32: np.int32,
    mc.TYPE_INT64: np.int64,
    mc.TYPE_FP16: np.float16,
    mc.TYPE_FP32: np.float32,
    mc.TYPE_FP64: np.float64,
}


class RepositoryError(ValueError):
    """The model repository is missing something or holds an invalid config; says which file."""


def numpy_dtype(data_type: int) -> np.dtype:
    return np.dtype(_DTYPE_NUMPY[data_type])


def kserve_datatype(data_type: int) -> str:
    """ "INT64" for TYPE_INT64: the KServe v2 name of a config data type."""
    return mc.DataType.Name(data_type).removeprefix("TYPE_").replace("STRING", "BYTES")


def build_config(
    *,
    name: str,
    maxlen: int,
    num_items: int,
    max_batch_size: int,
    queue_delay_us: int,
    parameters: dict[str, str] | None = None,
) -> mc.ModelConfig:
    config = mc.ModelConfig(name=name, platform=PLATFORM, max_batch_size=max_batch_size)
    config.version_policy.latest.num_versions = 1
    config.input.add(name=INPUT_NAME, data_type=mc.TYPE_INT64, dims=[maxlen])
    config.output.add(name=OUTPUT_NAME, data_type=mc.TYPE_FP32, dims=[num_items], label_filename=LABEL_FILE)
    config.dynamic_batching.SetInParent()
    config.dynamic_batching.max_queue_delay_microseconds = queue_delay_us
    config.instance_group.add(kind=mc.ModelInstanceGroup.KIND_CPU, count=1)
    for key, value in (parameters or {}).items():
        config.parameters[key].string_value = value
    return config


def write_config(model_dir: Path, **kwargs) -> Path:
    config = build_config(**kwargs)
    path = model_dir / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG_HEADER + text_format.MessageToString(config))
    return path


def read_config(model_dir: Path) -> mc.ModelConfig:
    path = model_dir / CONFIG_FILE
    if not path.is_file():
        raise RepositoryError(f"{path} not found: every model folder needs a config.pbtxt")
    try:
        config = text_format.Parse(path.read_text(), mc.ModelConfig())
    except text_format.ParseError as exc:
        raise RepositoryError(f"{path} is not a valid Triton ModelConfig: {exc}") from exc
    if not config.name:
        config.name = model_dir.name
    if config.name != model_dir.name:
        raise RepositoryError(f"{path}: name {config.name!r} differs from its folder {model_dir.name!r}")
    if config.platform not in ("", PLATFORM) or config.backend not in ("", "onnxruntime"):
        raise RepositoryError(f"{path}: only platform {PLATFORM!r} is served, got {config.platform!r}")
    if not config.input or not config.output:
        raise RepositoryError(f"{path}: the config must declare its inputs and outputs")
    return config


#: Triton's versions are int64: at most 18 digits always fit.
MAX_VERSION_DIGITS = 18


def parse_version(text: str) -> int | None:
    """The version number `text` spells ("1", "007"), or None. Only ASCII digits count:
    `str.isdigit` also accepts "²" and "٣", which `int` then refuses or reads differently."""
    if 0 < len(text) <= MAX_VERSION_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


def available_versions(model_dir: Path, model_file: str = MODEL_FILE) -> list[int]:
    """Version folders holding the model file, named canonically ("2", not "02" or "²")."""
    found = ((parse_version(child.name), child) for child in model_dir.iterdir() if child.is_dir())
    return sorted(
        version
        for version, child in found
        if version is not None and child.name == str(version) and (child / model_file).is_file()
    )


def select_versions(config: mc.ModelConfig, available: list[int]) -> list[int]:
    """The versions Triton would load: by default (and with `latest`) the highest ones."""
    policy = config.version_policy
    kind = policy.WhichOneof("policy_choice")
    if kind == "all":
        return list(available)
    if kind == "specific":
        return [v for v in available if v in set(policy.specific.versions)]
    count = policy.latest.num_versions if kind == "latest" else 1
    return sorted(available)[-max(count, 1) :]


@dataclass(frozen=True)
class ModelEntry:
    """One model of the repository, resolved: its config, the versions to serve, its labels."""

    name: str
    directory: Path
    config: mc.ModelConfig
    versions: dict[int, Path]
    labels: dict[str, list[str]]

    @property
    def latest_version(self) -> int:
        return max(self.versions)


def load_entry(repository: Path, name: str) -> ModelEntry:
    model_dir = repository / name
    if not model_dir.is_dir():
        raise RepositoryError(f"model {name!r} not found in {repository}")
    config = read_config(model_dir)
    model_file = config.default_model_filename or MODEL_FILE
    available = available_versions(model_dir, model_file)
    chosen = select_versions(config, available)
    if not chosen:
        raise RepositoryError(
            f"{model_dir}: no version folder to serve (found {available or 'none'}; a version is "
            f"a numbered folder holding {model_file}, chosen by the config's version_policy)"
        )
    labels: dict[str, list[str]] = {}
    for output in config.output:
        if output.label_filename:
            path = model_dir / output.label_filename
            if not path.is_file():
                raise RepositoryError(f"{path} not found: named by output {output.name!r} of {model_dir / CONFIG_FILE}")
            labels[output.name] = path.read_text().split()
    return ModelEntry(name, model_dir, config, {v: model_dir / str(v) / model_file for v in chosen}, labels)
