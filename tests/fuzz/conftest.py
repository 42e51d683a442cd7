"""The three real servers, started once per fuzz module (and stopped after it, so they do not
linger through the rest of the suite), and a prober per server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from marquee.local_stack import LocalStack
from tests.fuzz.rpc_targets import DOMAIN_SERVICES, Prober
from tests.real_stack import offline_draft_stack


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[LocalStack]:
    logs = tmp_path_factory.mktemp("fuzz-stack")
    stack = offline_draft_stack(logs, shared_data)
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
