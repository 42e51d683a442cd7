"""Starts the console in a real terminal: textual-image must ask the terminal what it can draw
before Textual takes the terminal over."""

from __future__ import annotations

from pathlib import Path

from client_tui.connections import Endpoints
from client_tui.exit_codes import ExitCode


def launch(
    endpoints: Endpoints, *, session_path: Path | None = None, image_mode: str = "auto", out_dir: Path | None = None
) -> int:
    from client_tui.console.image_modes import image_widget_class

    image_class = image_widget_class(image_mode)
    from client_tui.console.app import MarqueeConsole

    app = MarqueeConsole(endpoints, image_class=image_class, session_path=session_path, out_dir=out_dir)
    result = app.run()
    return int(result if isinstance(result, int) else ExitCode.OK)
