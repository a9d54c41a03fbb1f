"""Statistics from history: exact percentiles on short windows, rollups on long ones, error groups."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from routerapp import stats
from routerapp.models import ApiKey, ErrorGroup, QueryRecord
from routerapp.observability.drafts import AttemptDraft
from routerapp.observability.rollups import bin_of, normalise_message, percentile_from_bins
from routerapp.observability.writer import write_batch
from tests.factories import create_model, create_provider, record_draft

NOW = timezone.now().replace(microsecond=0)


def write(drafts, chunk: int = 500) -> None:
    for i in range(0, len(drafts), chunk):
        write_batch(drafts[i : i + chunk])


@pytest.fixture
def world(db):
    p1 = create_provider(name="p1")
    p2 = create_provider(name="p2")
    m1 = create_model("m1", [(p1, "a"), (p2, "b")])
    m2 = create_model("m2", [(p1, "c")])
    deployments = [*m1.deployments.order_by("id"), *m2.deployments.all()]
    keys = [ApiKey.create_key(f"k{i}")[0] for i in range(2)]
    return {"providers": (p1, p2), "deployments": deployments, "keys": keys}


def traffic(world, n: int, *, spread: timedelta, seed: int = 7, error_rate: float = 0.1):
    """n requests spread over the `spread` before NOW, with known latencies, errors and costs."""
    rng = random.Random(seed)
    drafts = []
    for _ in range(n):
        deployment = rng.choice(world["deployments"])
        failed = rng.random() < error_rate
        latency = rng.lognormvariate(5, 0.8)
        stream = rng.random() < 0.5
        drafts.append(
            record_draft(
                model=deployment.model_group.name,
                deployment_id=deployment.id,
                api_key_id=rng.choice(world["keys"]).id,
                status="error" if failed else "ok",
                error_type=rng.choice(["UpstreamTimeoutError", "RateLimitError"]) if failed else "",
                latency_ms=latency,
                ttft_ms=latency * rng.uniform(0.1, 0.5) if stream and not failed else None,
                stream=stream,
                prompt_tokens=rng.randint(10, 500),
                completion_tokens=0 if failed else rng.randint(1, 300),
                cost_usd=0 if failed else rng.uniform(0, 0.01),
                created_at=NOW - spread * rng.random(),
            )
        )
    write(drafts)
    return drafts


def in_window(drafts, window: str):
    since = NOW - stats.WINDOWS[window]
    return [d for d in drafts if since <= d.created_at < NOW]


def percentiles(values) -> dict[str, float]:
    return {name: float(np.percentile(values, p * 100)) for name, p in stats.PERCENTILES.items()}


def test_short_windows_give_exact_percentiles_like_numpy(world):
    drafts = traffic(world, 1500, spread=timedelta(minutes=55))
    report = stats.report("1h", by="model", now=NOW)
    ok = [d for d in drafts if d.status == "ok"]
    assert report.exact
    assert report.total.latency == pytest.approx(percentiles([d.latency_ms for d in ok]), rel=1e-9)
    assert report.total.ttft == pytest.approx(
        percentiles([d.ttft_ms for d in ok if d.ttft_ms is not None]), rel=1e-9
    )
    for row in report.rows:
        mine = [d.latency_ms for d in ok if d.model == row.key]
        assert row.latency == pytest.approx(percentiles(mine), rel=1e-9)
        assert row.requests == sum(1 for d in drafts if d.model == row.key)
    assert report.total.requests == 1500
    assert report.total.errors_by_type == {
        t: sum(1 for d in drafts if d.error_type == t) for t in ("UpstreamTimeoutError", "RateLimitError")
    }
    assert report.total.rps == pytest.approx(1500 / 3600)


def test_percentiles_of_tiny_groups_match_numpy_too(world):
    deployment = world["deployments"][0]
    for n in (1, 2, 3, 7):
        QueryRecord.objects.all().delete()
        values = [float(v) for v in range(10, 10 * (n + 1), 10)]
        write(
            [
                record_draft(deployment_id=deployment.id, latency_ms=v, created_at=NOW - timedelta(minutes=1))
                for v in values
            ]
        )
        assert stats.report("5m", now=NOW).total.latency == pytest.approx(percentiles(values))


def test_long_windows_add_up_rollups_exactly_and_percentiles_closely(world):
    drafts = traffic(world, 4000, spread=timedelta(days=8), seed=3)
    for window in ("24h", "7d"):
        report = stats.report(window, by="provider", now=NOW)
        mine = in_window(drafts, window)
        ok = [d.latency_ms for d in mine if d.status == "ok"]
        assert not report.exact
        assert report.total.requests == len(mine)
        assert report.total.errors == sum(1 for d in mine if d.status == "error")
        assert report.total.prompt_tokens == sum(d.prompt_tokens for d in mine)
        assert report.total.cost_usd == pytest.approx(sum(d.cost_usd for d in mine))
        assert report.total.latency == pytest.approx(percentiles(ok), rel=0.07)
        by_provider = {row.label: row.requests for row in report.rows}
        provider_of = {d.id: d.provider.name for d in world["deployments"]}
        assert by_provider == {
            name: sum(1 for d in mine if provider_of[d.deployment_id] == name) for name in ("p1", "p2")
        }
        slowest = sorted((d for d in mine if d.status == "ok"), key=lambda d: -d.latency_ms)[:10]
        assert [s["request_id"] for s in report.slowest] == [d.request_id for d in slowest]


def test_statistics_group_by_deployment_and_key(world):
    drafts = traffic(world, 600, spread=timedelta(minutes=4))
    for by, attribute in (("deployment", "deployment_id"), ("key", "api_key_id")):
        report = stats.report("5m", by=by, now=NOW)
        assert {row.key: row.requests for row in report.rows} == {
            str(v): sum(1 for d in drafts if getattr(d, attribute) == v)
            for v in {getattr(d, attribute) for d in drafts}
        }
    labels = {row.label for row in stats.report("5m", by="key", now=NOW).rows}
    assert labels == {"k0", "k1"}


def test_series_count_every_request_once(world):
    drafts = traffic(world, 800, spread=timedelta(minutes=50))
    hourly = traffic(world, 300, spread=timedelta(hours=20), seed=9)
    minute = stats.series("1h", now=NOW)
    assert minute.step_s == 60 and len(minute.lines["all"]) in (60, 61)
    assert sum(p.requests for p in minute.lines["all"]) == len(in_window(drafts + hourly, "1h"))
    busiest = max(minute.lines["all"], key=lambda p: p.requests)
    assert busiest.latency["p50"] is not None
    per_deployment = stats.series("24h", by="deployment", now=NOW)
    assert len(per_deployment.lines) == 3
    total = sum(p.requests for points in per_deployment.lines.values() for p in points)
    # Hourly points start at the top of the hour the window starts in.
    first_hour = (NOW - timedelta(hours=24)).replace(minute=0, second=0)
    assert total == sum(1 for d in drafts + hourly if d.created_at >= first_hour)


def test_histogram_percentiles_stay_within_six_percent():
    rng = np.random.default_rng(5)
    values = rng.lognormal(5, 1.0, 20_000)
    bins: dict[int, int] = {}
    for v in values:
        bins[bin_of(v)] = bins.get(bin_of(v), 0) + 1
    for p in (0.5, 0.9, 0.95, 0.99):
        assert percentile_from_bins(bins, p) == pytest.approx(np.percentile(values, p * 100), rel=0.06)


def test_messages_are_normalised_so_occurrences_group_together():
    a = normalise_message(
        "upstream returned 500 for req_8f3a9b2c1d4e7 at https://api.x.com/v1/chat after 3.5s"
    )
    b = normalise_message(
        "upstream returned 502 for req_11aa22bb33cc4 at https://api.y.com/v1/chat after 12s"
    )
    assert a == b == "upstream returned <n> for <id> at <url> after <n>s"
    assert normalise_message("id 0f8fad5b-d9cb-469f-a165-70867728950e   gone") == "id <id> gone"
    assert normalise_message("The model 'gpt-test' does not exist") == "The model 'gpt-test' does not exist"
    assert normalise_message("sim/qwen2.5-7b: connection reset") == "sim/qwen2.5-7b: connection reset"
    assert normalise_message("gpt-4o: no answer within 30s") == "gpt-4o: no answer within <n>s"


def test_failures_are_grouped_per_deployment_like_an_issue_tracker(world):
    d1, d2 = world["deployments"][:2]
    drafts = []
    for i in range(6):
        failing = d1 if i < 4 else d2
        drafts.append(
            record_draft(
                deployment_id=d2.id,
                created_at=NOW - timedelta(minutes=10 - i),
                attempts=[
                    AttemptDraft(
                        failing.id,
                        0,
                        "error",
                        0,
                        5,
                        500,
                        "ProviderUnavailableError",
                        f"HTTP 500 from upstream ({i} ms)",
                    ),
                    AttemptDraft(d2.id, 0, "ok", 5, 50),
                ],
            )
        )
    rejected = record_draft(
        status="error", error_type="RateLimitError", error_message="key rpm 60 exceeded", created_at=NOW
    )
    write([*drafts, rejected])
    write(
        [
            record_draft(
                created_at=NOW,
                attempts=[
                    AttemptDraft(
                        d1.id,
                        0,
                        "error",
                        0,
                        5,
                        500,
                        "ProviderUnavailableError",
                        "HTTP 500 from upstream (9 ms)",
                    )
                ],
            )
        ]
    )

    groups = {(g.deployment_id, g.error_type): g for g in ErrorGroup.objects.all()}
    assert set(groups) == {
        (d1.id, "ProviderUnavailableError"),
        (d2.id, "ProviderUnavailableError"),
        (None, "RateLimitError"),
    }
    loud = groups[(d1.id, "ProviderUnavailableError")]
    assert loud.count == 5 and loud.provider_id == d1.provider_id
    assert loud.message == "HTTP <n> from upstream (<n> ms)"
    assert loud.first_seen == drafts[0].created_at and loud.last_seen == NOW
    assert loud.recent[:2] == [QueryRecord.objects.latest("id").request_id, drafts[3].request_id]
    assert sum(loud.hourly.values()) == 5

    views = stats.error_groups("1h", order="count", now=NOW)
    assert [v.group.id for v in views][0] == loud.id and views[0].window_count == 5
    assert sum(views[0].trend) == 5 and len(views[0].trend) == 24
    newest = stats.error_groups("1h", order="recent", now=NOW)
    assert newest[-1].group == groups[(d2.id, "ProviderUnavailableError")]
