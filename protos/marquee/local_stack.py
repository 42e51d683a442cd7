"""Starts the three servers as local subprocesses and waits until each is SERVING.

Used by `make demo` (`python -m client_tui demo`, through `marquee.demo`), the integration tests
and the benchmarks: one way to run the whole system on one machine, the way an operator would.
It lives in `marquee`, not in the client, because it is a developer tool that more than one
process's tests use, and it needs no server package: it starts each as `python -m <module>`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from marquee.addresses import LOOPBACK, SERVERS


class StackError(RuntimeError):
    """A server did not start or did not become SERVING."""


def free_port(host: str = LOOPBACK) -> int:
    """A port that was free a moment ago (the OS may hand it out again before anyone binds it:
    fine for an address where nothing should listen; servers LocalStack starts pick their own)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """One server subprocess and where it listens."""

    name: str
    port: int
    metrics_port: int
    args: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = LOOPBACK
    #: Where the server writes the ports it listens on (`--port-file`), when it picks them.
    port_file: Path | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def failure(self, what: str) -> StackError:
        """`what` went wrong with this server, with the tail of its log."""
        return StackError(f"{self.name} server {what}; its log ({self.log_path}):\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass
class LocalStack:
    """The servers named in `servers` (name → extra flags), on loopback."""

    servers: Mapping[str, Sequence[str]]
    log_dir: Path
    ports: Mapping[str, tuple[int, int]] | None = None
    env: Mapping[str, str] | None = None
    grace_period: float = 5.0
    host: str = LOOPBACK
    #: Credentials for health checks when the servers serve TLS (given their TLS flags).
    credentials: grpc.ChannelCredentials | None = None
    processes: dict[str, ServerProcess] = field(default_factory=dict)

    def start(self, timeout: float = 180.0) -> LocalStack:
        """Starts the servers and waits until each is SERVING; raises StackError (naming the
        server, with the tail of its log) after stopping every server it started."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in self.servers:
            if name not in self.processes:
                self.processes[name] = self._spawn(name)
        try:
            self.wait_serving(timeout)
        except BaseException:
            # A stack that never came up stops what it started, so no caller leaks a server.
            self.stop()
            raise
        return self

    def _spawn(self, name: str) -> ServerProcess:
        # Without ports from the caller the server binds port 0 and reports what the OS gave
        # it: a port picked here and handed over could be taken by another process in between.
        chosen = (self.ports or {}).get(name)
        port, metrics_port = chosen or (0, 0)
        log_path = self.log_dir / f"{name}.log"
        port_file = None if chosen else self.log_dir / f"{name}.ports.json"
        if port_file is not None:
            port_file.unlink(missing_ok=True)
        args = [
            sys.executable,
            "-m",
            SERVERS[name].module,
            "--host",
            self.host,
            "--port",
            str(port),
            "--metrics-port",
            str(metrics_port),
            "--grace-period",
            str(self.grace_period),
            *(["--port-file", str(port_file)] if port_file is not None else []),
            *self.servers[name],
        ]
        server = ServerProcess(name, port, metrics_port, args, log_path, host=self.host, port_file=port_file)
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        with log_path.open("wb") as log:
            server.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        return server

    def wait_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for server in self.processes.values():
            self._wait_one(server, deadline)

    def open_channel(self, server: ServerProcess) -> grpc.Channel:
        """A blocking channel to one server, over TLS when the stack has credentials."""
        if self.credentials is None:
            return grpc.insecure_channel(server.address)
        return grpc.secure_channel(server.address, self.credentials)

    def _wait_one(self, server: ServerProcess, deadline: float) -> None:
        if not (self._wait_for_ports(server, deadline) and self._wait_until_serving_or_exit(server, deadline)):
            assert server.process is not None
            raise server.failure(f"exited with code {server.process.returncode}")

    def _wait_for_ports(self, server: ServerProcess, deadline: float) -> bool:
        """True once the server has written the ports it listens on (at once for ports the
        caller chose); False if it exited first."""
        assert server.process is not None
        if server.port_file is None:
            return True
        while not server.port_file.is_file():
            if server.process.poll() is not None:
                return False
            if time.monotonic() > deadline:
                raise server.failure("did not start listening in time")
            time.sleep(0.05)
        ports = json.loads(server.port_file.read_text())
        server.port, server.metrics_port = ports["port"], ports["metrics_port"] or 0
        return True

    def _wait_until_serving_or_exit(self, server: ServerProcess, deadline: float) -> bool:
        """True once the server is SERVING; False if its process exited."""
        with self.open_channel(server) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                assert server.process is not None
                if server.process.poll() is not None:
                    return False
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return True
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise server.failure(f"not SERVING on {server.address} in time")
                time.sleep(0.1)

    def addresses(self) -> dict[str, str]:
        return {name: server.address for name, server in self.processes.items()}

    def terminate(self, name: str) -> None:
        """Sends SIGTERM to one server (it drains and exits)."""
        process = self.processes[name].process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)

    def kill(self, name: str) -> None:
        """Kills one server at once, as a crash or a lost node would."""
        process = self.processes[name].process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def stop(self) -> dict[str, int | None]:
        """SIGTERM to every server, then waits for each; returns their exit codes."""
        for name in self.processes:
            self.terminate(name)
        codes: dict[str, int | None] = {}
        for name, server in self.processes.items():
            assert server.process is not None
            try:
                codes[name] = server.process.wait(timeout=self.grace_period + 10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                codes[name] = server.process.wait()
        return codes

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
