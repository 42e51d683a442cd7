"""Loading the pipeline from a local directory or a Hub id, and the errors a person gets when it cannot load."""

from __future__ import annotations

import shutil

import pytest
import torch
from huggingface_hub.errors import GatedRepoError
from safetensors.torch import load_file, save_file

from render_server.creatilayout import loading
from render_server.creatilayout.loading import ModelLoadError, load_pipeline, resolve_device, resolve_dtype
from render_server.creatilayout.pipeline import CreatiLayoutPipeline
from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel
from tests.render_server.creatilayout.golden import assert_close

try:  # the HTTP client huggingface_hub raises its errors with
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older huggingface_hub
    import httpx


def _run_case2(pipe) -> torch.Tensor:
    return pipe(
        "a lone cowboy in a desert at dusk",
        ["cowboy hat", "old horse", "setting sun"],
        [[0.1, 0.1, 0.5, 0.6], [0.4, 0.4, 0.95, 0.95], [0.6, 0.05, 0.9, 0.35]],
        height=64,
        width=64,
        num_inference_steps=4,
        guidance_scale=1.0,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="latent",
    ).images


def _gated(repo: str) -> OSError:
    response = httpx.Response(403, request=httpx.Request("GET", f"https://huggingface.co/{repo}/resolve/main/x"))
    try:
        raise GatedRepoError(f"Access to model {repo} is restricted.", response=response)
    except GatedRepoError as cause:
        try:
            raise OSError(f"{repo} is not a valid model identifier") from cause
        except OSError as wrapped:
            return wrapped


def test_local_pipeline_directory_loads_on_cpu_in_float32_and_matches_the_golden(fixtures_dir, pipeline_golden) -> None:
    pipe = load_pipeline(str(fixtures_dir / "tiny" / "pipeline"))
    assert isinstance(pipe, CreatiLayoutPipeline)
    assert isinstance(pipe.transformer, SiamLayoutSD3Transformer2DModel)
    assert pipe.device.type == "cpu" and pipe.transformer.dtype == torch.float32
    assert pipe._progress_bar_config == {"disable": True}
    assert_close(_run_case2(pipe), pipeline_golden[0]["case2_nocfg_3boxes.latents_final"])


def test_transformer_directory_takes_its_components_from_the_base_model(fixtures_dir) -> None:
    pipe = load_pipeline(
        str(fixtures_dir / "tiny" / "transformer"), base_model=str(fixtures_dir / "tiny" / "pipeline"), dtype="bf16"
    )
    assert {pipe.transformer.dtype, pipe.text_encoder.dtype, pipe.text_encoder_3.dtype, pipe.vae.dtype} == {
        torch.bfloat16
    }
    assert _run_case2(pipe).dtype == torch.bfloat16


def test_local_copy_of_the_layout_repository_uses_its_subfolder(fixtures_dir, tmp_path) -> None:
    shutil.copytree(fixtures_dir / "tiny" / "transformer", tmp_path / "SiamLayout_SD3")
    pipe = load_pipeline(str(tmp_path), base_model=str(fixtures_dir / "tiny" / "pipeline"))
    assert pipe.max_boxes_per_image == 10


def test_pipeline_directory_with_a_missing_weight_fails_naming_it(fixtures_dir, tmp_path) -> None:
    copy = tmp_path / "pipeline"
    shutil.copytree(fixtures_dir / "tiny" / "pipeline", copy)
    weights_file = copy / "transformer" / "diffusion_pytorch_model.safetensors"
    weights = load_file(weights_file)
    del weights["position_net.null_position_feature"]
    weights_file.chmod(0o644)
    save_file(weights, weights_file, metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=r"position_net\.null_position_feature"):
        load_pipeline(str(copy))


def test_pipeline_directory_with_missing_components_names_them(fixtures_dir, tmp_path) -> None:
    copy = tmp_path / "pipeline"
    shutil.copytree(fixtures_dir / "tiny" / "pipeline", copy)
    shutil.rmtree(copy / "vae")
    shutil.rmtree(copy / "tokenizer_3")
    with pytest.raises(ModelLoadError, match=r"missing: vae, tokenizer_3|missing: tokenizer_3, vae"):
        load_pipeline(str(copy))


@pytest.mark.parametrize("model", ["/no/such/model/dir", "./no-such-dir", "a/b/c"])
def test_missing_directory_is_reported(model) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_pipeline(model)


def test_directory_that_is_not_a_model_is_reported(tmp_path) -> None:
    with pytest.raises(ModelLoadError, match="neither a pipeline directory"):
        load_pipeline(str(tmp_path))


@pytest.mark.filterwarnings("ignore:The `local_dir_use_symlinks` argument is deprecated")
def test_hub_id_not_in_the_cache_offline_says_so() -> None:
    with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache") as raised:
        load_pipeline("marquee-tests/no-such-layout-model", local_files_only=True)
    assert "SiamLayout_SD3" in str(raised.value)


def test_gated_layout_download_explains_licence_and_token_without_leaking_it(monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise _gated("HuiZhang0812/CreatiLayout")

    monkeypatch.setattr(SiamLayoutSD3Transformer2DModel, "from_pretrained", refuse)
    secret = "hf_abcdefghijklmnop123456"
    with pytest.raises(ModelLoadError) as raised:
        load_pipeline(loading.DEFAULT_LAYOUT_MODEL, hf_token=secret)
    message = str(raised.value)
    assert "gated" in message and "licence" in message and "HF_TOKEN" in message
    assert "a token was given" in message
    assert secret not in message


def test_gated_base_model_without_token_asks_for_hf_token(fixtures_dir, monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise _gated(loading.DEFAULT_BASE_MODEL)

    monkeypatch.setattr(CreatiLayoutPipeline, "from_pretrained", refuse)
    with pytest.raises(ModelLoadError) as raised:
        load_pipeline(str(fixtures_dir / "tiny" / "transformer"))
    message = str(raised.value)
    assert loading.DEFAULT_BASE_MODEL in message
    assert "no token was given (set HF_TOKEN)" in message


def test_resolve_device() -> None:
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("CPU") == "cpu"
    with pytest.raises(ModelLoadError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_resolve_dtype(monkeypatch) -> None:
    assert resolve_dtype("auto", "cpu") == torch.float32
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert resolve_dtype("auto", "cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_dtype("auto", "cuda:0") == torch.float16
    assert resolve_dtype("float32", "cuda") == torch.float32
    assert resolve_dtype("bfloat16", "cpu") == torch.bfloat16
    assert resolve_dtype("fp16", "cuda") == torch.float16
    with pytest.raises(ModelLoadError, match="unknown dtype"):
        resolve_dtype("int8", "cpu")
