"""Retries with backoff, timeouts, and the router under injected upstream faults."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import openai
import pytest

from routerapp.models import Attempt
from routerapp.routing import breaker
from routerapp.routing.fallback import backoff_delay
from tests.factories import create_key, create_model, create_provider
from tests.helpers import HI, ask, attempt_latencies, attempts, deployment, records


def burst(live_url: str, key: str, model: str, n: int, *, concurrency: int = 8, **extra) -> Counter[int]:
    """Send `n` requests at bounded concurrency; count the response statuses."""

    async def main() -> Counter[int]:
        statuses: Counter[int] = Counter()
        gate = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=live_url, headers={"authorization": f"Bearer {key}"}, timeout=30, limits=limits
        ) as client:

            async def one() -> None:
                async with gate:
                    response = await client.post(
                        "/v1/chat/completions", json={"model": model, "messages": HI, **extra}
                    )
                    statuses[response.status_code] += 1

            await asyncio.gather(*(one() for _ in range(n)))
        return statuses

    return asyncio.run(main())


def test_it_retries_the_same_deployment_num_retries_times(up, upstream, client_for):
    create_model("m", [(up, "err=500")], num_retries=2)
    client = client_for(create_key())
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="m", messages=HI)
    assert info.value.status_code == 502
    assert upstream.hits["err=500"] == 3
    (record,) = records()
    assert attempts(record) == [("err=500", r, "ProviderUnavailableError") for r in range(3)]
    assert record.attempts_count == 3


def test_num_retries_and_timeout_can_be_set_per_request(up, upstream, client_for):
    create_model("m", [(up, "err=500")], num_retries=3)
    create_model("slow", [(up, "hang")], num_retries=3)
    client = client_for(create_key())
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=HI, extra_body={"num_retries": 0})
    assert upstream.hits["err=500"] == 1
    # The model's own timeout is the provider's 60 s, past the SDK client's: a 504 from the router
    # (not a client-side timeout) shows the request's 1 s applied; no stopwatch in the test.
    with pytest.raises(openai.APIStatusError) as info:
        client.with_options(timeout=20).chat.completions.create(
            model="slow", messages=HI, extra_body={"num_retries": 0, "timeout": 1}
        )
    assert info.value.status_code == 504 and info.value.body["type"] == "timeout_error"
    assert upstream.hits["hang"] == 1
    (hung,) = records(model="slow")
    # The 1 s bounds the whole request (its deadline counts from arrival), so the request, not its
    # one attempt (which began after the routing work), waited out its second, not cut short.
    assert hung.latency_ms >= 1000 * 0.95
    assert attempts(hung) == [("hang", 0, "DeadlineExceededError")]


def test_the_model_timeout_bounds_each_attempt(up, upstream, live_url):
    create_model("slow", [(up, "hang")], timeout_s=0.3, num_retries=1)
    response = ask(live_url, create_key(), "slow")  # a 30 s client: only the 0.3 s can end this in a 504
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "timeout_error"
    assert upstream.hits["hang"] == 2
    (record,) = records()
    assert min(attempt_latencies(record)) >= 300 * 0.95  # both ran their 0.3 s, no less


def test_a_refused_connection_falls_back_at_once(up, upstream, live_url, stopped_clock):
    down = create_provider(name="down", base_url="http://127.0.0.1:9/v1")  # nothing listens there
    create_model("m", [(down, "ok")], num_retries=1, fallbacks=["other"])
    create_model("other", [(up, "ok")])
    response = ask(live_url, create_key(), "m")
    assert response.status_code == 200 and response.headers["x-router-deployment"] == "up/ok"
    (record,) = records()
    assert attempts(record) == [
        ("ok", 0, "ProviderUnavailableError"),
        ("ok", 1, "ProviderUnavailableError"),
        ("ok", 0, ""),
    ]


def test_a_short_retry_after_is_waited_for_before_retrying(up, upstream, live_url, stopped_clock):
    create_model("m", [(up, "err=429;retry_after=0.3")], num_retries=1)
    response = ask(live_url, create_key(), "m")
    assert stopped_clock.slept == [0.3]
    assert upstream.hits["err=429;retry_after=0.3"] == 2
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit_error"
    assert response.headers["retry-after"] == "1"


def test_a_long_retry_after_moves_on_to_the_next_deployment_at_once(up, upstream, live_url, stopped_clock):
    create_model("m", [(up, "err=429;retry_after=30")], num_retries=3, fallbacks=["other"])
    create_model("other", [(up, "ok")])
    assert ask(live_url, create_key(), "m").status_code == 200
    assert stopped_clock.slept == []  # no waiting for the 30 s
    assert upstream.hits == {"err=429;retry_after=30": 1, "ok": 1}


def test_backoff_grows_by_a_factor_of_two_up_to_the_cap_with_jitter(settings):
    settings.ROUTER["BACKOFF_BASE_S"], settings.ROUTER["BACKOFF_MAX_S"] = 0.1, 1.0
    for retry, (low, high) in enumerate(
        [(0.05, 0.1), (0.1, 0.2), (0.2, 0.4), (0.4, 0.8), (0.5, 1.0), (0.5, 1.0)]
    ):
        delays = [backoff_delay(retry) for _ in range(300)]
        assert low <= min(delays) and max(delays) <= high
        assert max(delays) - min(delays) > (high - low) / 2  # jittered, not in step
    assert backoff_delay(0, retry_after=3) == 3


def test_retries_wait_out_the_backoff(up, upstream, live_url, settings, stopped_clock):
    settings.ROUTER["BACKOFF_BASE_S"], settings.ROUTER["BACKOFF_MAX_S"] = 0.05, 0.2
    create_model("m", [(up, "err=500")], num_retries=3)
    ask(live_url, create_key(), "m")
    assert upstream.hits["err=500"] == 4
    # 25–50 ms, 50–100 ms, then 100–200 ms (the cap): slept on the router's clock, not measured.
    assert len(stopped_clock.slept) == 3
    for slept, (low, high) in zip(stopped_clock.slept, [(0.025, 0.05), (0.05, 0.1), (0.1, 0.2)], strict=True):
        assert low <= slept <= high, stopped_clock.slept


def test_faults_of_every_kind_never_reach_the_client_while_a_deployment_is_healthy(up, upstream, live_url):
    create_model(
        "m",
        [
            (up, "ok;n=healthy"),
            (up, "fail=0.3;as=429;seed=1"),
            (up, "fail=0.3;as=500;seed=2"),
            (up, "fail=0.3;as=hang;seed=3"),
            (up, "fail=0.3;as=reset;seed=4"),
            (up, "fail=0.3;as=malformed;seed=5"),
            (up, "die_after=10;as=reset"),
        ],
        timeout_s=0.3,
        # Longer than the burst can take on a loaded machine, so the dying one is still cooling at the end.
        cooldown_s=600,
    )
    statuses = burst(live_url, create_key(), "m", 300, concurrency=10)
    assert statuses == {200: 300}
    seen = set(Attempt.objects.exclude(error_type="").values_list("error_type", flat=True))
    assert seen == {"RateLimitError", "ProviderUnavailableError", "UpstreamTimeoutError"}
    # The deployment that died mid-run answered its first ten, then was cooled down.
    dying = deployment("die_after=10;as=reset")
    assert breaker.cooldown_remaining(dying.id) > 0
    assert upstream.hits["die_after=10;as=reset"] <= 10 + 10 + 10


def test_one_dead_deployment_of_three_costs_no_client_a_failure(up, upstream, live_url, stopped_clock):
    create_model("m", [(up, "ok;n=1"), (up, "ok;n=2"), (up, "err=500")], cooldown_s=60)
    statuses = burst(live_url, create_key(), "m", 500, concurrency=16)
    assert statuses == {200: 500}
    # Cooled down after min_requests (10) failures in a row, for the whole run: only requests
    # already in flight reached it after that.
    assert upstream.hits["err=500"] <= 10 + 16
    assert upstream.hits["ok;n=1"] + upstream.hits["ok;n=2"] == 500
    # cooldown_s, opened once: the clock moved only by the backoff the retries slept.
    remaining = breaker.cooldown_remaining(deployment("err=500").id)
    assert 60 - sum(stopped_clock.slept) <= remaining <= 60
    dead = deployment("err=500").id
    cooled = [r for r in records() if {"deployment": dead, "reason": "cooldown"} in r.skipped]
    assert len(cooled) > 450


@pytest.mark.parametrize(
    ("fault", "status", "error_type"),
    [("err=500", 502, "api_error"), ("err=429", 429, "rate_limit_error"), ("hang", 504, "timeout_error")],
)
def test_when_every_deployment_fails_clients_get_the_upstream_error_and_attempts_stay_bounded(
    up, upstream, live_url, fault, status, error_type
):
    create_model("m", [(up, f"{fault};n={i}") for i in range(3)], timeout_s=0.2, num_retries=2, cooldown_s=60)
    key = create_key()
    first = ask(live_url, key, "m")
    assert first.status_code == status and first.json()["error"]["type"] == error_type
    statuses = burst(live_url, key, "m", 10, concurrency=5)
    # Two deployments cooled after allowed_fails (3) failures; the last one in rotation never is,
    # so every request tries it (not a "cooling down" 503 untried) and gets the upstream's error.
    assert statuses == {status: 10}
    names = [f"{fault};n={i}" for i in range(3)]
    cooled = [n for n in names if breaker.cooldown_remaining(deployment(n).id) > 50]
    assert len(cooled) == 2
    assert all(upstream.hits[n] == 3 for n in cooled)  # only the first request's tries
    (last,) = set(names) - set(cooled)
    assert upstream.hits[last] == 3 * 11
