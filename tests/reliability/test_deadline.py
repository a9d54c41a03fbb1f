"""One deadline per request, retries, backoff and fallbacks included; the 504 comes when it passes."""

from __future__ import annotations

from django.conf import settings

from routerapp.routing import breaker
from tests.factories import create_key, create_model, create_provider
from tests.helpers import ask, attempts, deployment, records


def test_a_client_timeout_bounds_the_whole_request_across_hanging_deployments(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url, timeout_s=60)
    other = create_provider(name="up2", base_url=upstream.base_url, timeout_s=60)
    create_model("m", [(provider, "hang"), (other, "hang;n=2")], num_retries=2, allowed_fails=1)
    # Without one deadline this waits 2 deployments × 3 tries × 60 s; the client gives up at 20 s.
    response = ask(live_url, create_key(), "m", timeout=0.5)
    assert response.status_code == 504, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("timeout_error", "timeout")
    assert "deadline of 0.5s" in error["message"]
    (record,) = records()
    assert record.error_type == "DeadlineExceededError" and record.http_status == 504
    # One attempt, cut at the deadline: not the deployment's fault, so nothing is cooled.
    ((name, retry, error_type),) = attempts(record)
    assert retry == 0 and error_type == "DeadlineExceededError"
    assert breaker.cooldown_remaining(deployment("hang").id) == 0
    assert breaker.cooldown_remaining(deployment("hang;n=2").id) == 0


def test_the_default_deadline_applies_when_the_client_sets_none(upstream, live_url):
    settings.ROUTER["REQUEST_DEADLINE_S"] = 0.5
    try:
        provider = create_provider(name="up", base_url=upstream.base_url, timeout_s=60)
        create_model("m", [(provider, "hang"), (provider, "hang;n=2")])
        response = ask(live_url, create_key(), "m")
    finally:
        settings.ROUTER["REQUEST_DEADLINE_S"] = 120.0
    assert response.status_code == 504, response.text
    assert records()[0].error_type == "DeadlineExceededError"


def test_a_deployment_timing_out_on_its_own_timeout_falls_back_within_the_deadline(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model(
        "m", [(provider, "hang"), (provider, "ok")], timeout_s=0.2, num_retries=0, strategy="simple-shuffle"
    )
    key = create_key()
    for _ in range(4):
        response = ask(live_url, key, "m", timeout=10)
        assert response.status_code == 200, response.text
    timed_out = [a for r in records() for a in attempts(r) if a[2]]
    assert all(error == "UpstreamTimeoutError" for _, _, error in timed_out)  # its own timeout: its fault


def test_a_stream_that_never_sends_its_first_token_ends_at_the_deadline(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model("m", [(provider, "stall_first"), (provider, "stall_first;n=2")], num_retries=1)
    response = ask(live_url, create_key(), "m", stream=True, timeout=0.5)
    assert response.status_code == 504, response.text
    assert records()[0].error_type == "DeadlineExceededError"
