"""The hand-off of one job's preview pictures from the worker thread to the preview encoder.

Previews are scaled and encoded on a separate encoder thread; while it is busy a few newest
pictures wait and older ones are dropped, so a slow encode never delays a step. The encoded
JPEGs are published on the job's event channel in the order they were handed over.
"""

from __future__ import annotations

import collections
import concurrent.futures
import threading
import time

import numpy as np
from PIL import Image

from marquee.serving.structured_logs import get_logger
from render_server import metrics
from render_server.event_bridge import PREVIEW, EventChannel
from render_server.previews import encode_preview

log = get_logger("render.queue")

#: Pictures that may wait while the preview encoder is busy (the oldest gives way).
PREVIEWS_WAITING_FOR_ENCODER = 4


class PreviewHandoff:
    """One job's previews: `hand_over` from the worker, encoded and published on `encoder`."""

    def __init__(
        self,
        channel: EventChannel,
        encoder: concurrent.futures.Executor,
        *,
        job_id: str,
        width: int,
        height: int,
        max_side: int,
    ) -> None:
        self._channel = channel
        self._encoder = encoder
        self._job_id = job_id
        self._width = width
        self._height = height
        self._max_side = max_side
        self._lock = threading.Lock()
        self._busy = False
        self._waiting: collections.deque[tuple[int, np.ndarray | Image.Image]] = collections.deque(
            maxlen=PREVIEWS_WAITING_FOR_ENCODER
        )
        self._done = threading.Event()
        self._done.set()
        #: `time.monotonic()` when the first preview was published, or None.
        self.first_published: float | None = None

    def hand_over(self, step: int, picture: np.ndarray | Image.Image) -> None:
        """Hands the picture to the encoder; while it is busy a few newest pictures wait (older
        ones are dropped), so a slow encode never delays a step."""
        with self._lock:
            if self._busy:
                if len(self._waiting) == self._waiting.maxlen:
                    metrics.DROPPED_EVENTS.labels(PREVIEW).inc()
                self._waiting.append((step, picture))
                return
            self._busy = True
            self._done.clear()
        try:
            self._encoder.submit(self._encode, step, picture)
        except RuntimeError:  # the server is closing: no one will see it
            with self._lock:
                self._busy = False
                self._done.set()

    def _encode(self, step: int, picture: np.ndarray | Image.Image) -> None:
        while True:
            try:
                jpeg, width, height = encode_preview(picture, self._width, self._height, self._max_side)
                if self.first_published is None:
                    self.first_published = time.monotonic()
                self._channel.publish(PREVIEW, (step, jpeg, width, height))
            except Exception:
                log.exception("preview failed", job_id=self._job_id, step=step)
            with self._lock:
                if not self._waiting:
                    self._busy = False
                    self._done.set()
                    return
                step, picture = self._waiting.popleft()

    def flush(self, timeout: float = 5.0) -> None:
        """Waits until every picture handed over so far is published (so they precede the result)."""
        self._done.wait(timeout)
