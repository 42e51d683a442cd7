"""The real servers as the tests start them: one thread per process (two cores are shared by
every server of a test), the draft render engine and no LLM (an empty dotenv file, so a
developer's .env cannot switch the planner to the LLM)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from marquee.local_stack import LocalStack
from tests.paths import TINY_PIPELINE

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def offline_draft_stack(logs: Path, shared_data: Path) -> LocalStack:
    """The three servers (not started yet) logging into `logs`, on the real data."""
    (logs / "empty.env").write_text("")
    return LocalStack(
        {
            "recommender": [],
            "layout": ["--env-file", str(logs / "empty.env")],
            "render": ["--engine", "draft", "--output-dir", str(logs / "renders")],
        },
        logs,
        env={**ONE_THREAD, "MARQUEE_DATA_DIR": str(shared_data), "OPENAI_API_KEY": ""},
        grace_period=3.0,
    )


def cli_env() -> dict[str, str]:
    """The environment of a client process: no MARQUEE_* of the developer's shell (the test's
    flags say where the servers are), one thread, unbuffered output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEE_")}
    return {**env, **ONE_THREAD, "PYTHONUNBUFFERED": "1"}


def cli_command(addresses: dict[str, str], *args: str) -> list[str]:
    """`python -m client_tui run` pointed at `addresses` (server name → host:port)."""
    flags = [a for name, address in addresses.items() for a in (f"--{name}", address)]
    return [sys.executable, "-m", "client_tui", "run", *flags, *args]


def run_cli(addresses: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI run to its end; whatever it exits with, never with a traceback."""
    result = subprocess.run(cli_command(addresses, *args), capture_output=True, text=True, timeout=300, env=cli_env())
    assert "Traceback" not in result.stderr, result.stderr
    return result


def watched_flags(*titles: str) -> list[str]:
    return [arg for title in titles for arg in ("--watched", title)]


#: A render server on the tiny CreatiLayout pipeline, on the CPU with one torch thread (add
#: `--output-dir` and any other flag after these).
TINY_RENDER_FLAGS = (
    "--engine",
    "creatilayout",
    "--model",
    str(TINY_PIPELINE),
    "--device",
    "cpu",
    "--torch-threads",
    "1",
)


def run_benchmark(script: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """`python tests/benchmarks/<script> <args>` from the repository root, as `make bench` runs it;
    asserts it exits 0 and shows its output if not."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, str(root / "tests" / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=root,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done
