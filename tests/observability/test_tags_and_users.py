"""`metadata` tags and `user` recorded on every request, and the statistics (GET /api/stats,
`manage.py stats`, the dashboard) broken down by them, over raw rows and over the hourly rollups."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from routerapp import stats
from routerapp.models import QueryRecord
from tests.factories import create_key, create_model, create_provider
from tests.helpers import HI, flush_history, post, run_command

# 1000 prompt + 100 completion tokens at $1 per million each: $0.0011 a request.
PRICED = {"input_cost_per_mtok": 1.0, "output_cost_per_mtok": 1.0}
COST = 0.0011


@pytest.fixture
def traffic(live_url, upstream, client_for):
    provider = create_provider(name="oa", base_url=upstream.base_url)
    create_model("m", [(provider, "ok;prompt_tokens=1000;completion_tokens=100", PRICED)])
    client = client_for(create_key())
    sent = [
        ({"tags": ["checkout", "beta"]}, "alice"),
        ({"tags": ["checkout"], "team": "growth"}, "alice"),
        ({"tags": ["search"]}, "bob"),
        (None, None),
    ]
    for metadata, user in sent:
        extra = {"metadata": metadata} if metadata else {}
        kwargs = {"user": user} if user else {}
        client.chat.completions.create(model="m", messages=HI, extra_body=extra, **kwargs)
    flush_history()


def test_every_request_keeps_its_tags_and_user(traffic):
    kept = sorted(
        (r.end_user, sorted(r.tags.values_list("tag", flat=True))) for r in QueryRecord.objects.all()
    )
    assert kept == [
        ("", []),
        ("alice", ["beta", "checkout"]),
        ("alice", ["checkout", "team=growth"]),
        ("bob", ["search"]),
    ]


@pytest.mark.parametrize("window", ["1h", "24h"])  # raw rows, then the hourly rollups
def test_stats_break_spend_and_tokens_down_by_tag_and_by_user(traffic, window):
    by_tag = {r.label: r for r in stats.report(window, by="tag").rows}
    assert {label: r.requests for label, r in by_tag.items()} == {
        "checkout": 2,
        "beta": 1,
        "team=growth": 1,
        "search": 1,
        "(none)": 1,
    }
    assert by_tag["checkout"].cost_usd == pytest.approx(2 * COST)
    assert by_tag["checkout"].prompt_tokens == 2000
    by_user = {r.label: r for r in stats.report(window, by="user").rows}
    assert {label: r.requests for label, r in by_user.items()} == {"alice": 2, "bob": 1, "(none)": 1}
    assert by_user["alice"].cost_usd == pytest.approx(2 * COST)
    assert by_user["alice"].latency["p50"] is not None


def test_the_api_the_command_and_the_dashboard_show_the_breakdown(traffic, client):
    client.force_login(User.objects.create_user("ops", is_staff=True))
    rows = client.get("/api/stats", {"window": "1h", "by": "tag"}).json()["rows"]
    assert {r["label"]: r["requests"] for r in rows}["checkout"] == 2
    rows = client.get("/api/stats", {"window": "1h", "by": "user"}).json()["rows"]
    assert {r["label"]: r["cost_usd"] for r in rows}["alice"] == pytest.approx(2 * COST)
    out, _ = run_command("stats", "--window", "1h", "--by", "user")
    assert "alice" in out and "bob" in out
    page = client.get("/dashboard/latency/", {"window": "1h", "by": "tag"}).content.decode()
    assert "checkout" in page and "team=growth" in page and "$0.0022" in page


def test_request_fallbacks_are_tried_after_the_models_own(live_url, upstream):
    provider = create_provider(name="oa", base_url=upstream.base_url)
    create_model("own", [(provider, "err=500;n=own")])
    create_model("broken", [(provider, "err=500")], fallbacks=["own"], num_retries=0)
    create_model("spare", [(provider, "ok")])
    key = create_key(allowed_models=["broken", "spare"])
    body = {"model": "broken", "messages": HI, "fallbacks": ["spare"], "num_retries": 0}

    response = post(live_url, key, body)

    assert response.status_code == 200 and response.headers["x-router-deployment"] == "oa/ok"
    assert upstream.hits["err=500;n=own"] == 1  # the model's own fallback came first
    assert post(live_url, key, {**body, "fallbacks": ["nope"]}).json()["error"]["param"] == "fallbacks"
    refused = post(live_url, key, {**body, "fallbacks": ["own"]})
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "fallbacks"
