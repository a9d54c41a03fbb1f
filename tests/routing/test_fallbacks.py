"""Fallback lists: ordered `fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks`."""

from __future__ import annotations

import openai
import pytest

from tests.factories import create_key, create_model
from tests.helpers import HI, ask, attempts, deployment, records

LONG = [{"role": "user", "content": "word " * 400}]  # ~500 estimated tokens


def test_it_walks_the_fallbacks_in_order_after_the_deployments_are_exhausted(up, upstream, client_for):
    create_model("primary", [(up, "err=500;n=p")], fallbacks=["second", "third"], num_retries=1)
    create_model("second", [(up, "err=503;n=s")], num_retries=0)
    create_model("third", [(up, "ok;n=t")])
    create_model("fourth", [(up, "ok;n=f")])
    reply = client_for(create_key()).chat.completions.with_raw_response.create(model="primary", messages=HI)
    assert reply.headers["x-router-deployment"] == "up/ok;n=t"
    assert reply.parse().model == "primary"
    assert upstream.hits == {"err=500;n=p": 2, "err=503;n=s": 1, "ok;n=t": 1}
    (record,) = records()
    assert record.status == "ok" and record.fallback_used
    assert record.deployment == deployment("ok;n=t")
    assert attempts(record) == [
        ("err=500;n=p", 0, "ProviderUnavailableError"),
        ("err=500;n=p", 1, "ProviderUnavailableError"),
        ("err=503;n=s", 0, "ProviderUnavailableError"),
        ("ok;n=t", 0, ""),
    ]


def test_the_first_fallback_that_answers_ends_the_walk(up, upstream, live_url):
    create_model("primary", [(up, "err=500")], fallbacks=["second", "third"], num_retries=0)
    create_model("second", [(up, "ok;n=s")])
    create_model("third", [(up, "ok;n=t")])
    key = create_key()
    for _ in range(5):
        assert ask(live_url, key, "primary").status_code == 200
    assert upstream.hits["ok;n=s"] == 5 and upstream.hits["ok;n=t"] == 0


def test_a_prompt_too_long_for_a_deployment_goes_to_its_context_window_fallbacks_before_sending(
    up, upstream, live_url
):
    create_model(
        "small",
        [(up, "ok;n=small", {"context_window": 100})],
        context_window_fallbacks=["big"],
        fallbacks=["other"],
    )
    create_model("big", [(up, "ok;n=big", {"context_window": 100_000})])
    create_model("other", [(up, "ok;n=other")])
    key = create_key()
    assert ask(live_url, key, "small").headers["x-router-deployment"] == "up/ok;n=small"
    response = ask(live_url, key, "small", messages=LONG)
    assert response.status_code == 200, response.text
    assert response.headers["x-router-deployment"] == "up/ok;n=big"
    assert upstream.hits == {"ok;n=small": 1, "ok;n=big": 1}
    short, long = records()
    assert long.skipped == [{"deployment": deployment("ok;n=small").id, "reason": "context_window"}]
    assert long.fallback_used and attempts(long) == [("ok;n=big", 0, "")]
    assert short.skipped == [] and not short.fallback_used


def test_a_prompt_too_long_for_every_deployment_is_a_400_without_an_upstream_call(up, upstream, live_url):
    create_model("small", [(up, "ok;n=small", {"context_window": 100})], fallbacks=["other"])
    create_model("other", [(up, "ok;n=other", {"context_window": 50})])
    response = ask(live_url, create_key(), "small", messages=LONG)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"
    assert upstream.hits == {}


def test_an_upstream_context_error_skips_retries_and_jumps_to_the_context_window_fallbacks(
    up, upstream, client_for
):
    create_model("small", [(up, "ctx")], context_window_fallbacks=["big"], fallbacks=["other"], num_retries=3)
    create_model("big", [(up, "ok;n=big")])
    create_model("other", [(up, "ok;n=other")])
    reply = client_for(create_key()).chat.completions.create(model="small", messages=HI)
    assert reply.choices[0].message.content
    assert upstream.hits == {"ctx": 1, "ok;n=big": 1}
    (record,) = records()
    assert attempts(record) == [("ctx", 0, "ContextWindowExceededError"), ("ok;n=big", 0, "")]


def test_an_upstream_context_error_without_a_fallback_reaches_the_client_as_a_400(up, upstream, client_for):
    create_model("small", [(up, "ctx")], fallbacks=["other"], num_retries=3)
    create_model("other", [(up, "ok;n=other")])
    with pytest.raises(openai.BadRequestError) as info:
        client_for(create_key()).chat.completions.create(model="small", messages=HI)
    assert info.value.code == "context_length_exceeded"
    assert upstream.hits == {"ctx": 1}


def test_a_content_policy_rejection_goes_to_the_content_policy_fallbacks(up, upstream, client_for):
    create_model(
        "strict", [(up, "policy")], content_policy_fallbacks=["lenient"], fallbacks=["other"], num_retries=3
    )
    create_model("lenient", [(up, "ok;n=lenient")])
    create_model("other", [(up, "ok;n=other")])
    reply = client_for(create_key()).chat.completions.with_raw_response.create(model="strict", messages=HI)
    assert reply.headers["x-router-deployment"] == "up/ok;n=lenient"
    assert upstream.hits == {"policy": 1, "ok;n=lenient": 1}
    (record,) = records()
    assert record.fallback_used
    assert attempts(record) == [("policy", 0, "ContentPolicyError"), ("ok;n=lenient", 0, "")]


def test_a_content_policy_rejection_without_a_fallback_is_a_400(up, upstream, client_for):
    create_model("strict", [(up, "policy")], num_retries=3)
    with pytest.raises(openai.BadRequestError) as info:
        client_for(create_key()).chat.completions.create(model="strict", messages=HI)
    assert info.value.code == "content_policy_violation"
    assert upstream.hits == {"policy": 1}


def test_a_bad_request_is_neither_retried_nor_sent_to_a_fallback(up, upstream, client_for):
    create_model("m", [(up, "err=400;n=a"), (up, "err=400;n=b")], fallbacks=["other"], num_retries=3)
    create_model("other", [(up, "ok")])
    with pytest.raises(openai.BadRequestError):
        client_for(create_key()).chat.completions.create(model="m", messages=HI)
    assert sum(upstream.hits.values()) == 1
    (record,) = records()
    assert (record.status, record.http_status, record.error_type) == ("error", 400, "InvalidRequestError")


def test_an_unknown_fallback_name_is_ignored(up, upstream, live_url):
    create_model("m", [(up, "err=500")], fallbacks=["gone", "other"], num_retries=0)
    create_model("other", [(up, "ok")])
    assert ask(live_url, create_key(), "m").status_code == 200
