"""Carries one job's events from the worker thread to the asyncio stream that sends them.

The worker never waits for the client: `publish` only schedules an append on the event loop. When
a client reads slowly, pending progress and preview events are thinned out (the oldest of a kind
goes first, so the newest state always gets through); queued notices and the final event are
never dropped.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Any

from render_server.metrics import DROPPED_EVENTS

QUEUED = "queued"
PROGRESS = "progress"
PREVIEW = "preview"
RESULT = "result"
ERROR = "error"
TERMINAL = (RESULT, ERROR)

#: How many events of each droppable kind may wait for a slow reader (a burst from a fast
#: engine fits; 16 previews of 512² are about 1 MB).
PENDING_LIMITS = {PROGRESS: 256, PREVIEW: 16}


@dataclass(frozen=True)
class JobEvent:
    kind: str
    data: Any


class EventChannel:
    """Thread-safe publish, asyncio `get`; bound to the loop that created it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: collections.deque[JobEvent] = collections.deque()
        self._ready = asyncio.Event()
        self.closed = False
        self.dropped = 0

    def publish(self, kind: str, data: Any = None) -> None:
        """From any thread. Events published after the terminal one are ignored."""
        event = JobEvent(kind, data)
        try:
            if self._on_loop():
                self._append(event)
            else:
                self._loop.call_soon_threadsafe(self._append, event)
        except RuntimeError:
            pass  # the loop is closed: the server is gone and nobody is listening

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _append(self, event: JobEvent) -> None:
        if self.closed:
            return
        limit = PENDING_LIMITS.get(event.kind)
        if limit is not None and sum(1 for e in self._pending if e.kind == event.kind) >= limit:
            oldest = next(e for e in self._pending if e.kind == event.kind)
            self._pending.remove(oldest)
            self.dropped += 1
            DROPPED_EVENTS.labels(event.kind).inc()
        self._pending.append(event)
        if event.kind in TERMINAL:
            self.closed = True
        self._ready.set()

    def __len__(self) -> int:
        """Events waiting to be read."""
        return len(self._pending)

    async def get(self) -> JobEvent:
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        return self._pending.popleft()
