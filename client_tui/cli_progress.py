"""What `python -m client_tui run` shows on stderr while it works: one line per stage, a bar over
the render steps, and every retry or wait (a lost stream, a full render queue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from client_tui.gateway import RenderEvent, RenderRetry

if TYPE_CHECKING:
    from tqdm import tqdm


class Progress:
    """What the CLI shows while it works: one line per stage and a bar over the render steps."""

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self._bar: tqdm | None = None  # created on the first render event
        self._position: int | None = None

    def say(self, text: str) -> None:
        if not self.quiet:
            if self._bar is not None:
                self._bar.write(text, file=self.stream)
            else:
                print(text, file=self.stream, flush=True)

    def render_event(self, event: RenderEvent) -> None:
        if self.quiet:
            return
        if isinstance(event, RenderRetry) and event.queue_full:
            self.say(f"  {event.queue_words()}")
            return
        if isinstance(event, RenderRetry):
            self.say(f"  render stream lost ({event.reason}); retrying (attempt {event.attempt}) ...")
            if self._bar is not None:
                self._bar.reset()
            return
        kind = event.WhichOneof("event")
        if kind == "queued":
            if event.queued.position != self._position:
                self._position = event.queued.position
                self.say(f"  queued: {event.queued.position} job(s) ahead of this one")
        elif kind == "progress":
            bar = self._ensure_bar(event.progress.total_steps)
            bar.set_postfix_str(event.progress.stage or "", refresh=False)
            bar.update(max(0, event.progress.step - bar.n))
        elif kind == "preview" and self._bar is not None:
            self._bar.set_postfix_str(f"preview at step {event.preview.step}", refresh=False)

    def _ensure_bar(self, total: int) -> tqdm:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="step", desc="render", file=self.stream, dynamic_ncols=True, leave=True)
        elif self._bar.total != total:
            self._bar.total = total
        return self._bar

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
