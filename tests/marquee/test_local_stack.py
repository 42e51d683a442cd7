"""LocalStack, the process runner behind `make demo` and the integration tests."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from marquee.addresses import LOOPBACK
from marquee.local_stack import LocalStack, StackError


def test_a_stack_that_fails_to_start_names_the_server_and_stops_the_others(tmp_path: Path) -> None:
    stack = LocalStack({"layout": [], "render": ["--engine", "no-such-engine"]}, tmp_path, grace_period=1.0)
    with pytest.raises(StackError, match=r"render server exited with code \d+") as failure:
        stack.start(timeout=60)
    assert "invalid configuration: engine" in str(failure.value)  # the tail of its log
    layout = stack.processes["layout"].process
    assert layout is not None and layout.poll() is not None, "the layout server was left running"


def test_servers_without_given_ports_listen_where_the_os_put_them_and_say_so(tmp_path: Path) -> None:
    """A port picked here and handed to a child could be taken by another process before the
    child binds it (seen in CI: two stacks starting at once); each server binds port 0 instead
    and writes the ports it got, which the stack reads before it checks health."""
    stack = LocalStack({"layout": []}, tmp_path, grace_period=1.0)
    try:
        stack.start(timeout=60)
        server = stack.processes["layout"]
        assert server.port > 0 and server.metrics_port > 0
        assert json.loads((tmp_path / "layout.ports.json").read_text()) == {
            "port": server.port,
            "metrics_port": server.metrics_port,
        }
        # Those are the ports it serves on: the health check passed there, and /metrics answers.
        metrics = urllib.request.urlopen(f"http://{LOOPBACK}:{server.metrics_port}/metrics", timeout=5).read()
        assert b"grpc_server_started_total" in metrics
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
