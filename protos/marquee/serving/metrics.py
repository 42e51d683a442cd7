"""Per-method request metrics for Prometheus, and the interceptor that records them.

Names follow go-grpc-prometheus (`grpc_server_started_total`, `grpc_server_handled_total`,
`grpc_server_handling_seconds`) so existing Grafana dashboards work unchanged. The same
interceptor turns `ServiceError`s into gRPC statuses and any other exception into INTERNAL with
a logged traceback, so no servicer bug reaches a client as a bare UNKNOWN, and answers requests
that do not parse with INVALID_ARGUMENT (see `marquee.serving.request_decoding`).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from prometheus_client import Counter, Histogram

from marquee.serving.errors import ServiceError, shorten
from marquee.serving.request_decoding import check_request, checked_stream, tolerant
from marquee.serving.structured_logs import get_logger, redact_text

log = get_logger("marquee.rpc")

STARTED = Counter(
    "grpc_server_started_total", "RPCs started on the server.", ["grpc_type", "grpc_service", "grpc_method"]
)
HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by status code.",
    ["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
)
LATENCY = Histogram(
    "grpc_server_handling_seconds",
    "Time from an RPC's start to its completion (the whole stream for streaming RPCs).",
    ["grpc_type", "grpc_service", "grpc_method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)


def _split(full_method: str) -> tuple[str, str]:
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service, method


class _Call:
    """Bookkeeping for one RPC: labels, start time, the final code."""

    def __init__(self, rpc_type: str, full_method: str) -> None:
        self.service, self.method = _split(full_method)
        self.rpc_type = rpc_type
        self.start = time.perf_counter()
        STARTED.labels(rpc_type, self.service, self.method).inc()

    def finish(self, code: grpc.StatusCode) -> None:
        HANDLED.labels(self.rpc_type, self.service, self.method, code.name).inc()
        LATENCY.labels(self.rpc_type, self.service, self.method).observe(time.perf_counter() - self.start)


async def _fail(context: grpc.aio.ServicerContext, call: _Call, exc: BaseException) -> None:
    """Answers an exception from a servicer with the right status; re-raises the abort."""
    if isinstance(exc, ServiceError):
        call.finish(exc.code)
        await context.abort(exc.code, exc.message)
    if isinstance(exc, grpc.aio.AbortError):
        call.finish(context.code() or grpc.StatusCode.UNKNOWN)
        raise exc
    if isinstance(exc, asyncio.CancelledError):
        call.finish(grpc.StatusCode.CANCELLED)
        raise exc
    if isinstance(exc, NotImplementedError):
        call.finish(grpc.StatusCode.UNIMPLEMENTED)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{call.method} is not implemented yet")
    log.exception("rpc failed", method=call.method, service=call.service)
    call.finish(grpc.StatusCode.INTERNAL)
    await context.abort(
        grpc.StatusCode.INTERNAL,
        f"internal error in {call.method} ({type(exc).__name__}: {shorten(redact_text(str(exc)), 200)}); "
        "see the server log",
    )


def _code_after_success(context: grpc.aio.ServicerContext) -> grpc.StatusCode:
    return context.code() or grpc.StatusCode.OK


def _checked(request_or_iterator: Any, call: _Call) -> Any:
    """The request, or a stream of requests, with undecodable messages turned into errors."""
    if call.rpc_type in ("client_stream", "bidi_stream"):
        return checked_stream(request_or_iterator, call.service, call.method)
    check_request(request_or_iterator, call.service, call.method)
    return request_or_iterator


def _wrap_unary_response(behavior: Callable[..., Awaitable[Any]], rpc_type: str, method: str):
    async def wrapped(request_or_iterator: Any, context: grpc.aio.ServicerContext) -> Any:
        call = _Call(rpc_type, method)
        try:
            response = behavior(_checked(request_or_iterator, call), context)
            if inspect.isawaitable(response):
                response = await response
        except BaseException as exc:
            await _fail(context, call, exc)
            raise
        call.finish(_code_after_success(context))
        return response

    return wrapped


def _wrap_stream_response(behavior: Callable[..., Any], rpc_type: str, method: str):
    if inspect.isasyncgenfunction(behavior):

        async def wrapped_gen(request_or_iterator: Any, context: grpc.aio.ServicerContext):
            call = _Call(rpc_type, method)
            try:
                async for item in behavior(_checked(request_or_iterator, call), context):
                    yield item
            except BaseException as exc:
                await _fail(context, call, exc)
                raise
            call.finish(_code_after_success(context))

        return wrapped_gen
    # Servicers that write with `context.write` (e.g. the standard health Watch).
    return _wrap_unary_response(behavior, rpc_type, method)


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times every RPC, maps exceptions to statuses, and refuses undecodable requests."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        kwargs = dict(
            request_deserializer=tolerant(handler.request_deserializer), response_serializer=handler.response_serializer
        )
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary_response(handler.unary_unary, "unary", method), **kwargs
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream_response(handler.unary_stream, "server_stream", method), **kwargs
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _wrap_unary_response(handler.stream_unary, "client_stream", method), **kwargs
            )
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(
                _wrap_stream_response(handler.stream_stream, "bidi_stream", method), **kwargs
            )
        return handler  # no behaviour to wrap (grpc sets exactly one of the four)
