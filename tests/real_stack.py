"""The real servers as the tests start them: one thread per process (two cores are shared by
every server of a test), the draft render engine and no LLM (an empty dotenv file, so a
developer's .env cannot switch the planner to the LLM)."""

from __future__ import annotations

from pathlib import Path

from client_tui.local_stack import LocalStack

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
