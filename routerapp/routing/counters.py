"""Atomic counters in the shared cache: what lets several server processes agree on limits.

Django's cache `incr` is atomic on Redis (INCRBY) and on the local-memory cache (under its lock).
The calls are sync on purpose: Django's async cache methods run the sync ones in a thread, which
costs more than the call itself.
"""

from __future__ import annotations

import contextlib

from routerapp.routing.clock import clock
from routerapp.sharedcache import cache


def incr(key: str, delta: int = 1, *, ttl: float | None = 120) -> int:
    """Add `delta` to a counter, creating it with a TTL (None: none) when missing; return the new value."""
    try:
        return cache().incr(key, delta)
    except ValueError:
        if cache().add(key, delta, timeout=ttl):
            return delta
        return cache().incr(key, delta)


def decr(key: str, delta: int = 1) -> None:
    with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give back
        cache().decr(key, delta)


def minute_window(now: float | None = None) -> tuple[int, float]:
    """The current one-minute window and the seconds left in it."""
    now = clock.time() if now is None else now
    window = int(now // 60)
    return window, (window + 1) * 60 - now
