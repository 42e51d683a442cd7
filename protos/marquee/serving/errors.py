"""Errors a servicer raises to answer with a specific gRPC status.

Servicers raise these instead of calling `context.abort` so that domain code stays free of gRPC
plumbing; the bootstrap's interceptor turns them into statuses (see `marquee.serving.metrics`).
"""

from __future__ import annotations

import grpc


class ServiceError(Exception):
    """An error with a gRPC status code and a message a person can act on."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
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
