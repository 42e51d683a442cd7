"""The first-block cache (`--first-block-cache`): exact when it never skips, skips only after the
layout steps, keeps the image within the documented tolerance, and reaches the pipeline from the
server's settings."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from pydantic import ValidationError

from marquee.serving import parse_settings
from render_server.config import RenderSettings
from render_server.creatilayout.first_block_cache import FirstBlockCache
from render_server.creatilayout.pipeline import CreatiLayoutPipeline, layout_step_count
from render_server.creatilayout.transformer import SiamLayoutSD3Transformer2DModel
from render_server.engines import make_engine
from tests.paths import TINY_PIPELINE
from tests.real_stack import run_benchmark
from tests.render_server.creatilayout.golden import assert_close, call_as_recorded
from tests.render_server.helpers import collect, request, running_server, settings

PROMPT = "a lone cowboy in a desert at dusk"
PHRASES = ["cowboy hat", "old horse", "setting sun"]
BOXES = [[0.1, 0.1, 0.5, 0.6], [0.4, 0.4, 0.95, 0.95], [0.6, 0.05, 0.9, 0.35]]
#: What the option's description and docs/benchmarks.md promise for the tiny model at 0.5, 28 steps.
TOLERANCE_THRESHOLD = 0.5
TOLERANCE_STEPS = 28
MEAN_ABS_TOLERANCE = 0.03
TINY = dict(engine="creatilayout", model=str(TINY_PIPELINE))


@pytest.fixture(scope="module")
def own_pipeline(fixtures_dir: Path) -> CreatiLayoutPipeline:
    """A pipeline of this module's own: the cache's hooks must not reach other tests' pipeline."""
    directory = fixtures_dir / "tiny" / "pipeline"
    transformer = SiamLayoutSD3Transformer2DModel.from_pretrained(directory / "transformer")
    pipe = CreatiLayoutPipeline.from_pretrained(directory, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture
def cached(own_pipeline: CreatiLayoutPipeline):
    """Enables the cache with the threshold the test passes; removes it afterwards."""
    caches: list[FirstBlockCache] = []

    def enable(threshold: float) -> FirstBlockCache:
        caches.append(own_pipeline.enable_first_block_cache(threshold))
        return caches[-1]

    yield enable
    for cache in caches:
        cache.detach()
    own_pipeline.first_block_cache = None


def _run(pipe: CreatiLayoutPipeline, steps: int, seed: int = 0, output_type: str = "latent", **kwargs) -> np.ndarray:
    images = pipe(
        PROMPT,
        PHRASES,
        BOXES,
        height=64,
        width=64,
        num_inference_steps=steps,
        guidance_scale=5.0,
        generator=torch.Generator("cpu").manual_seed(seed),
        output_type=output_type,
        **kwargs,
    ).images
    return images if isinstance(images, np.ndarray) else images.numpy()


def test_a_cache_that_never_skips_changes_nothing(own_pipeline, cached, pipeline_golden) -> None:
    reference = _run(own_pipeline, steps=10)
    cache = cached(0.0)
    assert np.array_equal(_run(own_pipeline, steps=10), reference)
    # The hooks ran and measured every step after the first full one past the layout steps.
    assert cache.skipped_steps == [] and len(cache.changes) == 10 - layout_step_count(10) - 1
    # A golden case, through the hooks: the reference's image still.
    tensors, meta = pipeline_golden
    call = meta["cases"]["case1_cfg_3boxes"]["call"]
    image = call_as_recorded(own_pipeline, call, "np").images
    assert_close(torch.from_numpy(image), tensors["case1_cfg_3boxes.image_np"], atol=1e-4, rtol=0)


def test_skips_every_step_it_may_and_never_a_layout_step(own_pipeline, cached) -> None:
    steps = 10
    layout_steps = layout_step_count(steps)
    uncached = _run(own_pipeline, steps)
    cache = cached(1e9)  # any change is "small": every step that may reuse the cache does
    later_block_calls: list[int] = []
    step = [0]
    # The attention inside the middle block runs only when the block really runs.
    handle = own_pipeline.transformer.transformer_blocks[1].attn.register_forward_pre_hook(
        lambda *_: later_block_calls.append(step[0])
    )

    def count_step(_pipe, i, _t, _tensors) -> dict:
        step[0] = i + 1
        return {}

    try:
        first = _run(own_pipeline, steps, callback_on_step_end=count_step)
    finally:
        handle.remove()
    # The layout steps and the first step after them run in full (it has no baseline yet).
    assert cache.skipped_steps == list(range(layout_steps + 1, steps))
    assert later_block_calls == list(range(layout_steps + 1))
    # Each call starts afresh: a second call skips the same steps and gives the same latents.
    assert np.array_equal(_run(own_pipeline, steps), first)
    assert cache.skipped_steps == list(range(layout_steps + 1, steps))
    assert not np.array_equal(first, uncached)
    # Detached, the blocks run as before.
    cache.detach()
    assert np.array_equal(_run(own_pipeline, steps), uncached) and cache.skipped_steps == []


def test_a_skipping_threshold_stays_within_the_documented_tolerance(own_pipeline, cached) -> None:
    steps = TOLERANCE_STEPS
    reference = _run(own_pipeline, steps, output_type="np")
    other_seed = _run(own_pipeline, steps, seed=1, output_type="np")
    cache = cached(TOLERANCE_THRESHOLD)
    image = _run(own_pipeline, steps, output_type="np")
    assert len(cache.skipped_steps) > 0
    assert min(cache.skipped_steps) > layout_step_count(steps)
    difference = float(np.abs(image - reference).mean())
    assert 0 < difference <= MEAN_ABS_TOLERANCE
    # Far closer to the exact image than another seed's image is.
    assert difference < float(np.abs(other_seed - reference).mean()) / 4


def test_bad_thresholds_and_a_second_cache_are_refused(own_pipeline, cached) -> None:
    for bad in (-0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite number >= 0"):
            FirstBlockCache(bad)
    cached(0.1)
    with pytest.raises(ValueError, match="already has a first-block cache"):
        FirstBlockCache.attach(own_pipeline.transformer, 0.1)
    # Enabling again replaces the cache rather than stacking a second one.
    assert cached(0.2).threshold == 0.2


def test_the_option_is_a_flag_and_an_environment_variable(monkeypatch) -> None:
    assert RenderSettings(_cli_parse_args=False).first_block_cache == 0.0
    parsed = parse_settings(RenderSettings, ["--first-block-cache", "0.08"], prog="render_server")
    assert parsed.first_block_cache == 0.08
    monkeypatch.setenv("MARQUEE_FIRST_BLOCK_CACHE", "0.1")
    assert RenderSettings(_cli_parse_args=False).first_block_cache == 0.1
    with pytest.raises(ValidationError, match="first_block_cache"):
        RenderSettings(_cli_parse_args=False, first_block_cache=1.5)


def test_the_default_engine_has_no_cache(tmp_path: Path) -> None:
    engine = make_engine(settings(tmp_path, **TINY))
    engine.load()
    try:
        assert engine.pipe.first_block_cache is None
    finally:
        engine.close()


@pytest.mark.slow
async def test_the_server_option_reaches_the_pipeline_compiled_too(tmp_path: Path, own_pipeline, cached) -> None:
    """--first-block-cache with --compile (TorchDynamo capture): the compiled blocks skip on the
    same steps as the eager pipeline does for the same request."""
    steps = TOLERANCE_STEPS
    eager = cached(TOLERANCE_THRESHOLD)
    _run(own_pipeline, steps)
    asked = request(steps=steps, guidance=5.0, seed=0, preview_interval=0)
    async with running_server(tmp_path, **TINY, first_block_cache=TOLERANCE_THRESHOLD, compile="eager") as server:
        pipe = server.service.engine.pipe
        assert pipe.first_block_cache.threshold == TOLERANCE_THRESHOLD
        assert hasattr(pipe.transformer, "_orig_mod")
        responses = await collect(server.stub.Render(asked))
        skipped = list(pipe.first_block_cache.skipped_steps)
    assert responses[-1].HasField("result")
    assert skipped and min(skipped) > responses[-1].result.metadata.layout_steps
    assert skipped == eager.skipped_steps
    assert Image.open(io.BytesIO(responses[-1].result.image.data)).size == (64, 64)


@pytest.mark.slow
def test_the_speed_check_reports_the_cached_variant(tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    steps = TOLERANCE_STEPS
    result = run_benchmark(
        "bench_render_speed.py",
        "--smoke",
        "--steps",
        str(steps),
        "--first-block-cache",
        str(TOLERANCE_THRESHOLD),
        "--variants",
        "marquee-eager,marquee-eager-fbc",
        "--json",
        str(out),
        timeout=600,
    )
    rows = json.loads(out.read_text())["rows"]
    assert [row["variant"] for row in rows] == ["marquee-eager", "marquee-eager-fbc"]
    assert "fbc" not in rows[0]
    fbc = rows[1]["fbc"]
    layout_steps = layout_step_count(steps)
    assert fbc["threshold"] == TOLERANCE_THRESHOLD and fbc["eligible_steps"] == steps - layout_steps - 1
    assert fbc["skipped_steps"] == len(fbc["skipped"]) > 0 and min(fbc["skipped"]) > layout_steps
    assert 0 < fbc["image_mean_abs_diff"] <= MEAN_ABS_TOLERANCE
    assert f"first-block cache {TOLERANCE_THRESHOLD}: skipped {fbc['skipped_steps']} of" in result.stdout
