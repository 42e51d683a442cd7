"""Running the client's headless flow (`python -m client_tui run`): in this process through its
`main` (the sweep), or as a subprocess exactly as an operator types it (README commands, a few
sets against real server processes)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from client_tui.__main__ import main
from client_tui.connections import ENV_VARS
from tests.e2e.watched_sets import WatchedSet
from tests.real_stack import ONE_THREAD

#: Small and quick on the draft engine: the sweep is about the flow, not the pixels.
SWEEP_SIZE = (64, 64)
SWEEP_STEPS = 4


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stderr: str


def flow_arguments(watched: WatchedSet, out: Path, seed: int = 7) -> list[str]:
    """`run` flags for one watched set: offline planner, a small draft render, no previews."""
    width, height = SWEEP_SIZE
    titles = [part for title in watched.titles for part in ("--watched", title)]
    return [
        "run",
        *titles,
        "--k",
        str(watched.k),
        "--planner",
        "offline",
        "--steps",
        str(SWEEP_STEPS),
        "--size",
        f"{width}x{height}",
        "--seed",
        str(seed),
        "--preview-every",
        "0",
        "--out",
        str(out),
        "--quiet",
    ]


def run_in_process(arguments: Sequence[str], addresses: Mapping[str, str]) -> RunResult:
    """`python -m client_tui <arguments>` in this process, servers given by flag."""
    servers = [part for name, address in addresses.items() for part in (f"--{name}", address)]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main([*arguments, *servers])
    return RunResult(int(code), stderr.getvalue())


def client_environment(addresses: Mapping[str, str]) -> dict[str, str]:
    """The shell of an operator whose servers are at `addresses`: `MARQUEE_*_ADDR` set, no other
    MARQUEE_* setting (a developer's token or TLS files) leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")}
    env.update(ONE_THREAD)
    env.update({ENV_VARS[name]: address for name, address in addresses.items()})
    return env


def run_command(argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float = 240) -> RunResult:
    """A shell command's words, with a leading `python` meaning this interpreter."""
    words = list(argv)
    if words and words[0] == "python":
        words[0] = sys.executable
    done = subprocess.run(words, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout)
    return RunResult(done.returncode, done.stderr)
