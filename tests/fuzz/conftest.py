"""The three real servers, started once per fuzz module (and stopped after it, so they do not
linger through the rest of the suite), and a prober per server."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from client_tui.local_stack import LocalStack
from tests.fuzz.rpc_targets import DOMAIN_SERVICES, Prober

#: One thread per process: two cores are shared by every server of a test.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[LocalStack]:
    logs = tmp_path_factory.mktemp("fuzz-stack")
    # No LLM: an empty dotenv file, so a developer's .env cannot switch the planner to the LLM.
    (logs / "empty.env").write_text("")
    stack = LocalStack(
        {
            "recommender": [],
            "layout": ["--env-file", str(logs / "empty.env")],
            "render": ["--engine", "draft", "--output-dir", str(logs / "renders")],
        },
        logs,
        env={**ONE_THREAD, "MARQUEE_DATA_DIR": str(shared_data), "OPENAI_API_KEY": ""},
        grace_period=3.0,
    )
    stack.start(timeout=240)
    yield stack
    codes = stack.stop()
    # A server that the fuzzing crashed would not exit cleanly on SIGTERM.
    assert codes == {name: 0 for name in DOMAIN_SERVICES}, codes


@pytest.fixture(scope="module")
def probers(fuzz_stack: LocalStack) -> Iterator[dict[str, Prober]]:
    by_server = {name: Prober(address) for name, address in fuzz_stack.addresses().items()}
    yield by_server
    for prober in by_server.values():
        prober.close()
