"""Whether this process can serve: what a load balancer's readiness probe asks (/health/readiness).

Each check is the cheapest call that proves its part works: one `SELECT 1`, one cache write read
back, and the routing table (the loaded config) this process routes with.
"""

from __future__ import annotations

import uuid

from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import close_old_connections, connection

from routerapp.routing.table import tables

CACHE_PROBE_KEY = "readiness-probe"


def _database_answers() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        close_old_connections()  # a pool thread no request cycle cleans up after


async def problems() -> dict[str, str]:
    """What is not ready, by part ("database", "cache", "config"); empty when all is."""
    found: dict[str, str] = {}
    try:
        await sync_to_async(_database_answers, thread_sensitive=False)()
    except Exception as exc:
        found["database"] = f"unreachable: {type(exc).__name__}"
    try:
        token = uuid.uuid4().hex
        await cache.aset(CACHE_PROBE_KEY, token, timeout=10)
        if await cache.aget(CACHE_PROBE_KEY) != token:
            found["cache"] = "a value written was not read back"
    except Exception as exc:
        found["cache"] = f"unreachable: {type(exc).__name__}"
    if "database" not in found:  # the config is read from the database: one cause, one reason
        try:
            await tables.get()
        except Exception as exc:
            found["config"] = f"not loaded: {type(exc).__name__}"
    return found
