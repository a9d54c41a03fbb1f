"""Rate limits: deployment rpm/tpm (skip, then 429), key rpm, and what a reservation leaves behind."""

from __future__ import annotations

import openai
import pytest

from routerapp.providers.base import ProviderConfig
from routerapp.routing import limits
from routerapp.routing.table import DeploymentInfo
from routerapp.schema import DeploymentSettings
from tests.factories import create_key, create_model
from tests.helpers import ask, deployment, records, routed

# Every test here counts within one minute window.
pytestmark = pytest.mark.usefixtures("stopped_clock")


def info(**fields) -> DeploymentInfo:
    provider = ProviderConfig(id=1, name="p", kind="openai")
    return DeploymentInfo(
        id=7, group="g", provider=provider, upstream_model="m", settings=DeploymentSettings(**fields)
    )


def test_a_deployment_at_its_rpm_is_skipped_for_the_next_one(up, upstream, live_url):
    # The weights make "a" the first choice every time, until it is full.
    create_model(
        "m", [(up, "ok;n=a", {"rpm": 2, "weight": 1000}), (up, "ok;n=b", {"rpm": 3, "weight": 0.001})]
    )
    key = create_key()
    for _ in range(5):
        assert ask(live_url, key, "m").status_code == 200
    assert upstream.hits == {"ok;n=a": 2, "ok;n=b": 3}
    a = deployment("ok;n=a").id
    assert [r.skipped for r in records()] == [[], [], *[[{"deployment": a, "reason": "rate_limited"}]] * 3]


def test_when_every_deployment_is_at_its_limit_the_client_gets_429_with_retry_after(up, upstream, live_url):
    create_model("m", [(up, "ok;n=a", {"rpm": 1}), (up, "ok;n=b", {"rpm": 1})])
    key = create_key()
    assert ask(live_url, key, "m").status_code == 200
    assert ask(live_url, key, "m").status_code == 200
    response = ask(live_url, key, "m")
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit_error"
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert sum(upstream.hits.values()) == 2
    last = records()[-1]
    assert (last.status, last.error_type) == ("error", "RateLimitError")
    assert sorted(s["deployment"] for s in last.skipped) == sorted(
        [deployment("ok;n=a").id, deployment("ok;n=b").id]
    )


def test_a_deployment_without_token_headroom_is_skipped(up, upstream, live_url):
    # The weights make "small" the first choice every time it has room.
    create_model(
        "m",
        [
            (up, "ok;n=small", {"tpm": 50, "weight": 1000}),
            (up, "ok;n=big", {"tpm": 100_000, "weight": 0.001}),
        ],
    )
    key = create_key()
    for _ in range(3):
        assert ask(live_url, key, "m", max_tokens=60).status_code == 200  # reserves ~67 tokens: never fits
    assert upstream.hits == {"ok;n=big": 3}
    small = deployment("ok;n=small").id
    assert [r.skipped for r in records()] == [[{"deployment": small, "reason": "rate_limited"}]] * 3
    for _ in range(3):
        ask(live_url, key, "m", max_tokens=5)  # reserves ~12, settled to the ~14 really used
    assert upstream.hits["ok;n=small"] == 3


def test_tokens_are_settled_to_the_real_usage(up, upstream, live_url):
    create_model("m", [(up, "ok", {"tpm": 10_000})])
    ask(live_url, create_key(), "m", max_tokens=500)  # reserves ~507 tokens up front
    (record,) = records()
    used = record.prompt_tokens + record.completion_tokens
    assert 0 < used < 100
    # No rpm limit on this deployment, so no request counter either.
    assert limits.usage_this_minute([routed("ok")])[routed("ok").id] == (0, used)


def test_failed_attempts_count_as_requests_but_give_their_tokens_back(up, upstream, live_url):
    create_model("m", [(up, "err=500", {"rpm": 100, "tpm": 10_000})], num_retries=2, fallbacks=["other"])
    create_model("other", [(up, "ok")])
    assert ask(live_url, create_key(), "m", max_tokens=500).status_code == 200
    # Three upstream calls were made (the limit is the upstream's), none of them used tokens.
    assert limits.usage_this_minute([routed("err=500")])[routed("err=500").id] == (3, 0)


def test_a_key_over_its_rpm_gets_429_with_retry_after_and_no_upstream_call(up, upstream, client_for):
    create_model("m", [(up, "ok")])
    key = create_key(rpm_limit=2)
    client = client_for(key)
    for _ in range(2):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.RateLimitError) as info_:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    response = info_.value.response
    assert int(response.headers["retry-after"]) >= 1
    assert "2 requests per minute" in info_.value.message
    assert upstream.hits["ok"] == 2
    assert records()[-1].error_type == "KeyRateLimitError"


# The primitives.


def test_reserve_admits_exactly_the_limit_and_gives_back_what_it_refuses():
    d = info(rpm=3, tpm=100)
    admitted = [limits.reserve(d, 30) for _ in range(5)]
    assert [r is not None for r in admitted] == [True, True, True, False, False]
    assert limits.usage_this_minute([d])[7] == (3, 90)
    limits.settle(d, admitted[0], 10)
    assert limits.usage_this_minute([d])[7] == (3, 70)


def test_a_token_refusal_does_not_use_up_a_request():
    d = info(rpm=10, tpm=100)
    assert limits.reserve(d, 80) is not None
    assert limits.reserve(d, 30) is None
    assert limits.usage_this_minute([d])[7] == (1, 80)
    assert limits.reserve(d, 20) is not None


def test_headroom_is_the_tighter_of_rpm_and_tpm():
    d = info(rpm=10, tpm=1000)
    assert limits.headroom(d, (5, 100)) == 0.5
    assert limits.headroom(d, (1, 900)) == pytest.approx(0.1)
    assert limits.headroom(info(), (500, 10**6)) == 1.0


def test_a_keys_own_rate_limit_is_a_client_error_and_every_deployment_at_its_limit_is_not():
    from routerapp.errors import is_client_error

    assert is_client_error("KeyRateLimitError")
    assert not is_client_error("RateLimitError")  # every deployment at its limit, or an upstream's 429
