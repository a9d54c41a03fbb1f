"""The cache server processes share (Redis when REDIS_URL is set, else local memory), as the
request path reaches it.

route() makes a dozen or more cache calls per request (key rpm and tpm, budget, the breaker's
counters, deployment limits, latency), and two of Django's defaults each cost more than a
local-memory call itself:

- `django.core.cache.cache` is a proxy: every attribute access looks the backend up in a
  context-local registry (~2 µs);
- every backend checks every key against memcached's rules, a loop over its characters that can
  only warn (~3 µs). Neither Redis nor the local-memory cache has those rules, and our keys are
  short ASCII strings we build ourselves.

So settings name the two backends below, which skip the check, and `cache()` returns the
process's one backend object rather than the proxy's lookup. Both backends are safe to share
between threads: the local one locks around its dict (and every instance of it reads the same
dict), Redis's client pools its connections and resets the pool in a forked child.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.signals import setting_changed
from django.dispatch import receiver


class _UncheckedKeys:
    def make_and_validate_key(self, key, version=None):
        return self.make_key(key, version=version)  # type: ignore[attr-defined]

    def validate_key(self, key) -> None:
        pass


class LocalMemoryCache(_UncheckedKeys, LocMemCache):
    """Django's local-memory cache without the memcached key check, and with integers unpickled.

    Most of route()'s calls are counters (incr, add, get of an int). LocMemCache pickles every
    value it stores, so each incr was a pickle.loads and a pickle.dumps under the lock; an int is
    immutable, so it is stored as it is (a pickled value is bytes, never an int: the two cannot be
    confused). Every other value is pickled as Django does it.
    """

    # LocMemCache's own state and helpers, which django-stubs does not declare.
    _cache: OrderedDict[str, Any]
    _lock: threading.Lock
    _has_expired: Callable[[str], bool]
    _set: Callable[..., None]
    _delete: Callable[[str], bool]

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        if type(value) is not int:
            return super().add(key, value, timeout, version)
        key = self.make_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._set(key, value, timeout)
                return True
            return False

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        if type(value) is not int:
            return super().set(key, value, timeout, version)
        key = self.make_key(key, version=version)
        with self._lock:
            self._set(key, value, timeout)

    def get(self, key, default=None, version=None):
        key = self.make_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                return default
            stored = self._cache[key]
            self._cache.move_to_end(key, last=False)
        return stored if type(stored) is int else pickle.loads(stored)

    def incr(self, key, delta=1, version=None):
        key = self.make_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                raise ValueError(f"Key '{key}' not found")
            stored = self._cache[key]
            value = (stored if type(stored) is int else pickle.loads(stored)) + delta
            self._cache[key] = value if type(value) is int else pickle.dumps(value, self.pickle_protocol)
            self._cache.move_to_end(key, last=False)
        return value


class RedisCache(_UncheckedKeys, DjangoRedisCache):
    """Django's Redis cache without the memcached key check."""


_backend: BaseCache | None = None


def cache() -> BaseCache:
    """The default cache's backend, one object per process."""
    global _backend
    if _backend is None:
        _backend = caches.create_connection(DEFAULT_CACHE_ALIAS)
    return _backend


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs) -> None:
    global _backend
    if setting == "CACHES":
        _backend = None
