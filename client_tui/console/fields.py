"""Small input widgets the steps share."""

from __future__ import annotations

from textual.widgets import Input, TextArea


class StepInput(Input):
    """An Input that does not blink when nobody watches (headless runs, snapshots)."""

    def on_mount(self) -> None:
        if self.app.is_headless:
            self.cursor_blink = False


class StepTextArea(TextArea):
    def on_mount(self) -> None:
        if self.app.is_headless:
            self.cursor_blink = False


def parse_float(text: str) -> float | None:
    try:
        return float(text.strip())
    except ValueError:
        return None


def parse_int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None
