"""Structured logging for every Marquee process: one JSON object per line on stderr.

Secrets never reach the log: settings hold them as `SecretStr`, and a processor masks any value
whose key looks like a credential, whatever code logged it. Text is masked twice over: by value
(every secret the process was configured with is registered at start-up with `register_secret`
or `register_url_secrets`, whatever its shape) and by pattern (bearer tokens, OpenAI keys,
Hugging Face tokens, credentials inside URLs) for secrets nobody registered. `redact_text` is also
what servers apply to status messages and to text they send to clients.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import threading
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

import structlog

_SECRET_KEY = re.compile(r"(token|secret|password|api_key|apikey|authorization|credential)", re.I)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_OPENAI_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{8,}")
#: `user:password@` (or a lone token) in a URL.
_URL_USERINFO = re.compile(r"(?<=://)[^/?#@\s]+@")
#: Query parameters that carry credentials (`?api-key=`, `&access_token=`, `&sig=` ...).
_QUERY_SECRET_NAME = (
    r"[A-Za-z0-9_.-]*(?:key|token|secret|password|passwd|pwd|sig|signature|auth|credential)[A-Za-z0-9_.-]*"
)
_URL_QUERY_SECRET = re.compile(rf"(?i)([?&]{_QUERY_SECRET_NAME}=)[^&#\s\"']+")
_QUERY_NAME = re.compile(rf"(?i)^{_QUERY_SECRET_NAME}$")
REDACTED = "[redacted]"
#: Registered values shorter than this are placeholders (`OPENAI_API_KEY=local` for a keyless
#: local server), and masking them would mangle ordinary words in logs and replies; real keys
#: and tokens are far longer. Patterns still cover credentials inside URLs whatever their length.
MIN_SECRET_CHARS = 8

_secrets: tuple[str, ...] = ()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Masks `value` (and its URL-encoded forms) in every log line and in `redact_text` from now
    on, whatever its shape. Call it at start-up for every configured key, token or password."""
    global _secrets
    if not value or len(value.strip()) < MIN_SECRET_CHARS:
        return
    forms = {
        form
        for form in (value, value.strip(), quote(value, safe=""), quote_plus(value, safe=""), unquote(value))
        if len(form) >= MIN_SECRET_CHARS
    }
    with _secrets_lock:
        # Longest first, so that a secret containing another is masked whole.
        _secrets = tuple(sorted(set(_secrets) | forms, key=len, reverse=True))


def register_url_secrets(url: str | None) -> None:
    """Registers the credentials inside a URL: the password (and the HTTP Basic form of user and
    password), a lone user part (`https://TOKEN@host`: a token), and the values of
    credential-like query parameters (`api-key`, `token`, `sig`, ...). A user name beside a
    password is not a secret, and registering it would mask that word everywhere."""
    if not url:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    user, password = parts.username, parts.password
    register_secret(password if password else user)
    if user is not None:
        pair = f"{user}:{password or ''}".encode()
        register_secret(base64.b64encode(pair).decode())
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if _QUERY_NAME.match(name):
            register_secret(value)


def redact_text(text: str) -> str:
    """Masks every registered secret, then credential-shaped substrings (bearer tokens, OpenAI
    keys, Hugging Face tokens, credentials in URLs)."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _OPENAI_KEY.sub(REDACTED, text)
    text = _URL_USERINFO.sub(REDACTED + "@", text)
    text = _URL_QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
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
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
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
