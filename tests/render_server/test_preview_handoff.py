"""Previews are encoded beside the worker: a lagging encoder drops the oldest waiting pictures,
never delays the engine, and everything handed over is published before the result."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import numpy as np

from render_server.event_bridge import PREVIEW, EventChannel
from render_server.job_ticket import Ticket
from render_server.preview_handoff import PREVIEWS_WAITING_FOR_ENCODER
from render_server.spec import RenderSpec


async def test_a_busy_encoder_keeps_the_newest_pictures_and_never_blocks_the_engine() -> None:
    encoder = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    encoder.submit(gate.wait)  # the encoder is busy with something else
    spec = RenderSpec(prompt="p", objects=(), steps=10, guidance=1.0, width=64, height=32, seed=0, preview_interval=1)
    channel = EventChannel(asyncio.get_running_loop())
    ticket = Ticket(spec, channel, 10, None, "test", encoder, preview_max_side=512)
    picture = np.zeros((4, 8, 3), np.uint8)

    for step in range(1, 11):
        ticket.preview(step, picture)
    # Every hand-over returned while the encoder, still held by the gate, had encoded nothing:
    # handing over never waits for encoding.
    await asyncio.sleep(0)  # let anything already published reach the channel
    assert len(channel) == 0 and ticket.first_preview is None

    gate.set()
    await asyncio.to_thread(ticket.flush_previews)
    steps = []
    while len(channel):  # everything is published by now
        event = await channel.get()
        assert event.kind == PREVIEW
        step, jpeg, width, height = event.data
        assert jpeg[:2] == b"\xff\xd8" and (width, height) == (64, 32)
        steps.append(step)
    assert steps == [1, *range(11 - PREVIEWS_WAITING_FOR_ENCODER, 11)]
    assert ticket.first_preview is not None
    encoder.shutdown()
