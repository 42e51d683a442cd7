"""Structured logging for every Marquee process: one JSON object per line on stderr.

Secrets never reach the log: settings hold them as `SecretStr`, and a processor masks any value
whose key looks like a credential, whatever code logged it.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SECRET_KEY = re.compile(r"(token|secret|password|api_key|apikey|authorization|credential)", re.I)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{8,}")
REDACTED = "[redacted]"


def redact_text(text: str) -> str:
    """Masks credential-shaped substrings (bearer tokens, OpenAI keys, Hugging Face tokens)."""
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _OPENAI_KEY.sub(REDACTED, text)
    return _HF_TOKEN.sub(REDACTED, text)


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if _SECRET_KEY.search(str(k)) and v not in (None, "") else _redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(v) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: masks credentials in every field of an event."""
    return _redact(event_dict)


def configure_logging(level: str = "info", fmt: str = "json", *, process: str = "marquee") -> None:
    """Routes structlog and the standard library's logging to stderr, as JSON or for a console."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}; use debug, info, warning or error")
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            lambda _l, _m, ev: {**ev, "process": process},
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # Libraries that log request bodies or headers at debug level stay at warning.
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "urllib3"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structured logger; call `configure_logging` once per process first."""
    return structlog.stdlib.get_logger(name)
