"""The optimizer strategies through the front door: the real server, the official openai SDK."""

from __future__ import annotations

import openai
import pytest

from routerapp.models import ApiKey, OptimizerTemplate
from tests.factories import create_key, create_model, create_provider
from tests.helpers import records

MATH = [{"role": "user", "content": "What is   17 * 23?\n\n\n\nShow   your work."}]


@pytest.fixture
def up(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    # transactional tests start from empty tables: the seeded templates are made again here.
    OptimizerTemplate.objects.update_or_create(
        task_type="math",
        defaults={"instructions": "End with 'Final answer: N'.", "temperature": 0.0, "max_tokens": 300},
    )
    return provider


def ask(client: openai.OpenAI, model: str = "m", messages=MATH, **kwargs):
    return client.chat.completions.create(model=model, messages=messages, **kwargs)


def test_with_no_strategy_on_the_request_reaches_the_upstream_as_sent(up, upstream, client_for):
    create_model("m", [(up, "ok")])
    ask(client_for(create_key()))
    assert upstream.last["messages"] == MATH
    assert "temperature" not in upstream.last and "max_tokens" not in upstream.last
    (record,) = records()
    assert record.task_type == "math" and 0 < record.task_confidence <= 1
    assert record.optimizations == {} and record.cache_hit is False


def test_a_model_turns_strategies_on_and_the_record_says_what_was_applied(up, upstream, client_for):
    create_model("m", [(up, "ok")], optimize=["compress", "instructions", "params", "select"])
    ask(client_for(create_key()))
    sent = upstream.last
    assert sent["messages"][0] == {"role": "system", "content": "End with 'Final answer: N'."}
    assert sent["messages"][1]["content"] == "What is 17 * 23?\n\nShow your work."
    assert sent["temperature"] == 0.0 and sent["max_tokens"] == 300
    (record,) = records()
    assert set(record.optimizations) == {"compress", "instructions", "params", "select"}
    assert record.optimizations["params"] == {"temperature": 0.0, "max_tokens": 300}
    assert record.optimizations["select"] == {"task_type": "math"}


def test_a_client_set_parameter_is_never_overridden(up, upstream, client_for):
    create_model("m", [(up, "ok")], optimize=["params"])
    ask(client_for(create_key()), temperature=0.7, max_completion_tokens=50)
    assert upstream.last["temperature"] == 0.7 and "max_tokens" not in upstream.last
    (record,) = records()
    assert "params" not in record.optimizations


def test_the_request_header_and_body_field_switch_strategies_per_request(up, upstream, client_for):
    create_model("m", [(up, "ok")], optimize=["instructions"])
    client = client_for(create_key())
    ask(client, extra_headers={"x-router-optimize": "-instructions,params"})
    assert upstream.last["messages"] == MATH and upstream.last["temperature"] == 0.0
    ask(client, extra_body={"optimize": "none"})
    assert upstream.last["messages"] == MATH and "temperature" not in upstream.last
    assert "optimize" not in upstream.last  # the router's field is not passed on


def test_a_key_opt_out_beats_the_request(up, upstream, client_for):
    create_model("m", [(up, "ok")], optimize=["instructions"])
    key = create_key(optimize=["-instructions"])
    ask(client_for(key), extra_headers={"x-router-optimize": "instructions"})
    assert upstream.last["messages"] == MATH
    other = create_key(name="other", optimize=["params"])
    ask(client_for(other))
    assert upstream.last["temperature"] == 0.0 and upstream.last["messages"][0]["role"] == "system"


def test_an_unknown_strategy_is_a_client_error_that_is_recorded(up, client_for):
    create_model("m", [(up, "ok")])
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client_for(create_key()), extra_headers={"x-router-optimize": "compress,turbo"})
    assert "turbo" in caught.value.message
    (record,) = records()
    assert record.http_status == 400


def test_the_cache_answers_a_repeated_deterministic_request_for_free(up, upstream, client_for):
    create_model("m", [(up, "ok")], optimize=["cache"])
    client = client_for(create_key())
    first = ask(client, temperature=0)
    second = ask(client, temperature=0)
    assert upstream.hits["ok"] == 1
    assert second.choices[0].message.content == first.choices[0].message.content
    miss, hit = records()
    assert (miss.cache_hit, hit.cache_hit) == (False, True)
    assert hit.cost_usd == 0 and hit.deployment_id is None
    assert hit.optimizations["cache"] == {"hit": True}
    # Streamed, the hit replays the same text.
    stream = ask(client, temperature=0, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == first.choices[0].message.content
    )
    assert chunks[-1].usage.completion_tokens == first.usage.completion_tokens
    assert upstream.hits["ok"] == 1 and records()[-1].cache_hit and records()[-1].stream


def test_a_streamed_answer_fills_the_cache_for_the_next_request(up, upstream, client_for):
    create_model("m", [(up, "ok")], optimize=["cache"])
    client = client_for(create_key())
    streamed = "".join(
        c.choices[0].delta.content or "" for c in ask(client, temperature=0, stream=True) if c.choices
    )
    again = ask(client, temperature=0)
    assert again.choices[0].message.content == streamed and upstream.hits["ok"] == 1


def test_an_answer_cut_at_max_tokens_is_never_cached_streamed_or_not(up, upstream, client_for):
    create_model("m", [(up, "finish=length")], optimize=["cache"])
    client = client_for(create_key())
    assert ask(client, temperature=0).choices[0].finish_reason == "length"
    ask(client, temperature=0)
    assert upstream.hits["finish=length"] == 2
    chunks = list(ask(client, temperature=0, stream=True))
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    ask(client, temperature=0)
    assert upstream.hits["finish=length"] == 4 and not any(r.cache_hit for r in records())
    # The streamed answer is scored as truncated, as the same answer unstreamed is.
    scored = records()
    assert "truncated" in scored[2].quality_problems and "truncated" in scored[0].quality_problems


def test_no_cache_at_temperature_above_zero_unless_the_model_opts_in(up, upstream, client_for):
    create_model("m", [(up, "ok")], optimize=["cache"])
    client = client_for(create_key())
    ask(client, temperature=0.8)
    ask(client, temperature=0.8)
    assert upstream.hits["ok"] == 2
    create_model("m2", [(up, "ok2")], optimize=["cache"], cache_any_temperature=True)
    ask(client, "m2", temperature=0.8)
    ask(client, "m2", temperature=0.8)
    assert upstream.hits["ok2"] == 1


def test_a_key_opts_out_of_the_cache(up, upstream, client_for):
    create_model("m", [(up, "ok")], optimize=["cache"])
    key = create_key(optimize=["-cache"])
    ask(client_for(key), temperature=0)
    ask(client_for(key), temperature=0, extra_headers={"x-router-optimize": "cache"})
    assert upstream.hits["ok"] == 2 and not any(r.cache_hit for r in records())
    assert ApiKey.objects.get(name="test").optimize == ["-cache"]


def test_trimming_keeps_the_system_prompt_and_the_latest_turns(up, upstream, client_for):
    create_model("m", [(up, "ok", {"context_window": 300})], optimize=["compress"])
    old = "an old turn about the weather and many other things " * 20  # ~270 tokens each
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": old},
        {"role": "assistant", "content": "It was sunny. " * 5},
        {"role": "user", "content": "And what is 2 + 2?"},
    ]
    ask(client_for(create_key()), messages=messages)
    sent = upstream.last["messages"]
    assert sent == [messages[0], messages[3]]
    (record,) = records()
    assert record.optimizations["compress"]["turns_dropped"] == 2


LONG_CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "an old turn about the weather and many other things " * 20},
    {"role": "assistant", "content": "It was sunny. " * 5},
    {"role": "user", "content": "And what is 2 + 2?"},
]


def test_trimming_fits_the_deployment_tried_not_the_largest_of_the_model(up, upstream, client_for):
    # The large deployment fails: the small one answers, with the old turns trimmed to its window
    # (trimming to the largest window would have trimmed nothing and passed the small one over).
    create_model(
        "m",
        [(up, "err=500", {"context_window": 100_000}), (up, "ok;n=small", {"context_window": 300})],
        optimize=["compress"],
        num_retries=0,
    )
    ask(client_for(create_key()), messages=LONG_CHAT)
    assert upstream.hits["ok;n=small"] == 1
    assert upstream.last["messages"] == [LONG_CHAT[0], LONG_CHAT[3]]
    (record,) = records()
    assert record.status == "ok" and record.optimizations["compress"]["turns_dropped"] == 2
    assert not record.skipped


def test_a_larger_deployment_tried_after_a_smaller_one_gets_the_whole_history(up, upstream, client_for):
    cheap = {"context_window": 300, "input_cost_per_mtok": 0.1, "output_cost_per_mtok": 0.1}
    dear = {"context_window": 100_000, "input_cost_per_mtok": 10, "output_cost_per_mtok": 10}
    create_model(
        "m",
        [(up, "err=500;n=small", cheap), (up, "ok;n=big", dear)],
        optimize=["compress"],
        strategy="cost-based",
        num_retries=0,
    )
    ask(client_for(create_key()), messages=LONG_CHAT)
    assert upstream.hits["err=500;n=small"] == 1  # tried first, with a trimmed prompt, and failed
    assert upstream.hits["ok;n=big"] == 1 and len(upstream.last["messages"]) == 4
    (record,) = records()
    assert record.status == "ok" and "turns_dropped" not in record.optimizations.get("compress", {})


def test_without_compress_a_prompt_too_long_for_every_deployment_is_refused(up, client_for):
    create_model("m", [(up, "ok", {"context_window": 300})])
    old = "an old turn about the weather and many other things " * 30
    with pytest.raises(openai.BadRequestError):
        ask(
            client_for(create_key()),
            messages=[{"role": "user", "content": old}, {"role": "user", "content": "hi"}],
        )


def test_analyze_reports_the_task_type_and_what_would_apply(up, upstream, live_url):
    import httpx

    create_model("m", [(up, "ok")], optimize=["instructions", "params", "cache"])
    key = create_key()
    headers = {"authorization": f"Bearer {key}"}
    reply = httpx.post(
        f"{live_url}/api/optimizer/analyze",
        json={"prompt": "What is 17 * 23?", "model": "m"},
        headers=headers,
    )
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["task_type"] == "math" and 0 < data["confidence"] <= 1
    from routerapp.optimizer.detect import detect

    cluster = detect([{"role": "user", "content": "What is 17 * 23?"}]).cluster
    assert data["cluster"] == cluster and data["cluster_label"].startswith("math: ")
    assert data["strategies"] == ["cache", "instructions", "params"]
    assert data["params"] == {"temperature": 0.0, "max_tokens": 300} and data["cacheable"] is True
    assert data["messages"][0]["role"] == "system"
    bare = httpx.post(f"{live_url}/api/optimizer/analyze", json={"messages": MATH}, headers=headers).json()
    assert bare["task_type"] == "math" and bare["strategies"] == [] and bare["optimizations"] == {}
    bad = httpx.post(f"{live_url}/api/optimizer/analyze", json={"model": "m"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    assert upstream.hits["ok"] == 0  # nothing was sent


def test_the_history_page_shows_the_task_type_and_what_was_applied(up, client_for, admin_client):
    create_model("m", [(up, "ok")], optimize=["params", "cache"])
    client = client_for(create_key())
    ask(client, temperature=0)
    ask(client, temperature=0)
    miss, hit = records()
    page = admin_client.get(f"/dashboard/history/{miss.request_id}/").content.decode()
    assert "math" in page and "cache" in page and "max_tokens=300" in page
    assert "cache hit" not in page
    assert "cache hit" in admin_client.get(f"/dashboard/history/{hit.request_id}/").content.decode()
