"""A scripted OpenAI-compatible chat-completions server on loopback (real HTTP, stdlib only).

Tests script its answers in order (a layout, broken JSON, an HTTP 500, a slow reply, an HTML page,
a body that trickles or breaks off, an echo of the credentials it was sent...) and read back every
request it received, so they exercise the real `openai` SDK end to end.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: In a scripted content or body, replaced by the `Authorization` header the request carried
#: (a hostile or careless endpoint that echoes what it was sent).
ECHO_AUTHORIZATION = "<<authorization>>"


@dataclass
class Reply:
    """One scripted answer."""

    content: str | None = None
    status: int = 200
    #: Raw HTTP body, sent instead of a chat completion.
    body: bytes | None = None
    delay: float = 0.0
    #: Hold the answer until the test calls `FakeOpenAI.release()` (or the fake stops): a reply
    #: that never comes while the caller waits, with no clock involved.
    held: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    refusal: str | None = None
    finish_reason: str = "stop"
    content_type: str = "application/json"
    #: Send the body `trickle_bytes` at a time, waiting this long before each piece.
    trickle_every: float = 0.0
    trickle_bytes: int = 1
    #: Announce the whole body's length but send only this many bytes, then close.
    cut_after: int | None = None


def layout_json(
    objects: list[tuple[str, str, list[float]]] | None = None,
    *,
    title: str = "Dust over the Canyon",
    style: str = "cinematic",
    mood: str = "dusty golden light, long shadows",
) -> str:
    """The JSON a well-behaved model answers with."""
    if objects is None:
        objects = [
            ("lone rider", "hat low against the wind", [0.05, 0.2, 0.55, 0.95]),
            ("red canyon", "mesas under a huge sky", [0.0, 0.0, 1.0, 0.6]),
            ("wanted poster", "curling on a post", [0.55, 0.45, 0.97, 0.9]),
        ]
    return json.dumps(
        {
            "title": title,
            "style": style,
            "mood": mood,
            "objects": [
                {"name": name, "feature": feature, "box": dict(zip(("x1", "y1", "x2", "y2"), box, strict=False))}
                for name, feature, box in objects
            ],
        }
    )


def ok(content: str, **kwargs: Any) -> Reply:
    return Reply(content=content, **kwargs)


def status(code: int, message: str = "scripted failure", **kwargs: Any) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": None}})
    headers = {"retry-after-ms": "5", **kwargs.pop("headers", {})}
    return Reply(status=code, body=body.encode(), headers=headers, **kwargs)


class FakeOpenAI:
    """Start with `with FakeOpenAI() as fake:`; `fake.url` is the base URL for the SDK."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        #: Answered when the script is used up (None: answer HTTP 500 "script exhausted").
        self.default: Reply | None = None
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        #: How long the fake itself took per answered request (scripted delays excluded).
        self.handling_seconds: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._released = threading.Event()
        #: Held replies sent so far (each after `release()`).
        self.held_replies_sent = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies = list(replies)
            self.requests.clear()
            self.headers.clear()

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def release(self) -> None:
        """Lets every held reply go out (now and from now on)."""
        self._released.set()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            if self.replies:
                return self.replies.pop(0)
        return self.default or status(500, "script exhausted")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm the second waits
            # for a delayed ACK (40 ms), which would be the fake's cost, not the client's.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                started = time.perf_counter()
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                reply = fake._next(body, {k.lower(): v for k, v in self.headers.items()})
                deadline = time.monotonic() + reply.delay
                while time.monotonic() < deadline and not fake._stop.is_set():
                    time.sleep(0.01)
                if reply.held:
                    fake._released.wait()
                    if fake._stop.is_set():
                        return
                echo = self.headers.get("authorization", "")
                if reply.body is not None:
                    data = reply.body.replace(ECHO_AUTHORIZATION.encode(), echo.encode())
                else:
                    content = reply.content.replace(ECHO_AUTHORIZATION, echo) if reply.content is not None else None
                    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": reply.refusal}
                    data = json.dumps(
                        {
                            "id": f"chatcmpl-{len(fake.requests)}",
                            "object": "chat.completion",
                            "created": int(time.time()),
                            "model": body.get("model", "?"),
                            "choices": [
                                {"index": 0, "finish_reason": reply.finish_reason, "message": message, "logprobs": None}
                            ],
                            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                        }
                    ).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", reply.content_type)
                    self.send_header("content-length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if reply.cut_after is not None:
                        self.wfile.write(data[: reply.cut_after])
                        self.wfile.flush()
                        self.close_connection = True
                    elif reply.trickle_every:
                        self._trickle(data, reply)
                    else:
                        self.wfile.write(data)
                    fake.handling_seconds.append(time.perf_counter() - started - reply.delay)
                    if reply.held:
                        fake.held_replies_sent += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): expected in those tests

            def _trickle(self, data: bytes, reply: Reply) -> None:
                for start in range(0, len(data), reply.trickle_bytes):
                    if fake._stop.wait(reply.trickle_every):
                        return
                    self.wfile.write(data[start : start + reply.trickle_bytes])
                    self.wfile.flush()

        return Handler
