"""Server configuration: flags, MARQUEE_* variables, --help, and clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from layout_server.config import LayoutSettings
from marquee.serving import parse_settings
from recommender_server.config import RecommenderSettings
from render_server.config import RenderSettings

PROG = "python -m test_server"


def test_environment_then_flags(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARQUEE_PORT", "6000")
    monkeypatch.setenv("MARQUEE_GRACE_PERIOD", "2.5")
    settings = parse_settings(RecommenderSettings, ["--port", "7000"], prog=PROG)
    assert settings.port == 7000  # the flag wins
    assert settings.grace_period == 2.5  # the environment fills the rest
    assert settings.max_message_bytes == 64 * 1024 * 1024


def test_defaults_differ_per_server(clean_env: None) -> None:
    ports = {
        cls.__name__: parse_settings(cls, [], prog=PROG).port
        for cls in (RecommenderSettings, LayoutSettings, RenderSettings)
    }
    assert sorted(ports.values()) == [50051, 50052, 50053]


def test_tls_files_must_exist_and_pair(clean_env: None, tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(Exception, match="must be given together"):
        parse_settings(RecommenderSettings, ["--tls-cert-file", str(cert)], prog=PROG)
    with pytest.raises(Exception, match="no such file"):
        parse_settings(
            RecommenderSettings,
            ["--tls-cert-file", str(cert), "--tls-key-file", str(tmp_path / "missing.pem")],
            prog=PROG,
        )


def test_secrets_never_in_loggable(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARQUEE_AUTH_TOKEN", "s3cret-token-value")
    settings = parse_settings(RenderSettings, [], prog=PROG)
    assert settings.auth_token is not None
    assert "s3cret-token-value" not in repr(settings.loggable())
    assert settings.loggable()["auth_token"] == "set"


@pytest.mark.parametrize("module", ["recommender_server", "layout_server", "render_server"])
def test_help_documents_every_option(module: str) -> None:
    result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for option in (
        "--host",
        "--port",
        "--metrics-port",
        "--grace-period",
        "--tls-cert-file",
        "--tls-client-ca-file",
        "--auth-token",
        "--max-message-mb",
    ):
        assert option in result.stdout, f"{module} --help lacks {option}"
    assert "MARQUEE_METRICS_PORT" in result.stdout


def test_bad_flag_value_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "layout_server", "--port", "99999"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "port" in result.stderr and "Traceback" not in result.stderr
