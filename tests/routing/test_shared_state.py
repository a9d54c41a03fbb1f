"""Several OS processes sharing Redis enforce one limit and one breaker together.

Each test runs tests/routing/shared_state_worker.py in separate processes against Redis DB 5 under
a key prefix of its own, and adds up what they report. Skipped when Redis is not reachable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import redis_key_prefix
from tests.helpers import minute_start

REDIS_URL = os.environ.get("ROUTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_prefix():
    with redis_key_prefix(REDIS_URL, "test") as prefix:
        yield prefix


def run(prefix: str, mode: str, processes: int, count: int = 0, at: float | None = None) -> list[object]:
    """Start `processes` workers at once; return each one's result. `at` is the moment their
    clocks stop at; runs that must see one another's clock (a cooldown's 30 s) pass the same one."""
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,
        "DJANGO_SETTINGS_MODULE": "routerapp.settings",
        # Every worker's router clock stopped at the same moment: all of them count in one minute.
        "ROUTER_TEST_CLOCK": str(minute_start() if at is None else at),
    }
    env.pop("DATABASE_URL", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.routing.shared_state_worker", mode, str(processes), str(count)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert len({r["pid"] for r in results}) == processes
    return [r["result"] for r in results]


def reset_barrier(prefix: str) -> None:
    import redis

    keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"{prefix}:*barrier"))
    if keys:
        redis.Redis.from_url(REDIS_URL).delete(*keys)


def test_two_processes_admit_the_rpm_limit_once_not_twice(redis_prefix):
    admitted = run(redis_prefix, "rpm", 2, count=200)
    # rpm=50 for the deployment, 400 tries between two processes: unshared, each would admit 50.
    # (Which process gets how many is up to the scheduler: one may take all 50 before the other runs.)
    assert sum(admitted) == 50


def test_two_processes_admit_the_tpm_limit_once_not_twice(redis_prefix):
    admitted = run(redis_prefix, "tpm", 2, count=200)
    assert sum(admitted) * 10 == 1000  # tpm=1000, 10 tokens a request


def test_two_processes_share_a_keys_rpm(redis_prefix):
    assert sum(run(redis_prefix, "key", 2, count=100)) == 30


def test_a_cooldown_opened_by_one_process_is_honoured_by_another(redis_prefix):
    # allowed_fails=3: two failures seen by one process and one by another open the breaker.
    # One moment for all three runs: a minute that ends between them would move the clock 60 s.
    at = minute_start()
    assert run(redis_prefix, "fail", 1, count=2, at=at) == [False]
    reset_barrier(redis_prefix)
    assert run(redis_prefix, "fail", 1, count=1, at=at) == [True]
    reset_barrier(redis_prefix)
    (remaining,) = run(redis_prefix, "check", 1, at=at)
    assert remaining == 30  # nobody's clock moved


def test_after_a_cooldown_exactly_one_process_gets_the_probe(redis_prefix):
    import redis
    from django.core.cache.backends.redis import RedisCache

    shared = RedisCache(REDIS_URL, {"KEY_PREFIX": redis_prefix})
    shared.set("cb:until:9001", minute_start() - 1, timeout=60)  # a cooldown that just ended
    probes = run(redis_prefix, "probe", 2, count=50)
    assert sum(probes) == 1
    assert redis.Redis.from_url(REDIS_URL).exists(f"{redis_prefix}:1:cb:probe:9001")
