"""LocalStack, the process runner behind `make demo` and the integration tests."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from marquee import local_stack
from marquee.addresses import LOOPBACK
from marquee.local_stack import LocalStack, StackError


def test_a_stack_that_fails_to_start_names_the_server_and_stops_the_others(tmp_path: Path) -> None:
    stack = LocalStack({"layout": [], "render": ["--engine", "no-such-engine"]}, tmp_path, grace_period=1.0)
    with pytest.raises(StackError, match=r"render server exited with code \d+") as failure:
        stack.start(timeout=60)
    assert "invalid configuration: engine" in str(failure.value)  # the tail of its log
    layout = stack.processes["layout"].process
    assert layout is not None and layout.poll() is not None, "the layout server was left running"


def test_a_server_whose_picked_port_was_taken_starts_again_on_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process can be handed the same free port before the server binds it (seen in CI
    with two stacks starting at once); the stack then starts that server again on a fresh pair."""
    real_free_port = local_stack.free_port
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        picks = iter([taken_port, real_free_port()])
        monkeypatch.setattr(local_stack, "free_port", lambda host=LOOPBACK: next(picks, None) or real_free_port())
        stack = LocalStack({"layout": []}, tmp_path, grace_period=1.0)
        try:
            stack.start(timeout=60)
            server = stack.processes["layout"]
            assert server.port != taken_port
            assert server.process is not None and server.process.poll() is None
        finally:
            stack.stop()


def test_a_port_the_caller_chose_is_not_swapped_for_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        stack = LocalStack({"layout": []}, tmp_path, ports={"layout": (port, 0)}, grace_period=1.0)
        with pytest.raises(StackError, match="layout server exited with code 2") as failure:
            stack.start(timeout=60)
    assert "cannot listen" in str(failure.value)
    assert stack.processes["layout"].port == port
