"""A slow reader loses old progress and preview frames, never the queue notices or the end."""

from __future__ import annotations

import asyncio
import threading

from render_server.event_bridge import PENDING_LIMITS, PREVIEW, PROGRESS, QUEUED, RESULT, EventChannel


async def test_frames_are_thinned_for_a_slow_reader_and_the_newest_survive() -> None:
    channel = EventChannel(asyncio.get_running_loop())
    channel.publish(QUEUED, (0, 1))

    def worker() -> None:  # publishes from another thread, as the engine does
        for step in range(1, 301):
            channel.publish(PROGRESS, step)
            channel.publish(PREVIEW, step)
        channel.publish(RESULT, "done")
        channel.publish(PROGRESS, 999)  # after the end: ignored

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    events = []
    while not events or events[-1].kind != RESULT:
        events.append(await asyncio.wait_for(channel.get(), 5))
    assert events[0].kind == QUEUED
    previews = [e.data for e in events if e.kind == PREVIEW]
    progress = [e.data for e in events if e.kind == PROGRESS]
    assert previews == list(range(301 - PENDING_LIMITS[PREVIEW], 301))
    assert progress == list(range(301 - PENDING_LIMITS[PROGRESS], 301))
    assert channel.dropped == 600 - len(previews) - len(progress)
    assert events[-1].data == "done"
