"""Transport security across the whole flow: TLS and mutual TLS with certificates made here, the
bearer token enforced by every server, and no API key or token in any log or output.

Two stacks run side by side: one serving mutual TLS (render on the tiny CreatiLayout pipeline, so
its loader gets HF_TOKEN), one serving TLS only (draft render). Every server of both requires a
bearer token and logs at debug level; every process has OPENAI_API_KEY, HF_TOKEN and the token in
its environment, and the layout server's LLM planner talks to a fake OpenAI endpoint on loopback
that refuses the key, as a wrong key would be refused, so the planner falls back to offline."""

from __future__ import annotations

import http.server
import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from marquee.local_stack import LocalStack
from marquee.v1 import layout_pb2, layout_pb2_grpc, recommender_pb2, recommender_pb2_grpc, render_pb2, render_pb2_grpc
from tests.deploy.replicas import DRAFT_RENDER_FLAGS, ClientRun, client_credentials, start_all, start_client, tls_flags
from tests.real_stack import ONE_THREAD, TINY_RENDER_FLAGS
from tests.tls_certs import CertSet, make_certs

pytestmark = pytest.mark.slow

OPENAI_API_KEY = "sk-marquee-test-" + secrets.token_hex(16)
HF_TOKEN = "hf_marqueetest" + secrets.token_hex(12)
AUTH_TOKEN = "marquee-token-" + secrets.token_hex(16)
SECRETS = {"OPENAI_API_KEY": OPENAI_API_KEY, "HF_TOKEN": HF_TOKEN, "auth token": AUTH_TOKEN}
#: Each server's cheapest domain call, to check the token on every server.
DOMAIN_CALLS = {
    "recommender": lambda ch, **kw: recommender_pb2_grpc.RecommenderServiceStub(ch).SearchMovies(
        recommender_pb2.SearchMoviesRequest(query="toy story", limit=1), **kw
    ),
    "layout": lambda ch, **kw: layout_pb2_grpc.LayoutServiceStub(ch).DescribePlanner(
        layout_pb2.DescribePlannerRequest(), **kw
    ),
    "render": lambda ch, **kw: render_pb2_grpc.RenderServiceStub(ch).DescribeEngine(
        render_pb2.DescribeEngineRequest(), **kw
    ),
}


class FakeOpenAI(http.server.ThreadingHTTPServer):
    """Answers every request the way OpenAI answers a wrong key (401, the key shown masked), and
    remembers the Authorization headers it was sent."""

    def __init__(self) -> None:
        self.authorizations: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.authorizations.append(self.headers.get("Authorization", ""))
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                masked = OPENAI_API_KEY[:6] + "*" * 10 + OPENAI_API_KEY[-4:]
                body = json.dumps(
                    {
                        "error": {
                            "message": f"Incorrect API key provided: {masked}.",
                            "type": "invalid_request_error",
                            "param": None,
                            "code": "invalid_api_key",
                        }
                    }
                ).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Setup:
    def __init__(self, root: Path, certs: CertSet, llm: FakeOpenAI, mutual: LocalStack, tls: LocalStack) -> None:
        self.root, self.certs, self.llm, self.mutual, self.tls = root, certs, llm, mutual, tls
        self.runs: dict[str, ClientRun] = {}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("transport")
    certs = make_certs(root / "certs")
    llm = FakeOpenAI()
    threading.Thread(target=llm.serve_forever, daemon=True).start()
    env = {
        **ONE_THREAD,
        "OPENAI_API_KEY": OPENAI_API_KEY,
        "HF_TOKEN": HF_TOKEN,
        "MARQUEE_AUTH_TOKEN": AUTH_TOKEN,
        "MARQUEE_LOG_LEVEL": "debug",
    }
    layout_flags = ["--base-url", llm.base_url, "--retries", "0", "--timeout", "10"]
    stacks = {}
    for name, mutual, render in (("mutual", True, TINY_RENDER_FLAGS), ("tls", False, DRAFT_RENDER_FLAGS)):
        flags = tls_flags(certs, mutual=mutual)
        stacks[name] = LocalStack(
            {
                "recommender": flags,
                "layout": [*flags, *layout_flags],
                "render": [*flags, *render, "--output-dir", str(root / f"renders-{name}")],
            },
            root / f"servers-{name}",
            env=env,
            grace_period=3.0,
            credentials=client_credentials(certs, mutual=mutual),
        )
    start_all(list(stacks.values()))
    try:
        yield Setup(root, certs, llm, stacks["mutual"], stacks["tls"])
    finally:
        for stack in stacks.values():
            stack.stop()
        llm.shutdown()


def _client_env() -> dict[str, str]:
    # The client gets the keys in its environment too: it must not echo them either.
    return {"OPENAI_API_KEY": OPENAI_API_KEY, "HF_TOKEN": HF_TOKEN}


@pytest.fixture(scope="module")
def flows(setup: Setup) -> dict[str, ClientRun]:
    """The whole flow once over mutual TLS (token from the environment) and once over TLS (token
    as a flag), side by side; each test below reads what it needs from these runs."""
    certs = setup.certs
    setup.runs["mutual"] = start_client(
        setup.root / "client-mutual",
        [setup.mutual],
        [
            "--tls-ca-file",
            str(certs.ca),
            "--tls-cert-file",
            str(certs.client_cert),
            "--tls-key-file",
            str(certs.client_key),
            "--tls-server-name",
            "localhost",
        ],
        env={**_client_env(), "MARQUEE_AUTH_TOKEN": AUTH_TOKEN},
        planner="auto",
        steps=3,
    )
    setup.runs["tls"] = start_client(
        setup.root / "client-tls",
        [setup.tls],
        ["--tls-ca-file", str(certs.ca), "--tls-server-name", "localhost", "--auth-token", AUTH_TOKEN],
        env=_client_env(),
        planner="auto",
    )
    for run in setup.runs.values():
        run.wait(timeout=180)
    return setup.runs


def test_whole_flow_over_mutual_tls_with_a_bearer_token(setup: Setup, flows: dict[str, ClientRun]) -> None:
    run = flows["mutual"]
    assert run.process.returncode == 0, run.stderr()[-3000:]
    session = run.session()
    assert session["result"]["engine"] == "creatilayout"
    assert (run.out / "summary.png").is_file()
    # The LLM planner really ran with the key (and was refused, so the offline planner stepped in).
    assert f"Bearer {OPENAI_API_KEY}" in setup.llm.authorizations
    assert session["plan"]["used"] == "offline"
    assert any(a["planner"] == "llm" and a["error"] for a in session["plan"]["attempts"])


def test_whole_flow_over_tls_with_the_token_as_a_flag(flows: dict[str, ClientRun]) -> None:
    run = flows["tls"]
    assert run.process.returncode == 0, run.stderr()[-3000:]
    assert run.session()["result"]["engine"] == "draft"
    assert (run.out / "summary.png").is_file()


def test_mutual_tls_refuses_clients_without_a_certificate_and_tls_refuses_plaintext(setup: Setup) -> None:
    only_ca = grpc.ssl_channel_credentials(root_certificates=setup.certs.ca.read_bytes())
    token = (("authorization", f"Bearer {AUTH_TOKEN}"),)
    for name, server in setup.mutual.processes.items():
        with grpc.secure_channel(server.address, only_ca) as channel:
            with pytest.raises(grpc.RpcError) as refused:
                DOMAIN_CALLS[name](channel, metadata=token, timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, name
        with setup.mutual.open_channel(server) as channel:
            DOMAIN_CALLS[name](channel, metadata=token, timeout=10)
    for stack in (setup.mutual, setup.tls):
        for name, server in stack.processes.items():
            with grpc.insecure_channel(server.address) as channel:
                with pytest.raises(grpc.RpcError) as plaintext:
                    DOMAIN_CALLS[name](channel, metadata=token, timeout=5)
                assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE, name


def test_every_server_requires_the_bearer_token_but_health_stays_open(setup: Setup) -> None:
    for stack in (setup.tls, setup.mutual):
        for name, server in stack.processes.items():
            with stack.open_channel(server) as channel:
                for metadata in ((), (("authorization", "Bearer wrong-token"),), (("authorization", AUTH_TOKEN),)):
                    with pytest.raises(grpc.RpcError) as denied:
                        DOMAIN_CALLS[name](channel, metadata=metadata, timeout=10)
                    assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED, (name, metadata)
                    assert AUTH_TOKEN not in (denied.value.details() or "")
                DOMAIN_CALLS[name](channel, metadata=(("authorization", f"Bearer {AUTH_TOKEN}"),), timeout=10)
                health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
                assert health.status == health_pb2.HealthCheckResponse.SERVING


# Runs before test_no_key_or_token_in_any_log_or_output, which stops the servers.
def test_probe_checks_health_over_tls_and_mutual_tls_from_the_servers_environment(setup: Setup) -> None:
    """`python -m marquee.serving.probe`, as an image's HEALTHCHECK or an exec probe runs it: the
    server's own MARQUEE_* settings, plus the CA (and client pair for mutual TLS)."""
    certs = setup.certs
    for stack, mutual in ((setup.tls, False), (setup.mutual, True)):
        for name, server in stack.processes.items():
            port = server.address.rsplit(":", 1)[1]
            env = {
                "PATH": os.environ["PATH"],
                "MARQUEE_PORT": port,
                "MARQUEE_TLS_CERT_FILE": str(certs.server_cert),
                "MARQUEE_TLS_KEY_FILE": str(certs.server_key),
                "MARQUEE_PROBE_TLS_CA_FILE": str(certs.ca),
            }
            if mutual:
                env.update(
                    MARQUEE_TLS_CLIENT_CA_FILE=str(certs.ca),
                    MARQUEE_PROBE_TLS_CERT_FILE=str(certs.client_cert),
                    MARQUEE_PROBE_TLS_KEY_FILE=str(certs.client_key),
                )
            # A generous deadline: the test machine is shared; the default (3 s) suits a HEALTHCHECK.
            probe = [sys.executable, "-m", "marquee.serving.probe", "--timeout", "20"]
            ok = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30)
            assert ok.returncode == 0 and "SERVING" in ok.stdout, (name, ok.stdout, ok.stderr)
            # Plaintext against a TLS port is not a pass.
            plain = subprocess.run(
                [*probe, "--address", f"127.0.0.1:{port}"],
                env={"PATH": os.environ["PATH"]},
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert plain.returncode == 2 and "UNAVAILABLE" in plain.stderr, name


def _files_holding(root: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in sorted(root.rglob("*")) if p.is_file() and needle in p.read_bytes()]


def test_no_key_or_token_in_any_log_or_output(setup: Setup, flows: dict[str, ClientRun], tmp_path: Path) -> None:
    assert {name: run.process.returncode for name, run in flows.items()} == {"mutual": 0, "tls": 0}
    # Stop the servers first, so their logs include shutdown too.
    for stack in (setup.mutual, setup.tls):
        assert set(stack.stop().values()) == {0}
    logs = [server.log_path for stack in (setup.mutual, setup.tls) for server in stack.processes.values()]
    assert all(path.stat().st_size > 0 for path in logs)
    # The servers did log their configuration, at debug level: there was something to leak.
    assert all("configuration" in path.read_text() for path in logs)
    for label, secret in SECRETS.items():
        assert _files_holding(setup.root, secret) == [], f"{label} leaked"
    # The check itself can fail: a file holding a secret is found.
    (tmp_path / "leak.log").write_text(f"oops {AUTH_TOKEN}\n")
    assert _files_holding(tmp_path, AUTH_TOKEN) == [tmp_path / "leak.log"]
