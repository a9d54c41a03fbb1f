"""Every routing decision is visible afterwards: skips and their reasons, attempts, overhead."""

from __future__ import annotations

import httpx

from routerapp.routing import breaker, limits
from tests.factories import create_key, create_model
from tests.helpers import HI, ask, attempts, deployment, records, routed, stream_events


def test_the_record_says_who_answered_and_why_the_others_did_not(up, upstream, live_url, stopped_clock):
    create_model(
        "m",
        [(up, "ok;n=cooling"), (up, "ok;n=full", {"rpm": 1}), (up, "err=500;n=flaky")],
        num_retries=1,
        fallbacks=["backup"],
    )
    create_model("backup", [(up, "ok;n=backup")])
    breaker.open_until(deployment("ok;n=cooling").id, stopped_clock.time() + 30)
    assert limits.reserve(routed("ok;n=full"), 1) is not None  # its one request this minute is gone
    response = ask(live_url, create_key(), "m")
    assert response.headers["x-router-deployment"] == "up/ok;n=backup"
    (record,) = records()
    assert record.deployment == deployment("ok;n=backup")
    assert record.fallback_used and record.attempts_count == 3
    assert sorted(record.skipped, key=lambda s: s["reason"]) == [
        {"deployment": deployment("ok;n=cooling").id, "reason": "cooldown"},
        {"deployment": deployment("ok;n=full").id, "reason": "rate_limited"},
    ]
    assert attempts(record) == [
        ("err=500;n=flaky", 0, "ProviderUnavailableError"),
        ("err=500;n=flaky", 1, "ProviderUnavailableError"),
        ("ok;n=backup", 0, ""),
    ]


def test_a_continued_stream_records_each_skip_once(up, upstream, live_url, stopped_clock):
    create_model(
        "m",
        [(up, "cut=2", {"weight": 1000}), (up, "ok;n=full", {"rpm": 1, "weight": 0.001})],
        fallbacks=["other"],
    )
    create_model("other", [(up, "ok;n=other")])
    assert limits.reserve(routed("ok;n=full"), 1) is not None
    _, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    assert events[-1] == "[DONE]"
    (record,) = records()
    assert record.skipped == [{"deployment": deployment("ok;n=full").id, "reason": "rate_limited"}]
    assert [a[0] for a in attempts(record)] == ["cut=2", "ok;n=other"]


def test_the_overhead_header_leaves_out_upstream_time_and_backoff(up, upstream, live_url):
    create_model("m", [(up, "err=429;retry_after=0.3")], num_retries=1, fallbacks=["slow"])
    create_model("slow", [(up, "ok;delay=200")])
    response = ask(live_url, create_key(), "m")
    assert response.status_code == 200
    overhead = float(response.headers["x-router-overhead-ms"])
    (record,) = records()
    assert abs(record.overhead_ms - overhead) < 0.01
    # What is left out is at least the 300 ms backoff plus the 200 ms upstream delay; a slower
    # (loaded) machine only adds to both sides, so no bound on the router's own time is needed.
    assert overhead >= 0 and record.latency_ms - overhead >= 300 + 200


def test_a_stream_carries_the_overhead_header_too(up, upstream, live_url):
    create_model("m", [(up, "ok;delay=300")])
    with httpx.stream(
        "POST",
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {create_key()}"},
        json={"model": "m", "messages": HI, "stream": True},
    ) as response:
        response.read()
    overhead = float(response.headers["x-router-overhead-ms"])
    (record,) = records()
    assert overhead >= 0 and record.latency_ms - overhead >= 300  # the 300 ms upstream wait left out


def test_error_responses_carry_the_overhead_header_and_record_it(up, upstream, live_url):
    create_model("m", [(up, "err=500")], num_retries=1)
    response = ask(live_url, create_key(), "m")
    assert response.status_code == 502
    overhead = float(response.headers["x-router-overhead-ms"])
    (record,) = records()
    assert abs(record.overhead_ms - overhead) < 0.01
    assert 0 <= overhead <= record.latency_ms
