"""Logs are JSON lines and never carry secrets."""

from __future__ import annotations

import json
import logging

import pytest

from marquee.serving.structured_logs import configure_logging, get_logger, redact_text


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
