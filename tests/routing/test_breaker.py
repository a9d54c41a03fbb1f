"""Cooldowns: the per-deployment circuit breaker, in unit tests and through the front door."""

from __future__ import annotations

import threading

import pytest

from routerapp import errors
from routerapp.providers.base import ProviderConfig
from routerapp.routing import breaker
from routerapp.routing.clock import clock
from routerapp.routing.table import DeploymentInfo, GroupInfo
from tests.factories import create_key, create_model
from tests.helpers import ask, deployment, records

PROVIDER = ProviderConfig(id=1, name="p", kind="openai")


def group_of(n: int = 2, **fields) -> GroupInfo:
    deployments = tuple(
        DeploymentInfo(id=100 + i, group="g", provider=PROVIDER, upstream_model=f"m{i}") for i in range(n)
    )
    return GroupInfo(name="g", strategy="simple-shuffle", deployments=deployments, **fields)


def fail(
    group: GroupInfo, error: errors.RouterError | None = None, *, times: int = 1, index: int = 0
) -> bool:
    opened = False
    for _ in range(times):
        breaker.record_attempt(group.deployments[index])
        opened = breaker.record_failure(
            group.deployments[index], group, error or errors.ProviderUnavailableError("x")
        )
    return opened


def skipped(group: GroupInfo) -> dict[int, float]:
    return breaker.check(group.deployments)[0]


def test_it_opens_after_allowed_fails_and_only_then():
    group = group_of(allowed_fails=3, cooldown_s=5)
    assert not fail(group, times=2)
    assert skipped(group) == {}
    assert fail(group)
    assert 4.9 < skipped(group)[100] <= 5


def succeed(group: GroupInfo, *, times: int = 1, index: int = 0) -> None:
    for _ in range(times):
        breaker.record_attempt(group.deployments[index])
        breaker.record_success(group.deployments[index])


def test_a_busy_deployment_with_a_small_failure_rate_stays_in_rotation():
    group = group_of(allowed_fails=3, allowed_fail_rate=0.5, min_requests=10)
    for _ in range(20):  # 5 % failures at any rate: 200 attempts, 10 failed, never two in a row
        succeed(group, times=9)
        assert not fail(group)
    assert skipped(group) == {}


def test_a_busy_deployment_opens_once_its_failure_rate_reaches_allowed_fail_rate():
    group = group_of(allowed_fails=3, allowed_fail_rate=0.5, min_requests=10)
    succeed(group, times=10)
    rounds = 0
    while not fail(group):  # two of every three attempts fail, never min_requests in a row
        rounds += 1
        assert rounds < 100
        succeed(group)
        assert not fail(group)
    # After n rounds, 2n + 1 failures ≥ 0.5 × (11 + 3n) attempts from n = 9 on: not before.
    assert rounds == 9 and 100 in skipped(group)


def test_allowed_fails_is_a_floor_even_when_every_attempt_failed():
    group = group_of(allowed_fails=5, min_requests=10)
    assert not fail(group, times=4)  # 4 of 4 failed, but fewer than allowed_fails
    assert fail(group)


def test_min_requests_failures_in_a_row_open_a_busy_deployment_at_once():
    group = group_of(allowed_fails=3, allowed_fail_rate=0.5, min_requests=10)
    succeed(group, times=200)  # busy and healthy, then it dies
    assert not fail(group, times=9)
    assert fail(group)


def test_a_success_breaks_the_run_of_failures():
    group = group_of(allowed_fails=3, allowed_fail_rate=0.5, min_requests=10)
    succeed(group, times=200)
    for _ in range(5):
        assert not fail(group, times=9)
        succeed(group)


def test_the_last_deployment_in_rotation_is_never_cooled_down():
    group = group_of(3, allowed_fails=1)
    assert fail(group, index=0)
    assert fail(group, index=1)
    assert not fail(group, index=2, times=20)
    assert set(skipped(group)) == {100, 101}


def test_when_every_deployment_is_cooling_anyway_one_request_probes_the_one_due_first():
    group = group_of(2)
    now = clock.time()
    breaker.open_until(100, now + 30)
    breaker.open_until(101, now + 10)
    assert breaker.check(group.deployments) == ({100: pytest.approx(30, abs=1)}, 101)
    skip, probe = breaker.check(group.deployments)  # the probe is taken: the rest are refused
    assert probe is None and set(skip) == {100, 101}


def test_a_401_opens_it_at_once():
    group = group_of(allowed_fails=3)
    assert fail(group, errors.UpstreamAuthError("bad key"))
    assert 100 in skipped(group)


def test_a_single_deployment_is_never_cooled_down():
    group = group_of(1, allowed_fails=1)
    assert not fail(group, errors.UpstreamAuthError("bad key"), times=5)
    assert breaker.cooldown_remaining(100) == 0


def test_a_retry_after_longer_than_the_cooldown_wins():
    group = group_of(allowed_fails=1, cooldown_s=1)
    fail(group, errors.RateLimitError("slow down", retry_after=30))
    assert 29 < breaker.cooldown_remaining(100) <= 30


def test_a_shorter_recooling_never_moves_the_deadline_earlier(stopped_clock):
    group = group_of(allowed_fails=1, cooldown_s=1)
    fail(group, errors.RateLimitError("slow down", retry_after=30))
    fail(group)  # would be 1 s
    assert breaker.cooldown_remaining(100) > 29
    breaker.open_until(100, stopped_clock.time() + 60)
    assert breaker.cooldown_remaining(100) == 60


def test_after_the_deadline_exactly_one_caller_gets_the_half_open_probe(stopped_clock):
    group = group_of(allowed_fails=1, cooldown_s=0.05)
    fail(group)
    stopped_clock.advance(0.08)
    probes = []
    start = threading.Barrier(20)

    def look() -> None:
        start.wait()
        probes.append(breaker.check(group.deployments)[1])

    threads = [threading.Thread(target=look) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert probes.count(100) == 1 and probes.count(None) == 19


def test_a_failed_probe_reopens_it_and_a_successful_one_closes_it(stopped_clock):
    group = group_of(allowed_fails=3, cooldown_s=0.05)
    fail(group, times=3)
    stopped_clock.advance(0.08)
    assert breaker.check(group.deployments)[1] == 100
    assert fail(group)  # one failure is enough for a probe
    assert 100 in skipped(group)
    stopped_clock.advance(0.08)
    assert breaker.check(group.deployments)[1] == 100
    breaker.record_success(group.deployments[0])
    assert skipped(group) == {}
    assert not fail(group)  # the failure count started over


def test_a_success_from_before_the_cooldown_does_not_end_it():
    group = group_of(allowed_fails=1, cooldown_s=5)
    fail(group, errors.RateLimitError("slow down", retry_after=20))
    breaker.record_success(group.deployments[0])  # a request sent earlier came back fine
    assert breaker.cooldown_remaining(100) > 19


# Through the front door.


def test_a_deployment_answering_401_is_cooled_at_once(up, upstream, live_url):
    create_model("m", [(up, "err=401"), (up, "ok")], num_retries=2, cooldown_s=60)
    key = create_key()
    for _ in range(20):
        assert ask(live_url, key, "m").status_code == 200
    assert upstream.hits["err=401"] == 1  # never retried, never tried again


def test_a_single_deployment_model_keeps_trying_its_only_deployment(up, upstream, live_url):
    create_model("m", [(up, "err=500")], num_retries=0, allowed_fails=1)
    key = create_key()
    for _ in range(6):
        response = ask(live_url, key, "m")
        assert response.status_code == 502, response.text  # the upstream's error, never "cooling down"
    assert upstream.hits["err=500"] == 6
    assert all(r.skipped == [] for r in records())


def test_a_long_retry_after_keeps_the_deployment_cooled_past_cooldown_s(up, upstream, live_url):
    create_model("m", [(up, "err=429;retry_after=20"), (up, "ok")], cooldown_s=1, allowed_fails=1)
    key = create_key()
    while not upstream.hits["err=429;retry_after=20"]:
        assert ask(live_url, key, "m").status_code == 200
    assert breaker.cooldown_remaining(deployment("err=429;retry_after=20").id) > 18


def test_after_the_cooldown_exactly_one_request_probes_the_deployment(up, upstream, live_url, stopped_clock):
    create_model(
        "m", [(up, "err=500"), (up, "ok")], cooldown_s=0.3, allowed_fails=1, num_retries=0, timeout_s=1
    )
    key = create_key()
    while not upstream.hits["err=500"]:
        assert ask(live_url, key, "m").status_code == 200
    # Still down, and now slow about it: the probe stays in flight while the burst arrives.
    probed = deployment("err=500")
    probed.upstream_model = "hang"
    probed.save()
    stopped_clock.advance(0.35)
    statuses = []
    threads = [
        threading.Thread(target=lambda: statuses.append(ask(live_url, key, "m").status_code))
        for _ in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 10  # the probing request too, from the other deployment after its timeout
    assert upstream.hits["hang"] == 1
    assert breaker.cooldown_remaining(probed.id) > 0  # the failed probe reopened it


def test_a_successful_probe_puts_the_deployment_back_in_rotation(up, upstream, live_url, stopped_clock):
    create_model("m", [(up, "err=500"), (up, "ok")], cooldown_s=0.3, allowed_fails=1, num_retries=0)
    key = create_key()
    while not upstream.hits["err=500"]:
        assert ask(live_url, key, "m").status_code == 200
    recovered = deployment("err=500")
    recovered.upstream_model = "ok;n=recovered"
    recovered.save()
    stopped_clock.advance(0.35)
    # The request that wins the probe tries the recovering deployment first.
    assert ask(live_url, key, "m").headers["x-router-deployment"] == "up/ok;n=recovered"
    assert breaker.cooldown_remaining(recovered.id) == 0
    for _ in range(30):
        ask(live_url, key, "m")
    assert upstream.hits["ok;n=recovered"] > 5


def test_failures_straddling_a_minute_boundary_still_open_the_breaker(stopped_clock):
    group = group_of(allowed_fails=3)
    # Two failures in the last second of one minute...
    stopped_clock.stop(at=1000 * 60 + 59.5)
    assert not fail(group, times=2)
    # ...and one in the first second of the next: three within a minute.
    stopped_clock.advance(1.0)
    assert fail(group)
    assert group.deployments[0].id in skipped(group)


def test_failures_a_minute_apart_do_not_add_up(stopped_clock):
    group = group_of(allowed_fails=3)
    stopped_clock.stop(at=1000 * 60 + 1.0)  # early in a minute
    assert not fail(group, times=2)
    stopped_clock.advance(118.0)  # late in the next one
    assert not fail(group)
