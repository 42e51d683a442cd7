"""The console in a real terminal multiplexer: started in tmux, driven with send-keys, read back
with capture-pane, against the real servers. Pictures must come out as half-blocks there (tmux
3.3 has no sixel), and every step must be reachable by key."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from marquee.local_stack import LocalStack

pytestmark = pytest.mark.slow

HALF_BLOCKS = ("▀", "▄")


class Tmux:
    """One tmux server on its own socket, so tests never touch a developer's sessions."""

    def __init__(self) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (.ci/run installs it; apt-get install tmux)")
        self.socket = f"marquee-test-{uuid.uuid4().hex[:8]}"
        # The test process may carry COLUMNS/LINES (set by terminal libraries when imported); inside
        # tmux they would override the window's real size.
        self.env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}

    def __call__(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            env=self.env,
        )
        return result.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "console")

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared on the screen:\n{screen}")
            time.sleep(0.1)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self("send-keys", "-t", "console", key)
            time.sleep(0.05)

    def type(self, text: str) -> None:
        self("send-keys", "-t", "console", "-l", text)

    def close(self) -> None:
        self("kill-server")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux()
    yield session
    session.close()


def test_console_in_tmux(real_stack: LocalStack, tmux: Tmux, tmp_path: Path) -> None:
    flags = " ".join(f"--{name} {address}" for name, address in real_stack.addresses().items())
    exit_file = tmp_path / "exit-code"
    command = (
        f"cd {shlex.quote(str(tmp_path))} && {shlex.quote(sys.executable)} -m client_tui {flags} "
        f"--out-dir {shlex.quote(str(tmp_path / 'export'))}; echo $? > {shlex.quote(str(exit_file))}"
    )
    tmux("new-session", "-d", "-s", "console", "-x", "150", "-y", "46", command)

    tmux.wait_for("Search the catalog")
    tmux.wait_for("render serving")
    tmux.type("toy story")
    tmux.wait_for("Toy Story (1995)")
    tmux.keys("Enter")
    tmux.wait_for("1. Toy Story (1995)")

    tmux.keys("F2", "F6")
    tmux.wait_for("recommendations by")
    tmux.keys("F3", "F7")
    screen = tmux.wait_for("Planned by the offline planner")
    assert "┌1" in screen and "✓ The layout is valid." in screen

    tmux.keys("F4", "F8")
    screen = tmux.wait_for("Done in", timeout=60)
    assert "Final image — draft" in screen
    # The picture is drawn with coloured half-blocks inside tmux.
    picture_rows = [line for line in screen.splitlines() if sum(line.count(c) for c in HALF_BLOCKS) >= 10]
    assert len(picture_rows) >= 10, screen

    tmux.keys("F5")
    tmux.wait_for("Summary composed")
    tmux.keys("C-q")
    deadline = time.monotonic() + 15
    while not exit_file.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert exit_file.is_file() and exit_file.read_text().strip() == "0"
