"""Money: cost per request from the deployment's prices, and per-key budgets enforced up front."""

from __future__ import annotations

import openai
import pytest

from routerapp.models import ApiKey
from routerapp.pricing import price_per_mtok
from tests.factories import create_key, create_model
from tests.helpers import HI, ask, records, routed, stream_events

PRICES = {"input_cost_per_mtok": 3.0, "output_cost_per_mtok": 15.0}


def test_cost_comes_from_the_deployments_override_prices(up, upstream, client_for):
    create_model("m", [(up, "gpt-4o", PRICES)])
    reply = client_for(create_key()).chat.completions.create(model="m", messages=HI)
    (record,) = records()
    expected = (reply.usage.prompt_tokens * 3.0 + reply.usage.completion_tokens * 15.0) / 1_000_000
    assert record.cost_usd == pytest.approx(expected)
    assert (record.prompt_tokens, record.completion_tokens) == (
        reply.usage.prompt_tokens,
        reply.usage.completion_tokens,
    )


def test_without_an_override_the_price_comes_from_genai_prices(up, upstream, live_url):
    create_model("catalogue", [(up, "gpt-4o")])
    create_model("override", [(up, "gpt-4o;n=2", {"input_cost_per_mtok": 0.0, "output_cost_per_mtok": 0.0})])
    key = create_key()
    ask(live_url, key, "catalogue")
    ask(live_url, key, "override")
    catalogue, override = records()
    inp, out = price_per_mtok(routed("gpt-4o"))
    assert inp > 0 and out > inp  # gpt-4o is in the catalogue
    assert catalogue.cost_usd == pytest.approx(
        (catalogue.prompt_tokens * inp + catalogue.completion_tokens * out) / 1e6
    )
    assert override.cost_usd == 0  # the override wins, even at zero


def test_a_streamed_answer_is_priced_from_the_usage_the_upstream_reported(up, upstream, live_url):
    create_model("m", [(up, "ok", PRICES)])
    stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    (record,) = records()
    # The fake reports 10 prompt tokens and one completion token per word.
    assert record.prompt_tokens == 10 and record.completion_tokens > 0
    assert record.cost_usd == pytest.approx((10 * 3.0 + record.completion_tokens * 15.0) / 1_000_000)


def test_a_key_over_its_budget_is_refused_before_any_upstream_call(up, upstream, client_for):
    create_model("m", [(up, "ok", PRICES)])
    key = create_key(budget_usd=1, spent_usd=1.5)
    with pytest.raises(openai.RateLimitError) as info:
        client_for(key).chat.completions.create(model="m", messages=HI)
    assert info.value.status_code == 429
    assert info.value.body["type"] == "budget_exceeded" and info.value.code == "budget_exceeded"
    assert "$1.5000 of its $1.00 budget" in info.value.message
    assert upstream.hits == {}
    (record,) = records()
    assert (record.status, record.error_type, record.attempts_count) == ("error", "BudgetExceededError", 0)


def test_spending_up_to_the_budget_closes_the_key(up, upstream, live_url):
    # A dollar per thousand tokens: the first answer spends the whole budget.
    create_model("m", [(up, "ok", {"input_cost_per_mtok": 1000.0, "output_cost_per_mtok": 1000.0})])
    key = create_key(budget_usd=0.001)
    assert ask(live_url, key, "m").status_code == 200
    refused = ask(live_url, key, "m")
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "budget_exceeded"
    assert upstream.hits["ok"] == 1
    records()
    assert float(ApiKey.objects.get().spent_usd) > 0.001


# Budget periods, crossed with the router's clock: 1000 prompt + 100 completion tokens at $1 per
# million tokens each is $0.0011 a request, so a $0.002 budget takes one request and refuses the next.

PRICED = {"input_cost_per_mtok": 1.0, "output_cost_per_mtok": 1.0}
PRICED_MODEL = "ok;prompt_tokens=1000;completion_tokens=100"


@pytest.mark.parametrize(
    ("period", "before", "after"),
    [
        # 2026-03-31 23:59:50 UTC is a Tuesday, the last second of March but not of a week.
        ("daily", "2026-03-31T23:59:50", "2026-04-01T00:00:05"),
        ("weekly", "2026-04-05T23:59:50", "2026-04-06T00:00:05"),  # Sunday → Monday
        ("monthly", "2026-03-31T23:59:50", "2026-04-01T00:00:05"),
    ],
)
def test_a_periodic_budget_starts_again_at_the_period_boundary(
    up, live_url, stopped_clock, period, before, after
):
    from datetime import UTC, datetime

    from tests.helpers import post

    create_model("m", [(up, PRICED_MODEL, PRICED)])
    key = create_key(budget_usd=0.002, budget_period=period)
    stopped_clock.stop(at=datetime.fromisoformat(before).replace(tzinfo=UTC).timestamp())
    url = live_url

    assert post(url, key, {"model": "m", "messages": HI}).status_code == 200
    assert post(url, key, {"model": "m", "messages": HI}).status_code == 200  # $0.0011 < $0.002
    refused = post(url, key, {"model": "m", "messages": HI})
    assert refused.status_code == 429 and f"{period} budget" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) <= 10

    stopped_clock.stop(at=datetime.fromisoformat(after).replace(tzinfo=UTC).timestamp())
    assert post(url, key, {"model": "m", "messages": HI}).status_code == 200  # a new period
    if period != "daily":
        # Within the period, a day later, the spend still counts.
        stopped_clock.advance(86_400)
        assert post(url, key, {"model": "m", "messages": HI}).status_code == 200
        assert post(url, key, {"model": "m", "messages": HI}).status_code == 429


def test_the_history_writer_keeps_each_periods_spend_for_a_cache_restart(up, live_url, stopped_clock):
    from datetime import UTC, datetime

    from django.core.cache import cache

    from routerapp.routing.table import tables
    from tests.helpers import flush_history, post

    create_model("m", [(up, PRICED_MODEL, PRICED)])
    raw = create_key(name="daily", budget_usd=0.002, budget_period="daily")
    url = live_url
    stopped_clock.stop(at=datetime(2026, 5, 4, 12, tzinfo=UTC).timestamp())
    assert post(url, raw, {"model": "m", "messages": HI}).status_code == 200
    assert post(url, raw, {"model": "m", "messages": HI}).status_code == 200
    flush_history()
    key = ApiKey.objects.get(name="daily")
    assert float(key.period_spent_usd) == pytest.approx(0.0022)
    assert key.period_started_at == datetime(2026, 5, 4, tzinfo=UTC)
    cache.clear()  # the counters are gone: the database's period total seeds them again
    tables.invalidate()
    assert post(url, raw, {"model": "m", "messages": HI}).status_code == 429
    stopped_clock.advance(86_400)
    assert post(url, raw, {"model": "m", "messages": HI}).status_code == 200


def test_a_key_tpm_limit_refuses_once_the_minutes_tokens_are_used(up, live_url, stopped_clock):
    from tests.helpers import post

    create_model("m", [(up, PRICED_MODEL)])
    key = create_key(tpm_limit=2000)
    url = live_url
    assert post(url, key, {"model": "m", "messages": HI}).status_code == 200  # 1100 tokens
    assert (
        post(url, key, {"model": "m", "messages": HI}).status_code == 200
    )  # 2200: over 2000, but counted after it was let in
    refused = post(url, key, {"model": "m", "messages": HI})
    assert refused.status_code == 429 and "2000 tokens per minute" in refused.json()["error"]["message"]
    stopped_clock.advance(60)
    assert post(url, key, {"model": "m", "messages": HI}).status_code == 200
