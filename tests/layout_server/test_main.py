"""`python -m layout_server` as a real process: the key from a .env file (never logged), the LLM
path through the scripted endpoint, configuration errors, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from layout_server.config import LayoutSettings
from marquee.v1 import layout_pb2, layout_pb2_grpc
from tests.layout_server.fake_openai import FakeOpenAI, layout_json, ok
from tests.layout_server.helpers import context

#: Shaped like no pattern the log redactor knows: masked only because it is registered.
ODD_SECRET = "zz-Q9from-dotenv-4f9a8b7c6d5e"
QUERY_KEY = "qk-Q9in-the-base-url-77e1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MARQUEE_") and k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL")
    }
    return {**env, "PYTHONUNBUFFERED": "1"}


def _wait_serving(channel: grpc.Channel, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Returns once the layout service is SERVING; fails with the server's log if it never is."""
    watch = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service="marquee.v1.LayoutService"), timeout=60, wait_for_ready=True
    )
    try:
        for reply in watch:
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
    except grpc.RpcError as error:
        raise AssertionError(
            f"not SERVING ({error.code()}; exit code {process.poll()}):\n{log_path.read_text()}"
        ) from None
    finally:
        watch.cancel()


def test_server_process_uses_the_dotenv_key_and_never_logs_it(tmp_path: Path, fake_llm: FakeOpenAI) -> None:
    env_file = tmp_path / "llm.env"
    env_file.write_text(f"# the seed kept its key here\nOPENAI_API_KEY={ODD_SECRET}\n")
    port = _free_port()
    log_path = tmp_path / "layout.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "layout_server",
                "--port",
                str(port),
                "--no-metrics",
                "--env-file",
                str(env_file),
                "--base-url",
                f"{fake_llm.url}?api-key={QUERY_KEY}",
                "--timeout",
                "5",
                "--grace-period",
                "2",
                "--log-level",
                "debug",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=tmp_path,
        )
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        _wait_serving(channel, process, log_path)
        stub = layout_pb2_grpc.LayoutServiceStub(channel)
        assert stub.DescribePlanner(layout_pb2.DescribePlannerRequest(), timeout=5).llm_configured
        fake_llm.script(ok(layout_json()))
        response = stub.PlanLayout(layout_pb2.PlanLayoutRequest(scenario="a rider", context=context()), timeout=20)
        assert response.planner_used == layout_pb2.PLANNER_LLM
        assert fake_llm.headers[0]["authorization"] == f"Bearer {ODD_SECRET}"
        channel.close()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    text = log_path.read_text()
    assert code == 0, text[-2000:]
    assert '"event": "planners ready"' in text and '"llm_configured": true' in text
    assert '"event": "planned layout"' in text
    assert "api-key=[redacted]" in text  # the start-up log names the endpoint, masked
    assert ODD_SECRET not in text and QUERY_KEY not in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--env-file", "/nonexistent/.env"], "no such file"),
        (["--base-url", "ftp://example.org"], "must start with http"),
        (["--retries", "-1"], "retries"),
    ],
)
def test_bad_configuration_exits_2(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "layout_server", *args], capture_output=True, text=True, timeout=60, env=_env()
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_api_key_precedence(no_llm_env: None, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-default-dotenv-file\n")
    settings = LayoutSettings()
    assert settings.api_key({}).get_secret_value() == "sk-default-dotenv-file"  # ./.env
    assert settings.api_key({"OPENAI_API_KEY": "sk-env"}).get_secret_value() == "sk-env"
    other = tmp_path / "other.env"
    other.write_text("OPENAI_API_KEY=\n")
    assert LayoutSettings(env_file=other).api_key({}) is None  # empty means no key
    assert "sk-" not in repr(settings.loggable())
