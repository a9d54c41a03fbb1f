"""routerapp.heap: freed C-heap memory goes back to the system when asked, not before."""

from __future__ import annotations

import pytest

from routerapp import heap

pytestmark = pytest.mark.skipif(heap._libc is None, reason="not glibc's malloc")


def resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_release_returns_the_free_pages_below_a_live_block():
    """Blocks above pymalloc's 512 bytes come from malloc; with the last one still held, the free
    space under it is not at the top of the heap, so free() alone keeps it resident."""
    heap.limit_arenas()  # only caps arenas to come; allocating still works as before
    blocks = [bytes(2000) for _ in range(30_000)]  # ~60 MB
    last = blocks[-1]
    del blocks[:-1]
    before = resident_mb()
    heap.release()
    after = resident_mb()
    assert len(last) == 2000
    assert before - after > 30, (before, after)


def test_release_now_and_then_waits_out_its_interval(monkeypatch):
    calls = []
    heap.release()
    monkeypatch.setattr(heap, "release", lambda: calls.append(1))
    heap.release_now_and_then()
    assert calls == []  # released a moment ago
    monkeypatch.setattr(heap, "_released_at", 0.0)
    heap.release_now_and_then()
    assert calls == [1]
