"""The LLM planner: one chat-completions call to any OpenAI-compatible endpoint, with a strict
JSON schema (Structured Outputs); the reply is parsed leniently (so that repair can still trim
seven objects or clamp a box).

The endpoint is not trusted to behave. `--timeout` bounds a whole request, from connecting to
the last byte of the reply, retries included (the SDK's own timeout bounds each read only, and a
trickling endpoint would hold a request for ever); the body is read up to `MAX_BODY_BYTES` and
parsed here, so an HTML page, an empty or cut body or a JSON document that is not a chat
completion is an `LlmError` with a cause, never an exception from deep inside the SDK.

Endpoint failures become `LlmError`s with a kind (timeout, unavailable, rejected, unreadable) and
a cause a person can act on, with secrets masked and length capped; the planning flow decides
whether that ends the request or falls back.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ConfigDict, ValidationError

from layout_server.layout_rules import style_word_of
from layout_server.metrics import LLM_ERRORS, LLM_REQUEST_SECONDS, LLM_TOKENS
from layout_server.prompting import RESPONSE_FORMAT
from layout_server.reply_safety import MAX_CAUSE_CHARS, excerpt
from marquee.serving.structured_logs import redact_text, register_secret, register_url_secrets
from marquee.v1 import common_pb2, layout_pb2

ErrorKind = Literal["timeout", "unavailable", "rejected", "unreadable"]

#: The largest response body read from the endpoint (a layout reply is about 2 KB).
MAX_BODY_BYTES = 1 << 20
_RETRY_STATUSES = frozenset({408, 409, 429})
_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 8.0


class LlmError(Exception):
    """The endpoint gave no usable answer: it timed out, failed, refused the request, or sent
    something that is not a chat completion. The cause is masked and capped here, once."""

    def __init__(self, kind: ErrorKind, cause: str) -> None:
        cause = excerpt(cause, MAX_CAUSE_CHARS)
        super().__init__(cause)
        self.kind = kind
        self.cause = cause


class _Box(BaseModel):
    model_config = ConfigDict(extra="ignore")
    x1: float
    y1: float
    x2: float
    y2: float


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    feature: str = ""
    box: _Box


class _Reply(BaseModel):
    """A reply as parsed: the types must be right, the counts and ranges need not be."""

    model_config = ConfigDict(extra="ignore")
    title: str
    style: str = ""
    mood: str
    objects: list[_Object]


@dataclass
class LlmReply:
    """What came back: the raw text, and the layout or why there is none."""

    raw: str
    layout: layout_pb2.Layout | None
    problems: list[layout_pb2.LayoutProblem] = field(default_factory=list)


def _mood_with_style(style: str, mood: str) -> str:
    style, mood = style.strip(), mood.strip()
    if not style or style_word_of(mood) == style.lower():
        return mood
    return f"{style}, {mood}" if mood else style


def parse_reply(raw: str) -> LlmReply:
    """The layout in a reply, or problems saying why the reply is not one."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return LlmReply(
            raw,
            None,
            [
                layout_pb2.LayoutProblem(
                    code="invalid_json",
                    field="reply",
                    message=f"the reply is not JSON ({exc.msg} at character {exc.pos}); answer with one "
                    "JSON object matching the schema",
                )
            ],
        )
    try:
        reply = _Reply.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}" for err in exc.errors()[:8]
        )
        return LlmReply(
            raw,
            None,
            [
                layout_pb2.LayoutProblem(
                    code="schema_mismatch", field="reply", message=f"the reply does not match the schema ({details})"
                )
            ],
        )
    layout = layout_pb2.Layout(title=reply.title, mood=_mood_with_style(reply.style, reply.mood))
    for obj in reply.objects:
        layout.objects.add(
            name=obj.name,
            feature=obj.feature,
            box=common_pb2.Box(x1=obj.box.x1, y1=obj.box.y1, x2=obj.box.x2, y2=obj.box.y2),
        )
    return LlmReply(raw, layout)


def _tries(count: int) -> str:
    return f"{count} {'try' if count == 1 else 'tries'}"


def _describe(exc: BaseException, where: str, *, tries: int) -> LlmError:
    """An `LlmError` with a cause a person can act on."""
    attempts = _tries(tries)
    if isinstance(exc, httpx2.TransportError):  # raised while the body was being read
        return LlmError("unavailable", f"lost the connection to {where} while reading its reply ({attempts}): {exc}")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return LlmError("unavailable", f"cannot reach {where} ({attempts}): {cause}")
    if isinstance(exc, openai.RateLimitError):
        return LlmError("unavailable", f"{where} is rate limiting (HTTP 429, {attempts}): {exc.message}")
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return LlmError("rejected", f"{where} rejected the API key (HTTP {exc.status_code}): {exc.message}")
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500 or exc.status_code in _RETRY_STATUSES:
            return LlmError("unavailable", f"{where} answered HTTP {exc.status_code} ({attempts}): {exc.message}")
        return LlmError("rejected", f"{where} refused the request (HTTP {exc.status_code}): {exc.message}")
    return LlmError("unreadable", f"{where} sent an unreadable response ({type(exc).__name__}: {exc})")


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in _RETRY_STATUSES
    return isinstance(exc, (openai.APIConnectionError, httpx2.TransportError))


def _server_wait(exc: BaseException) -> float | None:
    """The wait an HTTP error asked for (`retry-after-ms`, `retry-after` in seconds), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return max(0.0, float(headers.get(name, "")) * scale)
        except ValueError:
            continue
    return None


def _message_text(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return json.dumps(content)


class LlmPlanner:
    """Asks the configured model for a layout; one instance per server process."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None,
        timeout: float,
        retries: int,
        max_completion_tokens: int = 2048,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self.retries = retries
        self.max_completion_tokens = max_completion_tokens
        # Retries are ours: the SDK cannot keep them inside one overall deadline.
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)
        # Masked by value wherever they would be printed, whoever built this planner.
        register_secret(api_key)
        register_url_secrets(str(self._client.base_url))
        #: The endpoint for messages and logs, credentials masked.
        self.base_url = redact_text(str(self._client.base_url).rstrip("/"))
        self._options: dict[str, Any] = {"max_completion_tokens": max_completion_tokens}
        if temperature is not None:
            self._options["temperature"] = temperature
        if seed is not None:
            self._options["seed"] = seed

    @property
    def where(self) -> str:
        return f"the LLM endpoint {self.base_url}"

    async def ask(self, messages: Sequence[ChatCompletionMessageParam]) -> LlmReply:
        """One chat completion within `timeout` (retries included); raises `LlmError` when no
        chat completion came back."""
        started = time.monotonic()
        tries = 0
        outcome = "unexpected"
        try:
            try:
                async with asyncio.timeout(self.timeout):
                    while True:
                        tries += 1
                        try:
                            body, content_type = await self._post(messages)
                            break
                        except (openai.APIError, httpx2.TransportError) as exc:
                            wait = self._retry_wait(exc, tries, started)
                            if wait is None:
                                raise
                            await asyncio.sleep(wait)
            except (TimeoutError, openai.APITimeoutError, httpx2.TimeoutException):
                raise LlmError(
                    "timeout", f"{self.where} did not answer within {self.timeout:g} s ({_tries(tries)})"
                ) from None
            except (openai.OpenAIError, httpx2.TransportError, ValueError) as exc:
                raise _describe(exc, self.where, tries=tries) from exc
            reply = self._reply(body, content_type)
            outcome = "ok"
            return reply
        except LlmError as exc:
            outcome = exc.kind
            LLM_ERRORS.labels(exc.kind).inc()
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"  # the caller's deadline
            raise
        finally:
            LLM_REQUEST_SECONDS.labels(outcome).observe(time.monotonic() - started)

    def _retry_wait(self, exc: BaseException, tries: int, started: float) -> float | None:
        """How long to wait before the next try, or None when there is to be none."""
        if tries > self.retries or not _retryable(exc):
            return None
        wait = _server_wait(exc)
        if wait is None:
            backoff = min(_MAX_BACKOFF_S, _FIRST_BACKOFF_S * 2 ** (tries - 1))
            wait = backoff * random.uniform(0.75, 1.0)
        left = self.timeout - (time.monotonic() - started)
        return wait if wait < left else None

    async def _post(self, messages: Sequence[ChatCompletionMessageParam]) -> tuple[bytes, str]:
        """One try: the response body (at most `MAX_BODY_BYTES`) and its content type."""
        async with self._client.chat.completions.with_streaming_response.create(
            model=self.model, messages=list(messages), response_format=RESPONSE_FORMAT, **self._options
        ) as response:
            content_type = response.headers.get("content-type", "")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise LlmError(
                        "unreadable",
                        f"{self.where} sent a reply of more than "
                        f"{MAX_BODY_BYTES:,} bytes; stopped reading it "
                        "(a layout is about 2 KB)",
                    )
                chunks.append(chunk)
        return b"".join(chunks), content_type

    def _reply(self, body: bytes, content_type: str) -> LlmReply:
        """The reply in a response body, or `LlmError` when the body is not a chat completion."""
        text = body.decode("utf-8", errors="replace")
        kind = content_type.split(";")[0].strip() or "no content type"
        if not text.strip():
            raise LlmError("unreadable", f"{self.where} answered with an empty body ({kind})")
        try:
            data = json.loads(text)
        except ValueError:
            raise LlmError(
                "unreadable",
                f"{self.where} answered with something that is not a "
                f"chat completion ({kind}, {len(body):,} bytes: "
                f"{excerpt(text.strip(), 120)!r})",
            ) from None
        choices = data.get("choices") if isinstance(data, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            error = data.get("error") if isinstance(data, dict) else None
            detail = (
                f": {error.get('message') if isinstance(error, dict) else error}"
                if error
                else f" ({len(body):,} bytes: {excerpt(text.strip(), 120)!r})"
            )
            raise LlmError(
                "unreadable", f"{self.where} answered JSON that is not a chat completion with choices{detail}"
            )
        usage = data.get("usage")
        if isinstance(usage, dict):
            for direction, name in (("prompt", "prompt_tokens"), ("completion", "completion_tokens")):
                if isinstance(usage.get(name), int) and usage[name] > 0:
                    LLM_TOKENS.labels(direction).inc(usage[name])
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            message = {}
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal:
            return LlmReply(
                refusal,
                None,
                [layout_pb2.LayoutProblem(code="refused", field="reply", message=f"the model refused: {refusal}")],
            )
        reply = parse_reply(_message_text(message.get("content")))
        if reply.layout is None and choice.get("finish_reason") == "length":
            for problem in reply.problems:
                problem.message += (
                    f"; the reply was cut at {self.max_completion_tokens} tokens "
                    "(--max-completion-tokens): answer with the layout only"
                )
        return reply

    async def close(self) -> None:
        await self._client.close()
