"""The LLM planner: one chat-completions call to any OpenAI-compatible endpoint, with a strict
JSON schema (Structured Outputs), a timeout and the SDK's retries; the reply is parsed leniently
(so that repair can still trim seven objects or clamp a box) and always kept verbatim.

Endpoint failures become `LlmError`s with a kind (timeout, unavailable, rejected) and a cause a
person can act on; the planning flow decides whether that ends the request or falls back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal, Sequence

import openai
from pydantic import BaseModel, ConfigDict, ValidationError

from marquee.v1 import common_pb2, layout_pb2
from layout_server.layout_rules import style_word_of
from layout_server.prompting import RESPONSE_FORMAT

ErrorKind = Literal["timeout", "unavailable", "rejected"]


class LlmError(Exception):
    """The endpoint gave no usable answer: it timed out, failed, or refused the request."""

    def __init__(self, kind: ErrorKind, cause: str) -> None:
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
        return LlmReply(raw, None, [layout_pb2.LayoutProblem(
            code="invalid_json", field="reply",
            message=f"the reply is not JSON ({exc.msg} at character {exc.pos}); answer with one "
                    "JSON object matching the schema",
        )])
    try:
        reply = _Reply.model_validate(data)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}"
            for err in exc.errors()[:8]
        )
        return LlmReply(raw, None, [layout_pb2.LayoutProblem(
            code="schema_mismatch", field="reply",
            message=f"the reply does not match the schema ({details})",
        )])
    layout = layout_pb2.Layout(title=reply.title, mood=_mood_with_style(reply.style, reply.mood))
    for obj in reply.objects:
        layout.objects.add(
            name=obj.name, feature=obj.feature,
            box=common_pb2.Box(x1=obj.box.x1, y1=obj.box.y1, x2=obj.box.x2, y2=obj.box.y2),
        )
    return LlmReply(raw, layout)


def _describe(exc: BaseException, base_url: str, *, timeout: float, tries: int) -> LlmError:
    """An `LlmError` with a cause a person can act on (never the key)."""
    where = f"the LLM endpoint {base_url}"
    attempts = f"{tries} {'try' if tries == 1 else 'tries'}"
    if isinstance(exc, openai.APITimeoutError):
        return LlmError("timeout", f"{where} did not answer within {timeout:g} s ({attempts})")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return LlmError("unavailable", f"cannot reach {where} ({attempts}): {cause}")
    if isinstance(exc, openai.RateLimitError):
        return LlmError("unavailable",
                        f"{where} is rate limiting (HTTP 429, {attempts}): {exc.message}")
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return LlmError("rejected", f"{where} rejected the API key (HTTP {exc.status_code}): "
                                    f"{exc.message}")
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500 or exc.status_code in (408, 409):
            return LlmError("unavailable",
                            f"{where} answered HTTP {exc.status_code} ({attempts}): {exc.message}")
        return LlmError("rejected", f"{where} refused the request (HTTP {exc.status_code}): "
                                    f"{exc.message}")
    # A body that is not a chat completion at all (an HTML error page, a proxy's answer).
    return LlmError("unavailable", f"{where} sent an unreadable response "
                                   f"({type(exc).__name__}: {exc})")


class LlmPlanner:
    """Asks the configured model for a layout; one instance per server process."""

    def __init__(self, *, api_key: str, model: str, base_url: str | None, timeout: float,
                 retries: int) -> None:
        self.model = model
        self.timeout = timeout
        self.retries = retries
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=retries
        )
        self.base_url = str(self._client.base_url).rstrip("/")

    async def ask(self, messages: Sequence[dict[str, str]]) -> LlmReply:
        """One chat completion (with the SDK's retries); raises `LlmError` when none came."""
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=list(messages),  # type: ignore[arg-type]
                response_format=RESPONSE_FORMAT,  # type: ignore[arg-type]
            )
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: an undecodable body
            raise _describe(exc, self.base_url, timeout=self.timeout,
                            tries=self.retries + 1) from exc
        if not completion.choices:
            raise LlmError("unavailable", f"the LLM endpoint {self.base_url} returned no choices")
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            return LlmReply(message.refusal or "", None, [layout_pb2.LayoutProblem(
                code="refused", field="reply", message=f"the model refused: {message.refusal}",
            )])
        return parse_reply(message.content or "")

    async def close(self) -> None:
        await self._client.close()
