"""Exit codes of `python -m client_tui` (documented in docs/client.md and `run --help`)."""

from __future__ import annotations

import enum

import grpc


class ExitCode(enum.IntEnum):
    OK = 0
    #: A bug in the client; the message says where to look (MARQUEE_DEBUG=1 prints the traceback).
    INTERNAL = 1
    #: Bad flags, unknown watched title, invalid session file, input a server rejected.
    BAD_INPUT = 2
    #: A server cannot be reached (after retries), is not ready, or did not answer in time.
    UNAVAILABLE = 3
    #: A server failed or refused for a reason that is not the input (unimplemented, crash).
    SERVER_ERROR = 4
    #: A server wants a (different) bearer token or client certificate.
    AUTH = 5
    #: The output folder or session file cannot be written.
    OUTPUT = 6
    #: A server is busy (RESOURCE_EXHAUSTED): the render queue stayed full for all of --wait.
    BUSY = 7
    #: Cancelled by Ctrl-C / SIGTERM (or the server cancelled the job).
    CANCELLED = 130


def for_status(code: grpc.StatusCode) -> ExitCode:
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return ExitCode.UNAVAILABLE
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.NOT_FOUND):
        return ExitCode.BAD_INPUT
    if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
        return ExitCode.AUTH
    if code is grpc.StatusCode.CANCELLED:
        return ExitCode.CANCELLED
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ExitCode.BUSY
    return ExitCode.SERVER_ERROR


def describe() -> str:
    """The table printed in `run --help`."""
    lines = ["exit codes:"]
    for code in ExitCode:
        doc = {
            ExitCode.OK: "done; the files are in --out",
            ExitCode.INTERNAL: "a bug in the client (set MARQUEE_DEBUG=1 for the traceback)",
            ExitCode.BAD_INPUT: "bad flags, unknown title, invalid session, or input a server rejected",
            ExitCode.UNAVAILABLE: "a server cannot be reached, is not ready, or timed out",
            ExitCode.SERVER_ERROR: "a server failed or refused (see the message)",
            ExitCode.AUTH: "a server wants a (different) --auth-token or client certificate",
            ExitCode.OUTPUT: "the output folder cannot be written",
            ExitCode.BUSY: "a server is busy (the render queue stayed full for --wait); --resume later",
            ExitCode.CANCELLED: "cancelled (Ctrl-C, SIGTERM) — the server job is cancelled too",
        }[code]
        lines.append(f"  {int(code):>3}  {doc}")
    return "\n".join(lines)
