"""The time routing decisions go by: breaker cooldowns, rate-limit minutes and retry backoff.

One object, `clock`, so that tests can stop it (`stop()`): time then moves only when a test
advances it or when the router sleeps on it (a backoff), and every such sleep is noted in
`slept` instead of being waited out. Running (the default), it is wall time and asyncio.sleep.
"""

from __future__ import annotations

import asyncio
import time


class Clock:
    def __init__(self) -> None:
        self._stopped_at: float | None = None
        self.slept: list[float] = []

    def time(self) -> float:
        """Seconds since the epoch, like time.time()."""
        stopped = self._stopped_at
        return time.time() if stopped is None else stopped

    async def sleep(self, seconds: float) -> None:
        if self._stopped_at is None:
            await asyncio.sleep(seconds)
            return
        self.slept.append(seconds)
        self._stopped_at += seconds
        await asyncio.sleep(0)  # still a suspension point, as a real sleep is

    def stop(self, at: float | None = None) -> None:
        self._stopped_at = time.time() if at is None else at
        self.slept = []

    def advance(self, seconds: float) -> None:
        assert self._stopped_at is not None, "advance() needs a stopped clock"
        self._stopped_at += seconds

    def start(self) -> None:
        self._stopped_at = None
        self.slept = []


clock = Clock()
