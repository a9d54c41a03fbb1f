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
