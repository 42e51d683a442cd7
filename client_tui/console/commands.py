"""The console's commands in the command palette (Ctrl+P): go to each step, and each action the
F-keys run, so that everything is reachable by name as well as by key."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from client_tui.console.app import MarqueeConsole

#: (tab id, tab title, key, what the step is for, what its key focuses): the tabs, the keys and
#: the palette name the steps alike.
STEPS = (
    ("watched", "1 Watched", "F1", "Search the catalog and pick the movies you watched", "#search"),
    ("recommendations", "2 Recommendations", "F2", "Choose k and see the ranked recommendations", "#k"),
    ("layout", "3 Scenario & layout", "F3", "Edit the scenario, plan and edit the layout", "#scenario"),
    ("render", "4 Render", "F4", "Render the layout with live previews", "#render-button"),
    ("summary", "5 Summary", "F5", "Compose, show and export the process summary", "#compose"),
)


def console_commands(app: MarqueeConsole) -> list[SystemCommand]:
    def open_session() -> None:
        app.action_step("summary")
        app.notify("Type the session file's path, then press Open session.")

    commands = [
        SystemCommand(f"Go to {title[2:]}", f"{help_text} ({key})", lambda s=step: app.action_step(s))
        for step, title, key, help_text, _ in STEPS
    ]
    return [
        *commands,
        SystemCommand("Recommend", "Ask the recommender for k movies (F6)", app.action_recommend),
        SystemCommand("Plan layout", "Plan a layout from the scenario (F7)", app.action_plan),
        SystemCommand("Render", "Render the layout (F8)", app.action_render),
        SystemCommand("Cancel render", "Stop the running render (F9)", app.action_cancel_render),
        SystemCommand("Compose summary", "Draw the process summary", lambda: app.summary_step.compose_summary()),
        SystemCommand(
            "Export",
            "Write summary PNG/PDF, images and session JSON",
            lambda: app.summary_step.export(app.default_out_dir()),
        ),
        SystemCommand(
            "Save session",
            "Write the session JSON",
            lambda: app.summary_step.save(app.default_out_dir() / "session.json"),
        ),
        SystemCommand("Open session", "Load a session JSON to re-render or re-export", open_session),
    ]


class ConsoleCommands(Provider):
    """Textual's fuzzy matcher over `console_commands`; all of them listed when nothing is typed."""

    def _commands(self) -> list[SystemCommand]:
        return console_commands(cast("MarqueeConsole", self.app))

    async def discover(self) -> Hits:
        for title, help_text, callback, _ in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, _ in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
