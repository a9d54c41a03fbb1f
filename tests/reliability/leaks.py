"""Counting what a server process holds: open sockets, and the tasks on the live server's loop."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from tests.conftest import LiveServer

# PostgreSQL's and Redis's ports: connections to them belong to Django's per-thread database
# connections and the cache's pools, which grow with the threads a loaded process starts, up to
# their bound. What a request could leak is a connection of its own: to a client or an upstream.
STORE_PORTS = frozenset({5432, 6379})


def _store_inodes() -> set[str]:
    """Inodes of this machine's TCP sockets connected to a database or cache port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) in STORE_PORTS:
                inodes.add(fields[9])
    return inodes


def open_sockets(pid: int | str = "self") -> int:
    """Sockets among the process's open file descriptors, but those to the database and the cache."""
    stores = _store_inodes()
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed while we looked
        if link.startswith("socket:") and link[len("socket:[") : -1] not in stores:
            count += 1
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
