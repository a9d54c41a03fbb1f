"""The OpenAI-compatible API through the front door: real server, real fake upstream, official SDK."""

from __future__ import annotations

import httpx
import openai
import pytest

from routerapp.models import Attempt, QueryRecord
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history, wait_for


@pytest.fixture
def setup(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    return provider


def test_sdk_gets_an_answer_routed_to_the_upstream(setup, client_for, upstream):
    key = create_key()
    reply = client_for(key).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hello there"}], temperature=0.2
    )
    assert reply.choices[0].message.content.startswith("The answer to 'hello there'")
    assert reply.model == "gpt-test"
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens > 0
    # The upstream got its own model id and the client's parameters untouched.
    assert upstream.last["model"] == "ok"
    assert upstream.last["temperature"] == 0.2


def test_streaming_matches_openai_framing_and_reports_usage(setup, client_for):
    key = create_key()
    stream = client_for(key).chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "stream please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("The answer to 'stream please'")
    assert len({c.id for c in chunks}) == 1
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_stream_without_include_usage_has_no_usage_chunk(setup, client_for):
    chunks = list(
        client_for(create_key()).chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert all(c.choices for c in chunks)


def test_raw_stream_ends_with_done_marker(setup, live_url):
    key = create_key()
    with httpx.stream(
        "POST",
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "gpt-test", "stream": True, "messages": [{"role": "user", "content": "x"}]},
    ) as response:
        body = response.read().decode()
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [e for e in body.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events)


def test_models_lists_only_what_the_key_may_use(setup, client_for, upstream):
    create_model("other", [(setup, "ok")])
    everything = client_for(create_key(name="all")).models.list()
    assert sorted(m.id for m in everything.data) == ["gpt-test", "other"]
    limited = client_for(create_key(name="limited", allowed_models=["other"])).models.list()
    assert [m.id for m in limited.data] == ["other"]


def test_every_authenticated_request_leaves_a_history_record(setup, client_for):
    key = create_key()
    client = client_for(key)
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "one"}])
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "two"}])
    flush_history()
    records = list(QueryRecord.objects.order_by("created_at"))
    assert [(r.model, r.status, r.http_status) for r in records] == [
        ("gpt-test", "ok", 200),
        ("nope", "error", 404),
    ]
    assert records[0].deployment.upstream_model == "ok"
    assert records[0].latency_ms > 0 and records[0].prompt_tokens > 0
    assert Attempt.objects.filter(query=records[0]).count() == 1


def test_overhead_header_is_reported(setup, live_url):
    response = httpx.post(
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {create_key()}"},
        json={"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 200
    flush_history()
    record = QueryRecord.objects.get(request_id=response.headers["x-request-id"])
    overhead = float(response.headers["x-router-overhead-ms"])
    # The router's own share of the request: what the record says, and less than the whole.
    assert overhead == pytest.approx(record.overhead_ms, abs=0.01)
    assert 0 < overhead < record.latency_ms


def test_client_that_gives_up_waiting_still_leaves_a_record(upstream, live_url):
    provider = create_provider(name="slow", kind="openai", base_url=upstream.base_url)
    create_model("slow", [(provider, "ok;delay=1500")])
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{live_url}/v1/chat/completions",
            headers={"authorization": f"Bearer {create_key()}"},
            json={"model": "slow", "messages": [{"role": "user", "content": "x"}]},
            timeout=0.4,
        )
    wait_for(
        lambda: flush_history() or QueryRecord.objects.exists(), what="the record of the abandoned request"
    )
    record = QueryRecord.objects.get()
    assert (record.model, record.status, record.http_status) == ("slow", "cancelled", 499)
