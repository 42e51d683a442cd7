"""gRPC failures turned into what an operator reads: which server, what happened, what to do.

The console shows `ServerError.advice` as a notification; the CLI prints it and exits with the
code `client_tui.exit_codes.for_status` gives. Messages never carry the bearer token (it lives
only in call credentials and metadata, which are never formatted here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc

from client_tui.connections import ENV_VARS

_SSL_HINTS = ("ssl", "handshake", "certificate", "tls")


class ServerError(Exception):
    """A call to one of the servers failed."""

    def __init__(self, server: str, method: str, code: grpc.StatusCode, details: str, advice: str) -> None:
        super().__init__(f"{server}.{method}: {code.name}: {details}")
        self.server = server
        self.method = method
        self.code = code
        self.details = details
        self.advice = advice

    def __str__(self) -> str:
        return self.advice


def advice_for(server: str, method: str, code: grpc.StatusCode, details: str, addresses: Sequence[str] = ()) -> str:
    where = ", ".join(addresses) if addresses else "its address"
    flag = f"--{server} / {ENV_VARS.get(server, 'MARQUEE_*_ADDR')}"
    details = details.strip() or code.name.lower()
    if code is grpc.StatusCode.UNAVAILABLE:
        lowered = details.lower()
        if any(hint in lowered for hint in _SSL_HINTS):
            return (
                f"The {server} server at {where} refused the TLS connection ({details}). Check "
                f"--tls-ca-file, --tls-cert-file/--tls-key-file and --tls-server-name."
            )
        if "not ready" in lowered or "loading" in lowered or "shutting down" in lowered:
            return f"The {server} server is not ready: {details}. Wait until it is SERVING, then retry."
        return (
            f"Cannot reach the {server} server at {where} ({details}). Start it (`make demo` starts all "
            f"three) or point {flag} at a running one, then retry."
        )
    if code is grpc.StatusCode.UNAUTHENTICATED:
        return f"The {server} server wants a token: {details}. Pass it with --auth-token or MARQUEE_AUTH_TOKEN."
    if code is grpc.StatusCode.PERMISSION_DENIED:
        return f"The {server} server refused {method}: {details}. Check your credentials."
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.NOT_FOUND):
        return f"The {server} server rejected the input: {details}. Fix it and retry."
    if code is grpc.StatusCode.FAILED_PRECONDITION:
        return f"The {server} server cannot do {method} now: {details}."
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return f"The {server} server is busy ({details}). Retry in a moment."
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"The {server} server did not answer {method} in time ({details}). Retry, or check the server's log."
    if code is grpc.StatusCode.UNIMPLEMENTED:
        return (
            f"The {server} server at {where} does not implement {method} ({details}). It is an older "
            f"or unfinished build: update it."
        )
    if code is grpc.StatusCode.CANCELLED:
        return f"{method} was cancelled."
    return f"The {server} server failed in {method} ({code.name}: {details}). Check its log and retry."


def explain(
    server: str, method: str, error: grpc.RpcError, addresses: Mapping[str, Sequence[str]] | None = None
) -> ServerError:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = (error.details() if hasattr(error, "details") else "") or ""
    if code is None:
        code = grpc.StatusCode.UNKNOWN
    advice = advice_for(server, method, code, details, (addresses or {}).get(server, ()))
    return ServerError(server, method, code, details, advice)
