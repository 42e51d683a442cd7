"""The client tests' fixtures: fake servers with fixed data (console unit and snapshot tests), and
one stack of the real servers per session (whole-flow, CLI, tmux tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from marquee.local_stack import LocalStack
from tests.client_tui.fake_servers import FakeStack, RenderBehaviour
from tests.real_stack import offline_draft_stack


@pytest.fixture
def fake_stack() -> Iterator[FakeStack]:
    with FakeStack() as stack:
        yield stack


@pytest.fixture(scope="module")
def module_fake_stack() -> Iterator[FakeStack]:
    """One fake stack for a whole module, for tests that only read from it (CLI exit codes,
    snapshots)."""
    with FakeStack() as stack:
        yield stack


@pytest.fixture
def slow_fake_stack() -> Iterator[FakeStack]:
    """Renders take ~6 s (0.2 s a step) with full-size previews every step: the fake server runs
    ahead of a client that decodes every preview, so a cancel must reach it before it finishes
    even on a loaded machine."""
    with FakeStack(RenderBehaviour(seconds_per_step=0.2, preview_size=None)) as stack:
        yield stack


@pytest.fixture(scope="session")
def real_stack(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[LocalStack]:
    """The three real servers (draft render engine), started once for the client tests."""
    logs = tmp_path_factory.mktemp("client-stack")
    stack = offline_draft_stack(logs, shared_data)
    stack.start(timeout=240)
    yield stack
    stack.stop()
