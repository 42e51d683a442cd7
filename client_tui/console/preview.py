"""A picture panel for streamed previews that never holds up the keyboard: frames are decoded
and shrunk off the event loop, one at a time, and a frame that arrives while another is being
decoded replaces the waiting one (dropped frames, never dropped keys)."""

from __future__ import annotations

import asyncio
import time

from PIL import Image
from textual.app import ComposeResult
from textual.containers import Container
from textual.widget import Widget
from textual.widgets import Label

from client_tui.console.image_modes import cell_pixels, steady_picture_class
from client_tui.images import ImageError, decode_bytes, thumbnail

MAX_PIXELS = 768
#: At most this many pictures a second reach the screen: a terminal redraw of a picture costs
#: tens of milliseconds, and the keyboard shares the event loop with it.
MAX_FPS = 6.0


def _decode_fit(data: bytes, width: int, height: int) -> tuple[Image.Image, Image.Image]:
    """(the frame bounded to MAX_PIXELS, kept for resizes; the frame fitted to the panel)."""
    source = thumbnail(decode_bytes(data), MAX_PIXELS, MAX_PIXELS)
    return source, thumbnail(source, width, height)


class PreviewImage(Widget):
    """Shows the newest frame offered; `frames_shown` / `frames_dropped` count what happened."""

    DEFAULT_CSS = """
    PreviewImage { height: 1fr; }
    PreviewImage > Label { width: 100%; height: 1; color: $text-muted; }
    PreviewImage > Container { height: 1fr; align: center middle; }
    PreviewImage > Container > * { width: auto; height: auto; }
    """

    def __init__(self, image_class: type[Widget], caption: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image_class = steady_picture_class(image_class)
        self._caption = caption
        self._pending: tuple[bytes, str] | None = None
        self._decoding = False
        self.frames_offered = 0
        self.frames_shown = 0
        self.frames_dropped = 0
        self.has_image = False
        self._source: Image.Image | None = None
        self._last_shown = 0.0
        #: Bumped by `show`: a preview decoded for an older picture must not cover the new one.
        self._generation = 0
        self.min_interval = 1.0 / MAX_FPS

    def compose(self) -> ComposeResult:
        yield Label(self._caption, id="caption")
        with Container():
            yield self._image_class(id="picture")

    def _target(self) -> tuple[int, int]:
        per_x, per_y = cell_pixels(self._image_class)
        width = max(self.size.width, 8) * per_x
        height = max(self.size.height - 1, 4) * per_y
        return min(width, MAX_PIXELS), min(height, MAX_PIXELS)

    @property
    def decoding(self) -> bool:
        """A frame is being decoded: it counts as shown or dropped once that ends."""
        return self._decoding

    def offer(self, data: bytes, caption: str) -> None:
        """Queues an encoded frame; returns at once."""
        self.frames_offered += 1
        if self._pending is not None:
            self.frames_dropped += 1
        self._pending = (data, caption)
        if not self._decoding:
            self._decoding = True
            self.run_worker(self._decode_pending(), group="preview-decode")

    async def _decode_pending(self) -> None:
        try:
            while self._pending is not None:
                wait = self._last_shown + self.min_interval - time.monotonic()
                if wait > 0:
                    # Frames arriving meanwhile replace the pending one: only the newest is drawn.
                    await asyncio.sleep(wait)
                if self._pending is None:  # the final picture was shown meanwhile
                    break
                data, caption = self._pending
                self._pending = None
                width, height = self._target()
                generation = self._generation
                try:
                    source, image = await asyncio.to_thread(_decode_fit, data, width, height)
                except ImageError as exc:
                    self.frames_dropped += 1
                    self.query_one("#caption", Label).update(f"unreadable preview: {exc}", layout=False)
                    continue
                if generation != self._generation:
                    self.frames_dropped += 1
                    continue
                self._source = source
                self._set(image, caption)
                self.frames_shown += 1
        finally:
            self._decoding = False

    def show(self, image: Image.Image | None, caption: str) -> None:
        """Shows a decoded image now (the final result), or clears the panel."""
        if self._pending is not None:
            self.frames_dropped += 1
        self._pending = None
        self._generation += 1
        self._source = image
        if image is None:
            self.query_one("#picture", self._image_class).image = None
            self.query_one("#caption", Label).update(caption, layout=False)
            self.has_image = False
            return
        width, height = self._target()
        self._set(thumbnail(image, width, height), caption)

    def on_resize(self) -> None:
        # Fit the picture to the new panel size (the terminal or the layout changed).
        if self._source is not None and not self._decoding:
            width, height = self._target()
            self.query_one("#picture", self._image_class).show_frame(thumbnail(self._source, width, height))

    def _set(self, image: Image.Image, caption: str) -> None:
        self._last_shown = time.monotonic()
        self.query_one("#picture", self._image_class).show_frame(image)
        self.query_one("#caption", Label).update(caption, layout=False)
        self.has_image = True
