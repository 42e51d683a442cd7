"""The line each step shows when a product no longer matches what it was made from (watched
movies or k changed after recommending, the scenario edited after planning, the layout edited
after rendering): which products, why, and what to do. Hidden when everything agrees."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from client_tui.session import STALE_STEPS

#: What brings each product up to date again; the earliest stale product says what to do.
_REDO = {
    "recommendations": "Recommend again (F6), then plan (F7) and render (F8).",
    "scenario": "Recommend again (F6), then plan (F7) and render (F8).",
    "layout": "Plan again (F7), then render (F8).",
    "image": "Render again (F8).",
}


def stale_text(stale: dict[str, str], steps: tuple[str, ...] = STALE_STEPS) -> Text | None:
    """None when none of `steps` is stale."""
    mine = [step for step in steps if step in stale]
    if not mine:
        return None
    names = ", ".join(step for step in STALE_STEPS if step in stale)
    reason = stale[mine[0]]
    first = next(step for step in STALE_STEPS if step in stale)
    text = Text()
    text.append(f"⚠ Out of date: {names}. ", style="bold")
    text.append(f"{reason[0].upper()}{reason[1:]}. {_REDO[first]}")
    return text


class StaleNotice(Static):
    """Shows `stale` (step -> reason, from `Session.stale_steps`) for the products in `steps`."""

    DEFAULT_CSS = """
    StaleNotice { height: auto; color: $text-warning; background: $warning-muted; padding: 0 1; display: none; }
    StaleNotice.-stale { display: block; }
    """

    stale: reactive[dict[str, str]] = reactive(dict, always_update=True, init=False)

    def __init__(self, steps: tuple[str, ...] = STALE_STEPS, *, id: str | None = None) -> None:
        super().__init__("", id=id, classes="stale-notice")
        self.steps = steps

    def on_mount(self) -> None:
        # The app's `stale` (every step's state); a closing notice is no longer called.
        self.watch(self.app, "stale", self._app_stale)

    def _app_stale(self, stale: dict[str, str]) -> None:
        self.stale = stale

    def watch_stale(self, stale: dict[str, str]) -> None:
        text = stale_text(stale, self.steps)
        self.set_class(text is not None, "-stale")
        self.update(text or "")
