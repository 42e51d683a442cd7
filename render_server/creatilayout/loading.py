"""Loading the CreatiLayout pipeline from a Hugging Face id or a local directory, on the right device and dtype.

Two shapes of `model` are understood:
- a local pipeline directory in diffusers layout (model_index.json, transformer/ and the SD3 components),
  like the tiny test fixture: everything comes from it;
- the layout transformer alone: a Hugging Face id (subfolder `SiamLayout_SD3`, the released checkpoint),
  a local copy of that repository, or a local transformer directory. The scheduler, VAE, text encoders
  and tokenizers then come from `base_model` (SD3-Medium, gated: licence acceptance and `HF_TOKEN`).

Every failure is a `ModelLoadError` whose message says what is missing and what to do about it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
)

from marquee.serving.structured_logs import get_logger
from render_server.creatilayout.pipeline import CreatiLayoutPipeline
from render_server.creatilayout.transformer import MissingWeightsError, SiamLayoutSD3Transformer2DModel

DEFAULT_LAYOUT_MODEL = "HuiZhang0812/CreatiLayout"
DEFAULT_LAYOUT_SUBFOLDER = "SiamLayout_SD3"
DEFAULT_BASE_MODEL = "stabilityai/stable-diffusion-3-medium-diffusers"

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
}
_TRANSFORMER_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors.index.json")

log = get_logger(__name__)


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message names what is missing and how to fix it."""


def resolve_device(device: str = "auto") -> str:
    """ "auto" → "cuda" when a GPU is visible, else "cpu"; an explicit device is checked, not guessed."""
    device = device.strip().lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        return device
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ModelLoadError(f"device {device!r} was asked for but no CUDA GPU is visible; use 'auto' or 'cpu'")
        return device
    if device == "mps":
        if not torch.backends.mps.is_available():
            raise ModelLoadError("device 'mps' was asked for but Metal is not available; use 'auto' or 'cpu'")
        return device
    raise ModelLoadError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps")


def resolve_dtype(dtype: str, device: str) -> torch.dtype:
    """ "auto" → bfloat16 on CUDA (float16 where bf16 is unsupported), float32 elsewhere."""
    name = dtype.strip().lower()
    if name == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if name not in _DTYPES:
        raise ModelLoadError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16")
    return _DTYPES[name]


def load_pipeline(
    model: str,
    *,
    base_model: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    hf_token: str | None = None,
    local_files_only: bool = False,
) -> CreatiLayoutPipeline:
    """The ready-to-run pipeline on `device` in `dtype`, progress bars off (callers report progress)."""
    resolved_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, resolved_device)
    hub = {"token": hf_token, "local_files_only": local_files_only}
    path = Path(model).expanduser()

    if path.is_dir() and (path / "model_index.json").is_file():
        _check_pipeline_dir(path)
        transformer = _load_transformer(str(path / "transformer"), None, torch_dtype, hub)
        components_from = str(path)
    else:
        if path.is_dir():
            transformer_dir = _transformer_dir_in(path)
            transformer = _load_transformer(str(transformer_dir), None, torch_dtype, hub)
        elif _looks_like_path(model):
            raise ModelLoadError(f"model directory {model!r} does not exist")
        else:
            transformer = _load_transformer(model, DEFAULT_LAYOUT_SUBFOLDER, torch_dtype, hub)
        components_from = base_model or DEFAULT_BASE_MODEL
        base_path = Path(components_from).expanduser()
        if base_path.is_dir():
            _check_pipeline_dir(base_path, needs_transformer=False)
        elif _looks_like_path(components_from):
            raise ModelLoadError(f"base model directory {components_from!r} does not exist")

    try:
        pipe = CreatiLayoutPipeline.from_pretrained(components_from, transformer=transformer, dtype=torch_dtype, **hub)
    except Exception as exc:
        raise ModelLoadError(
            _explain(exc, components_from, "the SD3 components (VAE, text encoders, scheduler)", hub)
        ) from exc
    pipe.set_progress_bar_config(disable=True)
    pipe = pipe.to(resolved_device)
    log.info(
        "render model loaded",
        model=model,
        components=components_from,
        device=resolved_device,
        dtype=str(torch_dtype).removeprefix("torch."),
        transformer_parameters=sum(p.numel() for p in pipe.transformer.parameters()),
        max_boxes_per_image=pipe.max_boxes_per_image,
    )
    return pipe


def _load_transformer(
    source: str, subfolder: str | None, torch_dtype: torch.dtype, hub: dict
) -> SiamLayoutSD3Transformer2DModel:
    try:
        return SiamLayoutSD3Transformer2DModel.from_pretrained(source, subfolder=subfolder, dtype=torch_dtype, **hub)
    except MissingWeightsError as exc:
        raise ModelLoadError(str(exc)) from exc
    except Exception as exc:
        where = f"{source} (subfolder {subfolder})" if subfolder else source
        raise ModelLoadError(_explain(exc, where, "the SiamLayout transformer", hub)) from exc


def _check_pipeline_dir(path: Path, needs_transformer: bool = True) -> None:
    """Names every missing component folder before diffusers fails on the first one."""
    index_file = path / "model_index.json"
    if not index_file.is_file():
        raise ModelLoadError(f"{path} has no model_index.json: it is not a diffusers pipeline directory")
    index = json.loads(index_file.read_text())
    wanted = [name for name, entry in index.items() if not name.startswith("_") and isinstance(entry, list)]
    wanted = [name for name in wanted if name != "transformer" and index[name][0] is not None]
    missing = [name for name in wanted if not (path / name).is_dir()]
    if needs_transformer:
        transformer_dir = path / "transformer"
        if not (transformer_dir / "config.json").is_file() or not any(
            (transformer_dir / f).is_file() for f in _TRANSFORMER_WEIGHTS
        ):
            missing.append("transformer (config.json and diffusion_pytorch_model.safetensors)")
    if missing:
        raise ModelLoadError(f"pipeline directory {path} is missing: {', '.join(missing)}")


def _transformer_dir_in(path: Path) -> Path:
    """A local transformer directory, or a local copy of the layout repository holding one."""
    for candidate in (path, path / DEFAULT_LAYOUT_SUBFOLDER):
        if (candidate / "config.json").is_file():
            return candidate
    raise ModelLoadError(
        f"{path} is neither a pipeline directory (model_index.json) nor a SiamLayout transformer directory "
        f"(config.json, or {DEFAULT_LAYOUT_SUBFOLDER}/config.json)"
    )


def _looks_like_path(name: str) -> bool:
    # Hub ids are "owner/name"; anything else with a slash, or starting like a path, is meant as a directory.
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def _explain(exc: BaseException, source: str, what: str, hub: dict) -> str:
    chain = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    has_token = "a token was given" if hub.get("token") else "no token was given (set HF_TOKEN)"

    def found(kind: type) -> bool:
        return any(isinstance(c, kind) for c in chain)

    if found(GatedRepoError):
        return (
            f"cannot download {what}: {source} is a gated repository. Accept its licence at "
            f"https://huggingface.co/{source.split(' ')[0]} with your Hugging Face account and pass a token of that "
            f"account (HF_TOKEN); {has_token}"
        )
    if found(RepositoryNotFoundError):
        return (
            f"cannot download {what}: {source} was not found on the Hugging Face Hub, or it is private or gated "
            f"and needs a token (HF_TOKEN); {has_token}"
        )
    if any(isinstance(c, HfHubHTTPError) and getattr(c.response, "status_code", None) == 401 for c in chain):
        return f"cannot download {what} from {source}: the Hugging Face token was rejected (HF_TOKEN)"
    if found(LocalEntryNotFoundError) or found(OfflineModeIsEnabled) or hub.get("local_files_only"):
        return (
            f"{what} for {source} is not in the local Hugging Face cache and could not be downloaded "
            f"(offline or local_files_only); download it first or pass a local directory. Cause: {_first_line(exc)}"
        )
    return f"could not load {what} from {source}: {type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
