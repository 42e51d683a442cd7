"""Optional bearer-token check on every call.

Health checks stay open: kubelet probes and load balancers carry no token.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from grpc_health.v1 import health

_OPEN_SERVICES = (f"/{health.SERVICE_NAME}/",)


def _rejecting(handler: grpc.RpcMethodHandler[Any, Any] | None, message: str) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same shape as `handler` that answers UNAUTHENTICATED."""

    async def deny(_request: object, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    if handler is not None and handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(deny)
    if handler is not None and handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(deny)
    if handler is not None and handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(deny)
    return grpc.unary_unary_rpc_method_handler(deny)


def bearer_token(header: str | bytes) -> bytes | None:
    """The token of an `authorization` value of the Bearer scheme, else None. The scheme name is
    case-insensitive (RFC 6750 via RFC 7235), so `bearer x` and `BEARER x` count too."""
    if isinstance(header, str):
        header = header.encode()
    scheme, _, token = header.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return token.lstrip(b" ")


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Accepts a call only with metadata `authorization: Bearer <token>`."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the bearer token must not be empty")
        self._expected = token.encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method = handler_call_details.method
        if method.startswith(_OPEN_SERVICES):
            return await continuation(handler_call_details)
        metadata = dict(handler_call_details.invocation_metadata or ())
        given = metadata.get("authorization", "")
        token = bearer_token(given)
        if token and hmac.compare_digest(token, self._expected):
            return await continuation(handler_call_details)
        if not given:
            reason = "missing 'authorization: Bearer <token>' metadata; this server requires a token"
        elif token is None:
            reason = "the authorization metadata must use the Bearer scheme: 'Bearer <token>'"
        else:
            reason = "the bearer token does not match this server's token"
        return _rejecting(await continuation(handler_call_details), reason)
