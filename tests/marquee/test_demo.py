"""`python -m client_tui demo` (`make demo`): the three real servers start, the console gets their
addresses, and they are stopped when it exits."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import client_tui.__main__ as client_main
from client_tui.connections import Endpoints
from marquee import demo
from marquee.addresses import SERVERS
from marquee.local_stack import free_port


def test_the_demo_runs_on_the_default_ports() -> None:
    assert {name: (s.port, s.metrics_port) for name, s in SERVERS.items()} == demo.DEFAULT_PORTS


def _serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        return reply.status == health_pb2.HealthCheckResponse.SERVING


def _refused(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) != 0


def test_the_demo_command_opens_the_console_on_the_servers_and_stops_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clean_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Free ports instead of the defaults: another run on this machine may hold those.
    ports = {name: (free_port(), free_port()) for name in SERVERS}
    monkeypatch.setattr(demo, "DEFAULT_PORTS", ports)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the demo keeps its logs
    seen: dict[str, list[str]] = {}

    def console(endpoints: Endpoints, args: object = None) -> int:
        seen.update(endpoints.addresses)
        assert all(_serving(address) for (address,) in endpoints.addresses.values())
        return 7

    monkeypatch.setattr(client_main, "open_console", console)
    assert client_main._dispatch(["demo"]) == 7
    assert seen == {name: [f"127.0.0.1:{port}"] for name, (port, _) in ports.items()}
    assert all(_refused(address) for (address,) in seen.values()), "a server was left running"
    out = capsys.readouterr().out
    assert "starting the servers" in out and "stopping the servers" in out
    (log_dir,) = tmp_path.glob("marquee-demo-*")
    assert sorted(p.name for p in log_dir.iterdir()) == ["layout.log", "recommender.log", "render.log"]
