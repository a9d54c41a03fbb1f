"""Usage as the provider reported it, complete (cached, cache-write and reasoning tokens), in
answers and in a stream's final usage chunk; cost priced part by part and stored in the history,
checked against numbers worked out by hand."""

from __future__ import annotations

import pytest

from tests.factories import create_key, create_model, create_provider
from tests.fakes import run_asgi_in_thread
from tests.fakes.anthropic_server import FakeAnthropic
from tests.helpers import HI, records

# prompt 1000 (400 of them cached), completion 100 (30 of them reasoning).
OPENAI_MODEL = "ok;prompt_tokens=1000;completion_tokens=100;cached=400;reasoning=30"
OPENAI_PRICES = {
    "input_cost_per_mtok": 2.0,
    "cached_input_cost_per_mtok": 0.5,
    "output_cost_per_mtok": 8.0,
    "reasoning_cost_per_mtok": 12.0,
}
# By hand: 600 × $2 + 400 × $0.5 + 70 × $8 + 30 × $12, per million tokens.
OPENAI_PARTS = {
    "input": 600 * 2.0 / 1e6,
    "cached_input": 400 * 0.5 / 1e6,
    "cache_write": 0.0,
    "output": 70 * 8.0 / 1e6,
    "reasoning": 30 * 12.0 / 1e6,
}


@pytest.fixture(scope="module")
def anthropic_server():
    app = FakeAnthropic()
    with run_asgi_in_thread(app) as url:
        yield app, url


def test_openai_usage_details_reach_the_client_and_the_history_priced_part_by_part(
    live_url, upstream, client_for
):
    provider = create_provider(name="oa", base_url=upstream.base_url)
    create_model("m", [(provider, OPENAI_MODEL, OPENAI_PRICES)])
    client = client_for(create_key())

    reply = client.chat.completions.create(model="m", messages=HI)
    chunks = list(
        client.chat.completions.create(
            model="m", messages=HI, stream=True, stream_options={"include_usage": True}
        )
    )

    for usage in (reply.usage, chunks[-1].usage):
        assert (usage.prompt_tokens, usage.completion_tokens) == (1000, 100)
        assert usage.prompt_tokens_details.cached_tokens == 400
        assert usage.completion_tokens_details.reasoning_tokens == 30
    assert reply.usage.prompt_tokens_details.audio_tokens == 0  # the upstream's other details kept
    for record in records(model="m"):
        assert (record.cached_tokens, record.cache_write_tokens, record.reasoning_tokens) == (400, 0, 30)
        assert record.cost_parts == pytest.approx(OPENAI_PARTS)
        assert record.cost_usd == pytest.approx(0.00232)


def test_a_price_changed_while_the_server_runs_bills_the_next_request(live_url, upstream, client_for):
    """Prices are resolved once per routing-table entry (DeploymentInfo.prices): an edited price
    must still reach the very next request, through the entry that replaces it."""
    provider = create_provider(name="oa", base_url=upstream.base_url)
    group = create_model("m", [(provider, OPENAI_MODEL, OPENAI_PRICES)])
    client = client_for(create_key())
    client.chat.completions.create(model="m", messages=HI)

    deployment = group.deployments.get()
    deployment.output_cost_per_mtok = 80.0  # ten times the price of the 70 plain output tokens
    deployment.save()
    client.chat.completions.create(model="m", messages=HI)

    before, after = records(model="m")
    assert before.cost_parts["output"] == pytest.approx(70 * 8.0 / 1e6)
    assert after.cost_parts["output"] == pytest.approx(70 * 80.0 / 1e6)
    assert after.cost_parts["input"] == pytest.approx(OPENAI_PARTS["input"])  # the rest unchanged


def test_anthropic_cache_reads_and_writes_are_counted_and_priced_from_genai_prices(
    live_url, anthropic_server, client_for
):
    fake, url = anthropic_server
    fake.reset()
    fake.usage = {
        "input_tokens": 100,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 200,
        "output_tokens": 50,
    }
    create_model(
        "claude", [(create_provider(name="claude", kind="anthropic", base_url=url), "claude-sonnet-4-5")]
    )
    client = client_for(create_key())

    reply = client.chat.completions.create(model="claude", messages=HI)
    chunks = list(
        client.chat.completions.create(
            model="claude", messages=HI, stream=True, stream_options={"include_usage": True}
        )
    )

    for usage in (reply.usage, chunks[-1].usage):
        assert (usage.prompt_tokens, usage.completion_tokens) == (1100, 50)  # OpenAI counts the cache in
        assert usage.prompt_tokens_details.cached_tokens == 800
        assert usage.model_extra["cache_creation_input_tokens"] == 200
    # genai-prices for Claude Sonnet 4.5: $3 input, $0.30 cache read, $3.75 cache write, $15 output.
    parts = {
        "input": 100 * 3 / 1e6,
        "cached_input": 800 * 0.3 / 1e6,
        "cache_write": 200 * 3.75 / 1e6,
        "output": 50 * 15 / 1e6,
        "reasoning": 0.0,
    }
    (first, second) = records(model="claude")
    for record in (first, second):
        assert (record.prompt_tokens, record.cached_tokens, record.cache_write_tokens) == (1100, 800, 200)
        assert record.cost_parts == pytest.approx(parts)
        assert record.cost_usd == pytest.approx(0.00204)


def test_history_keeps_the_requests_tools_and_parameters(live_url, upstream):
    from tests.helpers import post

    create_model("m", [(create_provider(name="oa", base_url=upstream.base_url), "ok")])
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    body = {"model": "m", "messages": HI, "tools": tools, "temperature": 0.2, "timeout": 20}
    assert post(live_url, create_key(), body).status_code == 200
    (record,) = records(model="m")
    assert record.request_params == {"tools": tools, "temperature": 0.2}  # router options are not params
