"""Counting what a server process holds: open sockets, and the tasks on the live server's loop."""

from __future__ import annotations

import asyncio
import os
import time

from tests.conftest import LiveServer


def open_sockets(pid: int | str = "self") -> int:
    """Sockets among the process's open file descriptors."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass  # closed while we looked
    return count


def live_tasks() -> int:
    """Tasks alive on the live server's event loop, counted from inside it."""
    server = LiveServer.running
    assert server is not None, "the live server is not running"

    async def count() -> int:
        return len(asyncio.all_tasks()) - 1  # not this one

    return asyncio.run_coroutine_threadsafe(count(), server.loop).result(5)


def settled(measure, at_most: int, timeout: float = 10.0) -> int:
    """`measure()` once it has come down to `at_most` (connections close asynchronously), or the
    last value when it would not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    value = measure()
    while value > at_most and time.monotonic() < deadline:
        time.sleep(0.05)
        value = measure()
    return value
