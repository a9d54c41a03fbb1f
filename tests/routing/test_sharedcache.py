"""The local-memory cache keeps integers unpickled: it must still read back what Django's would."""

from __future__ import annotations

import time

import pytest

from routerapp.sharedcache import LocalMemoryCache


@pytest.fixture
def cache() -> LocalMemoryCache:
    backend = LocalMemoryCache("test-sharedcache", {})
    backend.clear()
    return backend


def test_every_kind_of_value_reads_back_as_stored(cache):
    values = {"int": 7, "bool": True, "float": 1.5, "dict": {"a": [1, 2]}, "str": "x", "big": 2**70}
    for name, value in values.items():
        cache.set(name, value)
    got = cache.get_many(list(values))
    assert got == values
    assert type(got["bool"]) is bool  # a bool is not stored as an int
    got["dict"]["a"].append(3)  # a mutable value is a copy, as Django's pickling gives
    assert cache.get("dict") == {"a": [1, 2]}


def test_counters_count_and_keep_their_type(cache):
    assert cache.add("n", 5, timeout=60)
    assert not cache.add("n", 1)
    assert cache.incr("n", 2) == 7
    assert cache.decr("n") == 6
    assert cache.get("n") == 6
    cache.set("f", 0.5)
    assert cache.incr("f") == 1.5 and cache.get("f") == 1.5
    with pytest.raises(ValueError):
        cache.incr("missing")
    assert cache.get("missing", "default") == "default"


def test_an_expired_counter_is_gone(cache, monkeypatch):
    now = time.time()
    cache.add("n", 1, timeout=10)
    monkeypatch.setattr("time.time", lambda: now + 11)
    assert cache.get("n") is None
    with pytest.raises(ValueError):
        cache.incr("n")
    assert cache.add("n", 3, timeout=10) and cache.get("n") == 3
