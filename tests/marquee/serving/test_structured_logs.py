"""Logs are JSON lines and never carry secrets: by pattern, and by value once registered."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from urllib.parse import quote

import pytest

from marquee.serving.structured_logs import (
    configure_logging,
    get_logger,
    redact_text,
    register_secret,
    register_url_secrets,
)


def test_json_lines_and_redaction(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json", process="test")
    log = get_logger("t")
    log.info("calling", api_key="sk-abcdefghijklmnop", url="https://x", note="hf_abcdefghijkl1234")
    logging.getLogger("plain").warning("header was Bearer abc.def.ghi")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["event"] == "calling" and lines[0]["process"] == "test"
    assert lines[0]["api_key"] == "[redacted]"
    assert "hf_abcdefghijkl1234" not in lines[0]["note"]
    assert "abc.def.ghi" not in lines[1]["event"]


def test_redact_text_keeps_ordinary_words() -> None:
    assert redact_text("a skeleton key to the bearer of news") == "a skeleton key to the bearer of news"
    assert redact_text("key sk-proj-0123456789abcdef end") == "key [redacted] end"


def test_registered_secret_of_any_shape_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "zz-Q9" + secrets.token_hex(8) + "/+="  # matches no pattern
    assert redact_text(f"echo {secret}") == f"echo {secret}"
    register_secret(secret)
    configure_logging("info", "json", process="test")
    get_logger("t").info("upstream said", body=f"bad key {secret}", note=quote(secret, safe=""))
    logging.getLogger("plain").error("traceback mentions %s", secret)
    err = capsys.readouterr().err
    assert secret not in err and quote(secret, safe="") not in err
    assert err.count("[redacted]") == 3
    assert redact_text(f"x{secret}y") == "x[redacted]y"


def test_short_placeholders_are_not_registered() -> None:
    register_secret("local")  # OPENAI_API_KEY=local for a keyless server: not a secret
    register_secret("")
    register_secret(None)
    assert redact_text("a local sheriff") == "a local sheriff"


def test_url_credentials() -> None:
    password, token = "pw-" + secrets.token_hex(6), "qk-" + secrets.token_hex(6)
    url = f"https://layout:{password}@llm.internal/v1?api-version=2024-06-01&api-key={token}"
    # By pattern, even when nobody registered them.
    masked = redact_text(f"cannot reach {url}: refused")
    assert password not in masked and token not in masked
    assert "https://[redacted]@llm.internal/v1?api-version=2024-06-01&api-key=[redacted]" in masked
    # By value once registered: the password alone, its HTTP Basic form, the query key.
    register_url_secrets(url)
    basic = base64.b64encode(f"layout:{password}".encode()).decode()
    for text in (password, basic, token, f"Authorization: Basic {basic}"):
        assert "[redacted]" in redact_text(text)
    # The user name beside a password and harmless parameters are not secrets.
    assert redact_text("layout 2024-06-01") == "layout 2024-06-01"


def test_lone_token_in_url_is_registered() -> None:
    token = "tok" + secrets.token_hex(6)
    register_url_secrets(f"https://{token}@gateway.example/v1")
    assert redact_text(f"the gateway echoed {token}") == "the gateway echoed [redacted]"


def test_status_messages_of_every_server_are_masked_by_value() -> None:
    """A ServiceError quoting an upstream reply that echoed a registered secret sends no secret."""
    from marquee.serving import InvalidArgument
    from marquee.serving.structured_logs import register_secret

    secret = "odd-shape-Q9x7#secret-value"
    register_secret(secret)
    error = InvalidArgument(f"the endpoint answered: bad key {secret}; check --base-url")
    assert secret not in error.message and "check --base-url" in error.message
