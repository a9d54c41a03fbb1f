"""Giving the C heap's free memory back to the system (glibc's malloc; elsewhere these do nothing).

Python returns the memory of freed objects to malloc, but glibc keeps it in the process: the free
space inside its heaps is handed back only when it lies at the very top, and every thread that
allocates under contention gets an arena of its own (up to 8 per core), each keeping its own free
space. A server's resident size then creeps up with the free space its threads left behind (the
event loop's, the history writer's, the pool threads'), not with anything it still holds.

Two settings of glibc's own keep that down, and neither changes what is allocated:
- `limit_arenas()`: at most ARENAS arenas, so the few threads share their free space;
- `release()`: malloc_trim(0), which returns the free pages inside every arena, not only the top;
  a fraction of a millisecond with the GIL released. The server calls it once after startup (the
  startup's temporary tables are gone by then) and the history writer after a flush, at most every
  RELEASE_EVERY_S (observability/writer.py).

Measured on the bench (bench/README.md): resident size after 20,000 requests at 32 in flight
154-155 -> 151-152 MB with the arena limit alone, and 3 MB less right after startup with one trim.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time

# mallopt's parameter number for the arena limit (malloc.h: #define M_ARENA_MAX -8).
M_ARENA_MAX = -8
ARENAS = 2
RELEASE_EVERY_S = 10.0


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)  # a CDLL call releases the GIL while it runs
    except OSError:
        return None
    # musl and the BSDs have neither function: then there is nothing of glibc's to tune.
    if not (hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt")):
        return None
    return libc


_libc = _load_libc()
_released_at = 0.0


def limit_arenas() -> None:
    """Let every thread of the process share ARENAS malloc arenas (glibc's default: 8 per core)."""
    if _libc is not None:
        _libc.mallopt(M_ARENA_MAX, ARENAS)


def release() -> None:
    """Return the free pages of every malloc arena to the system now."""
    global _released_at
    if _libc is not None:
        _libc.malloc_trim(0)
    _released_at = time.monotonic()


def release_now_and_then() -> None:
    """release(), unless it ran less than RELEASE_EVERY_S ago: for a loop that runs often."""
    if time.monotonic() - _released_at >= RELEASE_EVERY_S:
        release()
