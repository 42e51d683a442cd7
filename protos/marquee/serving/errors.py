"""Errors a servicer raises to answer with a specific gRPC status.

Servicers raise these instead of calling `context.abort` so that domain code stays free of gRPC
plumbing; the bootstrap's interceptor turns them into statuses (see `marquee.serving.metrics`).
"""

from __future__ import annotations

import grpc

from marquee.serving.structured_logs import redact_text

#: Longest status message sent. Messages travel in HTTP/2 trailers, percent-encoded, and gRPC
#: clients refuse metadata over 8 KiB by default: a longer message loses the status itself.
MESSAGE_LIMIT = 600


def shorten(text: str, limit: int = 80, *, tail: int = 0) -> str:
    """`text` cut to `limit` characters, saying how many were left out: for echoing client input
    (names, versions, queries) in a message without repeating a huge value. `tail` characters of
    the end are kept too (a message's advice usually comes last)."""
    if len(text) <= limit:
        return text
    tail = min(tail, limit)
    end = f" …{text[len(text) - tail :]}" if tail else ""
    return f"{text[: limit - tail]}… (+{len(text) - limit:,} characters){end}"


class ServiceError(Exception):
    """An error with a gRPC status code and a message a person can act on."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        # Masked by value before it can travel: a message may quote an upstream reply that echoed a key.
        message = shorten(redact_text(message), MESSAGE_LIMIT, tail=MESSAGE_LIMIT // 3)
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class DeadlineExceeded(ServiceError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Cancelled(ServiceError):
    code = grpc.StatusCode.CANCELLED
