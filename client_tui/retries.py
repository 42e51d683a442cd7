"""Bounded retries on UNAVAILABLE.

With several replicas behind a `round_robin` channel, a replica that dies fails the calls it was
serving with UNAVAILABLE; the next attempt is picked onto a live replica. gRPC's own retries stop
once a stream has sent its first message, so the render stream is retried here, from the start,
with the same seed (the client always fixes one) so the result is the same image.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import grpc

T = TypeVar("T")

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE})


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` tries, waiting `first_delay` then doubling up to `max_delay`."""

    attempts: int = 4
    first_delay: float = 0.25
    max_delay: float = 2.0
    multiplier: float = 2.0

    def delays(self) -> Iterator[float]:
        """The waits between attempts (attempts - 1 of them)."""
        delay = self.first_delay
        for _ in range(max(self.attempts - 1, 0)):
            yield delay
            delay = min(delay * self.multiplier, self.max_delay)


def retryable(error: BaseException) -> bool:
    return isinstance(error, grpc.RpcError) and getattr(error, "code", lambda: None)() in RETRYABLE


async def call_with_retry(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    on_retry: Callable[[int, grpc.RpcError], None] | None = None,
) -> T:
    """Awaits `attempt()` until it succeeds, fails with a non-retryable error, or the policy runs
    out (then the last error is raised)."""
    delays = policy.delays()
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt()
        except grpc.RpcError as error:
            if not retryable(error):
                raise
            delay = next(delays, None)
            if delay is None:
                raise
            if on_retry is not None:
                on_retry(tries, error)
            await asyncio.sleep(delay)
