"""Requests that are not the protobuf message a method takes answer INVALID_ARGUMENT.

grpc.aio runs a handler's request deserializer before any interceptor or servicer code; when it
raises, grpc answers UNKNOWN (or, once a stream is open, the servicer's exception), logs a
traceback at error level, and the call never reaches the metrics. So the bootstrap swaps every
deserializer for one that cannot raise: a payload that does not parse arrives as an
`UndecodableRequest`, which the metrics interceptor answers with INVALID_ARGUMENT, counts, and
logs once at warning level.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from marquee.serving.errors import InvalidArgument, shorten
from marquee.serving.structured_logs import get_logger

log = get_logger("marquee.rpc")

Deserializer = Callable[[bytes], Any]


@dataclass(frozen=True)
class UndecodableRequest:
    """Stands in for a request message whose bytes did not parse."""

    message_type: str
    size: int
    reason: str

    def reject(self, service: str, method: str) -> InvalidArgument:
        """The error to answer with, logged once (no traceback: the client is at fault)."""
        log.warning(
            "undecodable request",
            service=service,
            method=method,
            message_type=self.message_type,
            bytes=self.size,
            reason=self.reason,
        )
        return InvalidArgument(
            f"the request ({self.size} bytes) does not parse as a {self.message_type} protobuf "
            "message (truncated, corrupt, or invalid UTF-8 in a string field); send a serialized "
            f"{self.message_type}"
        )


def _message_type(deserializer: Deserializer) -> str:
    # Generated handlers pass `SomeMessage.FromString`, whose class carries the descriptor.
    descriptor = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    return getattr(descriptor, "full_name", None) or "request"


def tolerant(deserializer: Deserializer | None) -> Deserializer | None:
    """`deserializer`, returning an `UndecodableRequest` instead of raising."""
    if deserializer is None:
        return None
    message_type = _message_type(deserializer)

    def deserialize(payload: bytes) -> Any:
        try:
            return deserializer(payload)
        except Exception as exc:
            return UndecodableRequest(message_type, len(payload), shorten(f"{type(exc).__name__}: {exc}", 160))

    return deserialize


def check_request(request: Any, service: str, method: str) -> None:
    """Raises INVALID_ARGUMENT when a unary request did not parse."""
    if isinstance(request, UndecodableRequest):
        raise request.reject(service, method)


async def checked_stream(requests: Any, service: str, method: str) -> AsyncIterator[Any]:
    """A request stream that raises INVALID_ARGUMENT at the first message that did not parse."""
    async for request in requests:
        check_request(request, service, method)
        yield request
