"""The retry hint on a RESOURCE_EXHAUSTED answer: the server's estimate, in whole seconds, of when
a retry may find room. The render server sets it when its queue is full; the client's gateway
reads it to wait instead of failing. One key and one reading rule, for both sides."""

from __future__ import annotations

from collections.abc import Iterable

RETRY_AFTER_KEY = "retry-after-seconds"


def retry_after_metadata(seconds: int) -> tuple[tuple[str, str]]:
    """Trailing metadata carrying the hint."""
    return ((RETRY_AFTER_KEY, str(seconds)),)


def retry_after_seconds(metadata: Iterable[tuple[str, str | bytes]] | None) -> float | None:
    """The hint in (key, value) metadata; None when it is missing, not a number or negative."""
    for key, value in metadata or ():
        if key == RETRY_AFTER_KEY:
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return None
            return seconds if seconds >= 0 else None
    return None
