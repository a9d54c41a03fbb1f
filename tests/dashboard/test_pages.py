"""The dashboard pages through Django's test client: staff only, full pages and live partials."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from routerapp.models import ErrorGroup, QueryRecord
from routerapp.observability.drafts import AttemptDraft
from routerapp.observability.tracing import Trace
from routerapp.observability.writer import write_batch
from tests.factories import create_model, create_provider, record_draft


@pytest.fixture
def staff(client, db):
    user = User.objects.create_user("ops", password="pw-for-tests", is_staff=True)
    client.force_login(user)
    return user


@pytest.fixture
def history(db):
    provider = create_provider(name="sim", kind="simulated")
    group = create_model("fast", [(provider, "small"), (provider, "flaky")])
    small, flaky = group.deployments.order_by("id")
    now = timezone.now()
    drafts = []
    for i in range(40):
        failed = i % 5 == 0
        trace = Trace(started=0.0)
        trace.add("authenticate", 0.0, 0.0002)
        trace.add(
            "attempt",
            0.0005,
            0.0105,
            status="error",
            attributes={"deployment": "sim/flaky"},
        )
        attempts = [
            AttemptDraft(flaky.id, 0, "error", 0.5, 10, 500, "ProviderUnavailableError", f"HTTP 500 ({i})")
        ]
        if not failed:
            trace.add("attempt", 0.011, 0.051, attributes={"deployment": "sim/small"})
            attempts.append(AttemptDraft(small.id, 0, "ok", 11, 40))
        drafts.append(
            record_draft(
                model="fast",
                deployment_id=None if failed else small.id,
                status="error" if failed else "ok",
                error_type="ProviderUnavailableError" if failed else "",
                error_message="HTTP 500" if failed else "",
                latency_ms=52.0 + i,
                prompt_tokens=20,
                completion_tokens=30,
                cost_usd=0.0001,
                attempts=attempts,
                trace=trace,
                request_body='[{"role": "user", "content": "my key is sk-abcdefghijklmnop, call me"}]',
                response_body="fine",
                created_at=now - timedelta(seconds=60 - i),
            )
        )
    write_batch(drafts)
    return drafts


def test_root_redirects_to_the_dashboard(client):
    assert client.get("/")["Location"] == "/dashboard/"


def test_pages_need_a_staff_login(client, db):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=/dashboard/")
    client.force_login(User.objects.create_user("visitor", password="x"))
    assert client.get("/dashboard/errors/").status_code == 302


@pytest.mark.parametrize(
    "url", ["/dashboard/", "/dashboard/latency/", "/dashboard/errors/", "/dashboard/history/"]
)
@pytest.mark.parametrize("window", ["5m", "1h", "24h", "7d"])
def test_every_page_renders_for_every_window(client, staff, history, url, window):
    response = client.get(url, {"window": window})
    assert response.status_code == 200
    page = response.content.decode()
    heading = {"/dashboard/": "Overview", "/dashboard/latency/": "Latency", "/dashboard/errors/": "Errors"}
    if url in heading:
        assert f"<h1>{heading[url]}</h1>" in page
        assert f'aria-current="true">{window}</a>' in page  # the window picker shows the one asked for
    else:
        assert "<h1>History</h1>" in page and f'<option value="{window}" selected>' in page


def test_overview_shows_the_numbers_and_polls_a_partial(client, staff, history):
    page = client.get("/dashboard/", {"window": "5m"}).content.decode()
    assert 'hx-trigger="every 3s" data-poll-visible' in page
    assert '<span id="stat-requests">40</span>' in page
    assert 'id="stat-error-rate">20.0%<' in page
    assert "ProviderUnavailableError" in page and "HTTP &lt;n&gt; (&lt;n&gt;)" in page
    partial = client.get("/dashboard/", {"window": "5m"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and '<span id="stat-requests">40</span>' in partial


def test_latency_page_draws_series_and_histogram(client, staff, history):
    page = client.get(
        "/dashboard/latency/", {"window": "1h", "by": "model", "metric": "p99"}
    ).content.decode()
    assert "<polyline" in page and 'class="bar"' in page
    assert "p99 latency per model" in page


def test_errors_drill_down_to_the_failing_requests(client, staff, history):
    group = ErrorGroup.objects.get()
    page = client.get("/dashboard/errors/", {"order": "count"}).content.decode()
    assert f"/dashboard/errors/{group.id}/" in page
    detail = client.get(f"/dashboard/errors/{group.id}/").content.decode()
    assert history[-1].request_id in detail and detail.count("/dashboard/history/") >= 20


def test_history_filters_and_pages_by_keyset(client, staff, history):
    failed = client.get("/dashboard/history/", {"status": "error"}).content.decode()
    assert failed.count('class="status status-error"') == 8
    by_type = client.get("/dashboard/history/", {"error_type": "ProviderUnavailableError"}).content.decode()
    assert by_type.count('class="status status-error"') == 8
    target = history[7].request_id
    found = client.get("/dashboard/history/", {"q": target[:10]}).content.decode()
    assert f"/dashboard/history/{target}/" in found and found.count('class="status status-') == 1
    first = client.get("/dashboard/history/").content.decode()
    assert first.count('class="status status-') == 40 and "older →" not in first
    QueryRecord.objects.bulk_create(
        [QueryRecord(request_id=f"bulk{i}", model="fast", status="ok") for i in range(60)]
    )
    newest = client.get("/dashboard/history/").content.decode()
    assert "older →" in newest
    oldest_shown = QueryRecord.objects.order_by("-created_at")[49].created_at
    older = client.get("/dashboard/history/", {"before": oldest_shown.isoformat()}).content.decode()
    assert older.count('class="status status-') == 50 and "← newest" in older


def test_request_detail_has_a_waterfall_and_masks_secrets(client, staff, history):
    record = history[1]
    page = client.get(f"/dashboard/history/{record.request_id}/").content.decode()
    assert page.count('class="wf-row"') == 3
    assert "wf-bar wf-error" in page and "sim/flaky" in page
    assert "sk-abcdefghijklmnop" not in page and "sk-***" in page


def test_health_badge_tooltip_masks_an_upstream_secret(client, staff, history):
    from routerapp.models import Deployment

    Deployment.objects.update(
        health_status="unhealthy", health_error="AuthenticationError: bad key Bearer sk-live-abcdef0123456789"
    )
    page = client.get("/dashboard/").content.decode()
    assert "badge-unhealthy" in page
    assert "sk-live-abcdef0123456789" not in page and "Bearer ***" in page


def test_overview_error_rate_leaves_client_mistakes_out_and_counts_them_apart(client, staff, history):
    mistakes = [
        record_draft(model="fast", status="error", http_status=status, error_type=kind, error_message="bad")
        for kind, status in [("InvalidRequestError", 400)] * 5
        + [("AuthenticationError", 401)] * 4
        + [("KeyRateLimitError", 429)]  # the key's own rpm limit: the client's doing too
    ]
    write_batch(mistakes)
    page = client.get("/dashboard/", {"window": "5m"}).content.decode()
    assert '<span id="stat-requests">50</span>' in page
    assert 'id="stat-error-rate">16.0%<' in page  # the 8 upstream failures of 50, not 18 of 50
    assert '<span id="stat-errors">18</span>' in page and '<span id="stat-client-errors">10</span>' in page
