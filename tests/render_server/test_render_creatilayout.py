"""The real pipeline path: `--engine creatilayout --model <tiny fixture pipeline>` on CPU."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import grpc
import numpy as np
import pytest
from PIL import Image

from marquee.v1 import common_pb2, render_pb2
from tests.paths import TINY_PIPELINE
from tests.render_server.helpers import collect, kinds, request, running_server

pytest.importorskip("torch")
TINY = dict(engine="creatilayout", model=str(TINY_PIPELINE))


async def test_tiny_pipeline_stream_previews_result_and_cancel(tmp_path: Path) -> None:
    async with running_server(tmp_path, **TINY) as server:
        described = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
        assert (described.engine, described.model, described.device) == ("creatilayout", str(TINY_PIPELINE), "cpu")
        assert described.max_boxes == 10 and described.not_ready_reason == ""

        responses = await collect(server.stub.Render(request(steps=6, guidance=5.0, seed=0, preview_interval=2)))
        events = kinds(responses)
        assert events[0] == "queued" and events[-1] == "result"
        denoising = [r.progress.step for r in responses if r.HasField("progress") and r.progress.stage == "denoising"]
        assert denoising == [1, 2, 3, 4, 5, 6]
        stages = [r.progress.stage for r in responses if r.HasField("progress")]
        assert stages[0] == "encoding" and stages[-2:] == ["decoding", "composing"]
        previews = [r.preview for r in responses if r.HasField("preview")]
        # A preview every 2 steps; one may give way to a newer one if encoding lags, never the last.
        steps = [p.step for p in previews]
        assert set(steps) <= {2, 4, 6} and steps == sorted(steps) and len(steps) >= 2 and steps[-1] == 6
        for preview in previews:
            image = Image.open(io.BytesIO(preview.image.data))
            assert image.format == "JPEG" and image.size == (64, 64)
        # x0 moves towards the final image: the last preview differs from the first.
        first, last = (np.asarray(Image.open(io.BytesIO(p.image.data)), np.int16) for p in (previews[0], previews[-1]))
        assert np.abs(first - last).mean() > 1.0

        meta = responses[-1].result.metadata
        assert (meta.engine, meta.model, meta.seed, meta.steps, meta.layout_steps) == (
            "creatilayout",
            str(TINY_PIPELINE),
            0,
            6,
            1,
        )
        assert meta.guidance == 5.0 and meta.first_preview_seconds > 0 and meta.seconds_per_step > 0
        image = Image.open(io.BytesIO(responses[-1].result.image.data))
        assert image.format == "PNG" and image.size == (64, 64)
        assert (tmp_path / "renders" / meta.saved_files[0]).read_bytes() == responses[-1].result.image.data

        # Same seed, same image (the pipeline is deterministic on CPU).
        again = await collect(server.stub.Render(request(steps=6, guidance=5.0, seed=0, preview_interval=0)))
        assert again[-1].result.image.data == responses[-1].result.image.data
        assert "preview" not in kinds(again)

        # Cancel: the denoising loop stops within one step of the request and frees the device.
        call = server.stub.Render(request(steps=200, width=128, height=128, preview_interval=0))
        async for response in call:
            if response.HasField("progress") and response.progress.step >= 3:
                break
        call.cancel()
        queue = server.service.queue
        while not queue.history or queue.history[-1].finished is None or queue.history[-1].spec.steps != 200:
            await asyncio.sleep(0.01)
        ticket = queue.history[-1]
        assert ticket.stop_reason == "cancelled"
        assert ticket.steps_at_stopped - ticket.steps_at_stop_request <= 1
        assert ticket.steps_done < 200
        # The device is free: nothing runs or waits, so the next job is next in line and runs.
        assert queue.running is None and queue.waiting == 0
        after = await collect(server.stub.Render(request(steps=2)))
        assert after[0].queued.position == 0 and kinds(after)[-1] == "result"


async def test_a_model_that_cannot_load_keeps_the_server_not_serving_with_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-pipeline"
    async with running_server(tmp_path, wait=False, engine="creatilayout", model=str(missing)) as server:
        described = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
        for _ in range(300):
            if "does not exist" in described.not_ready_reason:
                break
            await asyncio.sleep(0.05)
            described = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
        assert "ModelLoadError" in described.not_ready_reason and str(missing) in described.not_ready_reason
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await collect(server.stub.Render(request()))
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "failed to load" in error.value.details()


async def test_the_size_limit_is_the_loaded_models_and_its_largest_size_renders(tmp_path: Path) -> None:
    """The tiny model's position embeddings cover 32 × 32 patches, 512 px: with --max-size 1536 the
    server advertised 1536 and answered INTERNAL above 512. A sliver of a box ran a whole
    diffusion before the layout drawing failed."""
    async with running_server(tmp_path, **TINY) as server:
        described = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
        assert server.service.settings.max_size == 1536
        assert (described.max_width, described.max_height, described.default_size) == (512, 512, 512)
        for side in ("width", "height"):
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await collect(server.stub.Render(request(steps=1, **{side: 528})))
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert f"{side} 528 is over this server's cap of 512" in error.value.details()
        sliver = render_pb2.RenderObject(phrase="needle", box=common_pb2.Box(x1=0.3, y1=0.3, x2=0.3 + 1e-7, y2=0.6))
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await collect(server.stub.Render(request(steps=1, objects=[sliver])))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "too small" in error.value.details()
        assert not server.service.queue.history  # refused before any diffusion

        largest = await collect(server.stub.Render(request(steps=1, width=512, height=512, preview_interval=0)))
        result = largest[-1].result
        assert (result.image.width, result.image.height) == (512, 512)
        assert Image.open(io.BytesIO(result.image.data)).size == (512, 512)


@pytest.mark.slow
async def test_speed_options_render_the_same_image(tmp_path: Path) -> None:
    """--compile (captured by TorchDynamo; inductor's C++ build would take minutes here) and the
    negative-prompt cache change how the image is computed, not the image."""
    asked = request(steps=4, guidance=5.0, seed=3, width=128, height=128, preview_interval=2)
    asked.negative_prompt = "blurry"
    images = {}
    for name, options in {
        "plain": dict(negative_prompt_cache=0),
        "fast": dict(compile="eager", negative_prompt_cache=4),
    }.items():
        async with running_server(tmp_path / name, **TINY, **options) as server:
            pipe = server.service.engine.pipe
            assert (pipe._negative_cache is not None) == (name == "fast")
            assert hasattr(pipe.transformer, "_orig_mod") == (name == "fast")
            results = []
            for _ in range(2):  # the second job reads the cached negative embeddings
                responses = await collect(server.stub.Render(asked))
                results.append(np.asarray(Image.open(io.BytesIO(responses[-1].result.image.data))))
            assert np.array_equal(results[0], results[1])
            images[name] = results[0]
    assert np.abs(images["plain"].astype(int) - images["fast"].astype(int)).max() <= 1
