"""Several replicas of the servers on loopback, optionally behind TLS, and the headless client
run against them: the pieces the scale-out and transport-security tests share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from prometheus_client.parser import text_string_to_metric_families

from marquee.local_stack import LocalStack, ServerProcess
from tests.real_stack import ONE_THREAD
from tests.tls_certs import CertSet

DRAFT_RENDER_FLAGS = ("--engine", "draft")
#: Two watched movies every MovieLens-1M copy has.
WATCHED = ("Toy Story (1995)", "Aladdin (1992)")


def client_credentials(certs: CertSet, *, mutual: bool) -> grpc.ChannelCredentials:
    """What the test's own health checks present to TLS (or mutual-TLS) servers."""
    return grpc.ssl_channel_credentials(
        root_certificates=certs.ca.read_bytes(),
        private_key=certs.client_key.read_bytes() if mutual else None,
        certificate_chain=certs.client_cert.read_bytes() if mutual else None,
    )


def start_all(stacks: Sequence[LocalStack], timeout: float = 240.0) -> None:
    """Starts the stacks side by side (their model loads overlap); stops them all on a failure."""
    with ThreadPoolExecutor(len(stacks)) as pool:
        futures = [pool.submit(stack.start, timeout) for stack in stacks]
        errors = [f.exception() for f in futures]
    if any(errors):
        for stack in stacks:
            stack.stop()
        raise next(e for e in errors if e is not None)


def tls_flags(certs: CertSet, *, mutual: bool) -> list[str]:
    flags = ["--tls-cert-file", str(certs.server_cert), "--tls-key-file", str(certs.server_key)]
    if mutual:
        flags += ["--tls-client-ca-file", str(certs.ca)]
    return flags


def replica_list(stacks: Sequence[LocalStack], name: str) -> str:
    """'127.0.0.1:a,127.0.0.1:b': every replica of one server, for the client's flags."""
    return ",".join(stack.processes[name].address for stack in stacks)


def metrics_samples(server: ServerProcess, timeout: float = 5.0) -> dict[tuple[str, frozenset], float]:
    """The server's Prometheus samples: (name, labels) -> value."""
    url = f"http://127.0.0.1:{server.metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=timeout).read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def handled(server: ServerProcess, method: str, code: str = "OK") -> float:
    """How many `method` calls the server finished with `code`."""
    total = 0.0
    for (name, labels), value in metrics_samples(server).items():
        labels = dict(labels)
        if (
            name == "grpc_server_handled_total"
            and labels.get("grpc_method") == method
            and labels.get("grpc_code") == code
        ):
            total += value
    return total


@dataclass
class ClientRun:
    """One headless client run: its process, its output files and the session it wrote."""

    out: Path
    stdout_path: Path
    stderr_path: Path
    process: subprocess.Popen[bytes]
    args: list[str] = field(default_factory=list)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the client did not finish in {timeout} s:\n{self.stderr()[-3000:]}") from None

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def session(self) -> dict:
        return json.loads((self.out / "session.json").read_text())


def start_client(
    workdir: Path,
    stacks: Sequence[LocalStack],
    extra: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    steps: int = 4,
    size: str = "64x64",
    planner: str = "offline",
) -> ClientRun:
    """`python -m client_tui run` against every replica of every server (round_robin)."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "out"
    args = [
        sys.executable,
        "-m",
        "client_tui",
        "run",
        "--recommender",
        replica_list(stacks, "recommender"),
        "--layout",
        replica_list(stacks, "layout"),
        "--render",
        replica_list(stacks, "render"),
        *[arg for title in WATCHED for arg in ("--watched", title)],
        "--k",
        "3",
        "--planner",
        planner,
        "--steps",
        str(steps),
        "--size",
        size,
        "--seed",
        "7",
        "--preview-every",
        "2",
        "--out",
        str(out),
        *extra,
    ]
    stdout_path, stderr_path = workdir / "client.stdout", workdir / "client.stderr"
    full_env = {**os.environ, **ONE_THREAD, **(env or {}), "PYTHONUNBUFFERED": "1"}
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(args, stdout=stdout, stderr=stderr, env=full_env, cwd=workdir)
    return ClientRun(out, stdout_path, stderr_path, process, args)
