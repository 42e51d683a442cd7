"""LocalStack, the process runner behind `make demo` and the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from marquee.local_stack import LocalStack, StackError


def test_a_stack_that_fails_to_start_names_the_server_and_stops_the_others(tmp_path: Path) -> None:
    stack = LocalStack({"layout": [], "render": ["--engine", "no-such-engine"]}, tmp_path, grace_period=1.0)
    with pytest.raises(StackError, match=r"render server exited with code \d+") as failure:
        stack.start(timeout=60)
    assert "invalid configuration: engine" in str(failure.value)  # the tail of its log
    layout = stack.processes["layout"].process
    assert layout is not None and layout.poll() is not None, "the layout server was left running"
