"""The read side's interfaces: GET /metrics, GET /api/stats and /api/errors, `manage.py stats`."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import httpx
import openai
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from routerapp.models import ApiKey
from routerapp.observability.drafts import AttemptDraft
from routerapp.observability.writer import write_batch
from tests.factories import create_key, create_model, create_provider, record_draft
from tests.helpers import flush_history


@pytest.fixture
def traffic(transactional_db):
    # Committed: the authenticator reads keys through the routing table, loaded in a pool thread.
    provider = create_provider(name="sim", kind="simulated")
    group = create_model("fast", [(provider, "small")])
    create_model("smart", [(provider, "large")])
    deployment = group.deployments.get()
    mine, raw = ApiKey.create_key("mine")
    other, _ = ApiKey.create_key("other")
    now = timezone.now()
    drafts = [
        record_draft(
            model="fast" if i % 3 else "smart",
            deployment_id=deployment.id,
            api_key_id=mine.id if i < 10 else other.id,
            latency_ms=100 + i,
            cost_usd=0.01,
            prompt_tokens=10,
            completion_tokens=5,
            created_at=now - timedelta(seconds=i),
        )
        for i in range(30)
    ]
    drafts.append(
        record_draft(
            model="fast",
            api_key_id=other.id,
            status="error",
            error_type="ProviderUnavailableError",
            error_message="HTTP 503",
            attempts=[
                AttemptDraft(deployment.id, 0, "error", 0, 3, 503, "ProviderUnavailableError", "HTTP 503")
            ],
            created_at=now,
        )
    )
    write_batch(drafts)
    return {"key": raw, "drafts": drafts}


# /api/stats and /api/errors


def test_staff_sessions_get_grouped_statistics_with_series(client, traffic):
    client.force_login(User.objects.create_user("ops", is_staff=True))
    body = client.get("/api/stats", {"window": "5m", "by": "model", "series": "true"}).json()
    assert body["total"]["requests"] == 31 and body["total"]["errors"] == 1
    assert body["total"]["errors_by_type"] == {"ProviderUnavailableError": 1}
    assert {r["label"]: r["requests"] for r in body["rows"]} == {"fast": 21, "smart": 10}
    assert body["percentiles"] == "exact" and body["total"]["latency_ms"]["p50"] == 114.5
    assert body["slowest"][0]["latency_ms"] == 129
    lines = body["series"]["lines"]
    assert set(lines) == {"fast", "smart"} and sum(p["requests"] for p in lines["fast"]) == 21
    by_deployment = client.get("/api/stats", {"window": "1h", "by": "deployment"}).json()["rows"]
    assert {r["label"]: (r["requests"], r["upstream_failures"]) for r in by_deployment} == {
        "sim/small (fast)": (30, 1),
        "(none)": (1, None),  # the request no deployment answered
    }
    errors = client.get("/api/errors", {"window": "1h"}).json()
    assert [g["error_type"] for g in errors["groups"]] == ["ProviderUnavailableError"]
    assert errors["groups"][0]["deployment"] == "sim/small" and errors["groups"][0]["message"] == "HTTP <n>"


def test_a_client_key_sees_only_its_own_totals(client, traffic):
    auth = {"Authorization": f"Bearer {traffic['key']}"}
    body = client.get("/api/stats", {"window": "24h"}, headers=auth).json()
    assert body["total"]["requests"] == 10 and body["total"]["cost_usd"] == pytest.approx(0.1)
    assert body["rows"] == []
    assert client.get("/api/stats", {"by": "key"}, headers=auth).status_code == 403
    assert client.get("/api/errors", headers=auth).status_code == 403


def test_stats_api_refuses_strangers_and_bad_parameters(client, traffic):
    assert client.get("/api/stats").status_code == 401
    assert client.get("/api/stats", headers={"Authorization": "Bearer sk-rt-nope"}).status_code == 401
    client.force_login(User.objects.create_user("visitor"))
    assert client.get("/api/stats").status_code == 401  # logged in but not staff
    client.force_login(User.objects.create_user("ops", is_staff=True))
    response = client.get("/api/stats", {"window": "3w"})
    assert response.status_code == 400 and "window" in response.json()["error"]["message"]


# manage.py stats


def test_stats_command_prints_a_table_per_group(traffic):
    out = StringIO()
    call_command("stats", "--window", "1h", "--by", "model", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Last 1h, percentiles exact"
    assert lines[1].split()[:4] == ["model", "requests", "rps", "errors"]
    rows = {line.split()[0]: line.split() for line in lines[3:] if not line.startswith("-")}
    assert rows["fast"][1] == "21" and rows["smart"][1] == "10" and rows["total"][1] == "31"
    assert rows["total"][3] == "3.2%"
    assert lines[-1] == "errors by type: ProviderUnavailableError 1"


def test_stats_command_reads_rollups_for_long_windows_and_prints_json(traffic):
    out = StringIO()
    call_command("stats", "--window", "7d", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body["percentiles"] == "histogram" and body["total"]["requests"] == 31


# GET /metrics


@pytest.fixture
def served(upstream, live_url, settings):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    create_model("broken", [(provider, "err=500")], num_retries=0)
    return create_key()


def test_metrics_are_off_without_a_token(live_url, settings):
    settings.ROUTER = {**settings.ROUTER, "METRICS_TOKEN": ""}
    assert httpx.get(f"{live_url}/metrics").status_code == 404


def test_metrics_need_the_bearer_token_and_count_requests(served, live_url, client_for, settings):
    settings.ROUTER = {**settings.ROUTER, "METRICS_TOKEN": "scrape-me"}
    sdk = client_for(served)
    for _ in range(3):
        sdk.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.InternalServerError):  # the 502 of the broken model
        sdk.chat.completions.create(model="broken", messages=[{"role": "user", "content": "hi"}])
    flush_history()
    assert httpx.get(f"{live_url}/metrics").status_code == 401
    assert httpx.get(f"{live_url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = httpx.get(f"{live_url}/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'router_requests_total{deployment="up/ok",model="gpt-test",status="ok"}' in text
    assert 'router_request_latency_seconds_bucket{deployment="up/ok",le="+Inf"}' in text
    assert (
        'router_upstream_errors_total{deployment="up/err=500",error_type="ProviderUnavailableError"}' in text
    )
    assert (
        'router_request_errors_total{deployment="(none)",error_type="ProviderUnavailableError",model="(none)"}'
        in text
    )
    assert "router_cost_usd_total" in text and "router_overhead_seconds_count" in text


def test_the_stats_api_takes_the_key_as_x_api_key_too(client, traffic):
    body = client.get("/api/stats", {"window": "24h"}, headers={"x-api-key": traffic["key"]}).json()
    assert body["total"]["requests"] == 10
