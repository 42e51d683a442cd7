"""Every request that passes validation renders, and every one that would not is refused first:
text caps, degenerate boxes and sizes, each advertised by DescribeEngine and enforced over gRPC
(draft engine); the first jobs after start get drain and retry estimates from their own pace,
not from the 64² warm-up. The tiny-pipeline size limit is in test_render_creatilayout.py."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from marquee.v1 import common_pb2, render_pb2
from render_server import validation as caps
from render_server.config import MAX_STEPS
from render_server.engines import DENOISING, JobControl
from render_server.job_queue import ROUGH_RETRY_CAP_SECONDS
from tests.render_server.helpers import PacedEngine, collect, kinds, request, running_server

MIB = 2**20


def box(x1: float, y1: float, x2: float, y2: float) -> common_pb2.Box:
    return common_pb2.Box(x1=x1, y1=y1, x2=x2, y2=y2)


async def refused(server, bad: render_pb2.RenderRequest) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await collect(server.stub.Render(bad))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    return error.value.details()


async def test_every_cap_is_advertised_and_enforced_naming_the_field(tmp_path: Path) -> None:
    async with running_server(tmp_path) as server:
        d = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
        assert (d.max_width, d.max_height, d.max_steps) == (1536, 1536, MAX_STEPS)
        assert (d.max_prompt_chars, d.max_title_chars, d.max_mood_chars, d.max_negative_prompt_chars) == (
            caps.MAX_PROMPT_CHARS,
            caps.MAX_TITLE_CHARS,
            caps.MAX_MOOD_CHARS,
            caps.MAX_NEGATIVE_PROMPT_CHARS,
        )
        assert (d.max_genres, d.max_genre_chars, d.max_phrase_chars, d.min_box_pixels) == (
            caps.MAX_GENRES,
            caps.MAX_GENRE_CHARS,
            caps.MAX_PHRASE_CHARS,
            caps.MIN_BOX_PIXELS,
        )
        assert d.min_box_side == pytest.approx(caps.MIN_BOX_SIDE)

        # One over each advertised cap: refused, the message naming the field and the cap.
        too_long = {
            "prompt": (dict(prompt="p" * (d.max_prompt_chars + 1)), d.max_prompt_chars),
            "title": (dict(title="t" * (d.max_title_chars + 1)), d.max_title_chars),
            "mood": (dict(mood="m" * (d.max_mood_chars + 1)), d.max_mood_chars),
            "negative_prompt": (
                dict(negative_prompt="n" * (d.max_negative_prompt_chars + 1)),
                d.max_negative_prompt_chars,
            ),
            "genres[2]": (dict(genres=["Drama", "War", "g" * (d.max_genre_chars + 1)]), d.max_genre_chars),
            "genres": (dict(genres=["Drama"] * (d.max_genres + 1)), d.max_genres),
            "objects[0].phrase": (
                dict(objects=[render_pb2.RenderObject(phrase="p" * (d.max_phrase_chars + 1), box=box(0, 0, 1, 1))]),
                d.max_phrase_chars,
            ),
        }
        for field, (fields, cap) in too_long.items():
            message = await refused(server, request(**fields))
            assert message.startswith((f"{field} ", f"{field}:")) and f"limit is {cap}" in message, message
        assert not server.service.queue.history  # nothing reached the device


async def test_degenerate_and_oversized_input_is_refused_before_it_reaches_the_device(tmp_path: Path) -> None:
    """Each of these passed validation and ended in INTERNAL, or held the queue: a box 1e-7 wide,
    a 1 MiB genre, and 1 MiB titles (three of them held a normal job 22.6 s in the queue)."""
    async with running_server(tmp_path) as server:
        sliver = render_pb2.RenderObject(phrase="needle", box=box(0.3, 0.3, 0.3 + 1e-7, 0.6))
        message = await refused(server, request(objects=[sliver]))
        assert "objects[0].box is too small" in message and "min_box_side" in message
        # Two pixels at the size asked for, at least: 0.1 of 16 px is 1.6 px.
        narrow = render_pb2.RenderObject(phrase="needle", box=box(0.3, 0.3, 0.4, 0.6))
        message = await refused(server, request(objects=[narrow], width=16, height=16))
        assert "objects[0].box is too small" in message and "16-pixel width" in message
        assert "genres[0]" in await refused(server, request(genres=["g" * MIB]))
        for _ in range(3):
            assert (await refused(server, request(title="t" * MIB))).startswith(f"title is {MIB} characters")
        assert not server.service.queue.history
        assert kinds(await collect(server.stub.Render(request())))[-1] == "result"


async def test_the_largest_and_smallest_request_that_passes_renders(tmp_path: Path) -> None:
    """Every text at its cap, ten boxes at the smallest side allowed, on a 1536 × 16 image (two
    pixels binds the height, a hundredth of the image the width)."""
    async with running_server(tmp_path) as server:
        d = await server.stub.DescribeEngine(render_pb2.DescribeEngineRequest())
        width, height = d.max_width, 16
        w = max(d.min_box_side, d.min_box_pixels / width)
        h = max(d.min_box_side, d.min_box_pixels / height)
        objects = [
            render_pb2.RenderObject(phrase="W" * d.max_phrase_chars, box=box(i / 10, 0.5, i / 10 + w, 0.5 + h))
            for i in range(d.max_boxes)
        ]
        biggest = request(
            prompt="p" * d.max_prompt_chars,
            title="T" * d.max_title_chars,
            mood="m" * d.max_mood_chars,
            negative_prompt="n" * d.max_negative_prompt_chars,
            genres=["G" * d.max_genre_chars] * d.max_genres,
            objects=objects,
            width=width,
            height=height,
            steps=1,
        )
        result = (await collect(server.stub.Render(biggest)))[-1].result
        assert (result.image.width, result.image.height) == (width, height)
        assert result.layout_on_image.data and result.layout_on_white.data


class WarmedUpPacedEngine(PacedEngine):
    """Warms up the way the real engines do: a few 64² steps, each far slower per pixel than a
    real job's (fixed costs dominate a tiny image)."""

    def warm_up(self, control: JobControl) -> None:
        for step in range(1, 5):
            time.sleep(0.1)
            control.progress(step, 4, DENOISING)


async def first_progress(call, step: int) -> None:
    async for response in call:
        if response.HasField("progress") and response.progress.step >= step:
            return
    raise AssertionError("the stream ended early")


async def test_shutdown_lets_the_first_job_after_start_finish_when_its_pace_says_it_can(tmp_path: Path) -> None:
    """Scaled from the warm-up, the remaining 20 steps of this 256² job (~0.6 s) looked like ~5 s,
    more than the grace, so the job was stopped; its own pace says it fits."""
    engine = WarmedUpPacedEngine(step_seconds=0.03)
    async with running_server(tmp_path, instance=engine, grace_period=4.0) as server:
        call = server.stub.Render(request(steps=30, width=256, height=256, preview_interval=0))
        await first_progress(call, step=10)
        server.handle.request_stop()
        responses = await collect(call)
        assert kinds(responses)[-1] == "result"
        ticket = server.service.queue.history[-1]
        assert ticket.stop_reason is None and ticket.steps_done == 30


async def test_a_queue_full_hint_follows_the_running_jobs_pace(tmp_path: Path) -> None:
    """A ~1 s job (40 steps at 1024²) used to give a retry hint of minutes, scaled from the warm-up."""
    engine = WarmedUpPacedEngine(step_seconds=0.025)
    async with running_server(tmp_path, instance=engine, queue_depth=0) as server:
        running = server.stub.Render(request(steps=40, width=1024, height=1024, preview_interval=0))
        await first_progress(running, step=3)
        with pytest.raises(grpc.aio.AioRpcError) as full:
            await collect(server.stub.Render(request(steps=2)))
        assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        retry = int(dict(full.value.trailing_metadata())["retry-after-seconds"])
        assert 1 <= retry <= ROUGH_RETRY_CAP_SECONDS
        assert f"retry in about {retry} s" in full.value.details()
        assert kinds(await collect(running))[-1] == "result"
