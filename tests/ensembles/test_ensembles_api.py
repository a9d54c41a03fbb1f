"""Ensembles through the front door: the real server, fake upstreams and simulated members, the SDK."""

from __future__ import annotations

import json

import httpx
import pytest

from routerapp.models import Attempt, QueryRecord
from tests.factories import create_ensemble, create_key, create_model, create_provider
from tests.helpers import flush_history

MATH = [{"role": "user", "content": "What is 17 plus 25 times 2?"}]


def post(live_url: str, key: str, body: dict) -> httpx.Response:
    return httpx.post(
        f"{live_url}/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, json=body, timeout=30
    )


@pytest.fixture
def up(upstream, live_url):
    return create_provider(name="up", kind="openai", base_url=upstream.base_url)


def models(provider, **upstreams: str) -> None:
    for name, upstream_model in upstreams.items():
        create_model(name, [(provider, upstream_model)], num_retries=0)


def record(request_id: str) -> QueryRecord:
    flush_history()
    return QueryRecord.objects.get(request_id=request_id)


def test_sdk_gets_the_majority_answer_with_the_evidence(up, client_for):
    models(up, a="words=Paris", b="words=Paris", c="words=Lyon")
    create_ensemble("council", ["a", "b", "c"], merge="vote", min_members=2)
    reply = client_for(create_key()).chat.completions.create(
        model="council", messages=[{"role": "user", "content": "Capital of France?"}]
    )
    assert reply.choices[0].message.content == "Paris"
    assert reply.model == "council"
    ensemble = reply.model_extra["ensemble"]
    assert ensemble["strategy"] == "vote"
    assert ensemble["chosen"] in (0, 1)
    assert [m["model"] for m in ensemble["members"]] == ["a", "b", "c"]
    assert all(m["kept"] and m["dropped_because"] is None for m in ensemble["members"])
    assert set(ensemble["members"][0]) == {
        "model",
        "deployment",
        "confidence",
        "kept",
        "dropped_because",
        "latency_ms",
        "cost_usd",
    }
    # The two that agree are more confident than the one alone, and so is the merged answer.
    confidences = [m["confidence"] for m in ensemble["members"]]
    assert confidences[0] == confidences[1] > confidences[2]
    assert ensemble["confidence"] == confidences[0]
    # Usage sums the three members.
    assert reply.usage.completion_tokens == 3


def test_the_ensemble_is_a_model_name_for_listing_and_allow_lists(up, client_for, live_url):
    models(up, a="ok", b="ok")
    create_ensemble("council", ["a", "b"])
    client = client_for(create_key())
    assert "council" in [m.id for m in client.models.list()]
    assert client.models.retrieve("council").id == "council"
    limited = client_for(create_key(name="limited", allowed_models=["a"]))
    assert "council" not in [m.id for m in limited.models.list()]
    only_council = create_key(name="only-council", allowed_models=["council"])
    ok = post(live_url, only_council, {"model": "council", "messages": MATH})
    assert ok.status_code == 200, ok.text  # members run for the ensemble, not against the key's list
    denied = post(live_url, only_council, {"model": "a", "messages": MATH})
    assert denied.status_code == 403


def test_one_record_with_an_attempt_per_member(up, live_url):
    models(up, a="words=yes", b="words=no")
    create_ensemble("council", ["a", "b", "a"], merge="best")
    response = post(live_url, create_key(), {"model": "council", "messages": MATH})
    assert response.status_code == 200
    row = record(response.headers["x-request-id"])
    assert row.model == "council" and row.status == "ok"
    members = sorted(Attempt.objects.filter(query=row).values_list("member", flat=True))
    assert members == ["a", "a#2", "b"]
    assert [m["label"] for m in row.ensemble["members"]] == ["a", "b", "a#2"]
    assert row.ensemble["members"][1]["answer"] == "no"
    assert QueryRecord.objects.count() == 1  # members leave no records of their own


def test_a_repeated_member_is_sampled_with_its_own_seed(up, upstream, live_url):
    models(up, a="ok")
    create_ensemble("self", ["a", "a", "a"])
    post(live_url, create_key(), {"model": "self", "messages": MATH, "seed": 7})
    seeds = sorted(body.get("seed") for body in upstream.bodies)
    assert seeds == [7, 8, 9]


def test_a_repeated_member_that_takes_no_seed_answers_without_one(live_url, anthropic_server):
    # Anthropic refuses `seed`: the seed the router adds to tell repeats apart is left out for it,
    # where a seed the client sent is refused as on any request.
    claude = create_provider(name="claude", kind="anthropic", base_url=anthropic_server[1])
    create_model("c", [(claude, "claude-fake")], num_retries=0)
    create_ensemble("twice", ["c", "c"], min_members=2)
    key = create_key()
    body = post(live_url, key, {"model": "twice", "messages": MATH}).json()
    assert [m["kept"] for m in body["ensemble"]["members"]] == [True, True], body
    assert "seed" not in anthropic_server[0].last_request
    refused = post(live_url, key, {"model": "twice", "messages": MATH, "seed": 3})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "seed"


def test_refusals_and_truncations_are_dropped_with_their_reason(up, live_url):
    models(
        up,
        a="words=I'm_sorry,_but_I_can't_help_with_that.",
        b="words=The_answer_is_42_and_then;finish=length",
        c="words=The_answer_is_42.",
    )
    create_ensemble("council", ["a", "b", "c"], min_members=1)
    body = post(live_url, create_key(), {"model": "council", "messages": MATH}).json()
    members = body["ensemble"]["members"]
    assert [(m["kept"], m["dropped_because"]) for m in members] == [
        (False, "refusal"),
        (False, "truncated"),
        (True, None),
    ]
    assert body["choices"][0]["message"]["content"] == "The answer is 42."
    assert body["ensemble"]["chosen"] == 2


def test_quorum_failure_is_a_502_listing_each_member(up, live_url):
    models(up, a="err=500", b="words=I_cannot_assist_with_this.", c="words=42")
    create_ensemble("council", ["a", "b", "c"], min_members=2)
    response = post(live_url, create_key(), {"model": "council", "messages": MATH})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "ensemble_quorum_not_met"
    assert "1 usable answer(s) of 3, 2 needed" in error["message"]
    assert [(m["model"], m["kept"], m["dropped_because"]) for m in error["members"]] == [
        ("a", False, "error: ProviderUnavailableError"),
        ("b", False, "refusal"),
        ("c", True, None),
    ]
    flush_history()
    row = QueryRecord.objects.get(model="council")
    assert row.status == "error" and row.http_status == 502
    assert row.ensemble["members"][0]["error"]


def test_a_member_timing_out_does_not_hold_the_others(up, live_url):
    models(up, a="words=42", b="words=42", slow="hang")
    create_ensemble("council", ["a", "b", "slow"], min_members=2, member_timeout_s=0.3)
    response = post(live_url, create_key(), {"model": "council", "messages": MATH})
    assert response.status_code == 200
    members = response.json()["ensemble"]["members"]
    assert members[2]["dropped_because"] == "timeout" and not members[2]["kept"]
    row = record(response.headers["x-request-id"])
    timed_out = Attempt.objects.get(query=row, member="slow")
    assert timed_out.error_type == "MemberTimeout"


def test_members_timing_out_below_quorum_is_a_504(up, live_url):
    models(up, a="words=42", slow="hang")
    create_ensemble("council", ["a", "slow", "slow"], min_members=2, member_timeout_s=0.3)
    response = post(live_url, create_key(), {"model": "council", "messages": MATH})
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "ensemble_members_timed_out"
    assert [m["dropped_because"] for m in error["members"]] == [None, "timeout", "timeout"]


def test_all_members_disagreeing_goes_to_the_most_confident_with_low_confidence(up, live_url):
    # Three different answers; the one that is a clean sentence beats two with problems.
    models(up, a="words=Paris", b="words=Lyon", c="words=Nice")
    create_ensemble("council", ["a", "b", "c"])
    body = post(live_url, create_key(), {"model": "council", "messages": MATH}).json()
    ensemble = body["ensemble"]
    assert ensemble["chosen"] is not None
    chosen = ensemble["members"][ensemble["chosen"]]
    assert chosen["confidence"] == max(m["confidence"] for m in ensemble["members"])
    agreeing = post(live_url, create_key(name="k2"), {"model": "agree", "messages": MATH})
    assert agreeing.status_code == 404
    create_ensemble("agree", ["a", "a", "a"])
    agreed = post(live_url, create_key(name="k3"), {"model": "agree", "messages": MATH}).json()
    assert ensemble["confidence"] < agreed["ensemble"]["confidence"]


def test_tool_calls_are_voted_on_name_and_arguments_and_pass_through(up, live_url):
    models(
        up,
        a="tool=get_weather;arg=city:Paris,unit:c",
        b="tool=get_weather;arg=unit:c,city:Paris",  # same call, arguments in another order
        c="tool=get_time;arg=city:Paris",
    )
    create_ensemble("agents", ["c", "a", "b"])
    tools = [
        {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
        for n in ("get_weather", "get_time")
    ]
    body = post(live_url, create_key(), {"model": "agents", "messages": MATH, "tools": tools}).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris", "unit": "c"}
    assert call["id"].startswith("call_")  # passed through as the member sent it
    assert body["ensemble"]["chosen"] in (1, 2)


def test_the_merged_answer_streams_once_the_merge_is_done(up, client_for):
    models(up, a="words=forty_two_is_the_answer", b="words=forty_two_is_the_answer", c="words=no")
    create_ensemble("council", ["a", "b", "c"])
    chunks = list(
        client_for(create_key()).chat.completions.create(
            model="council", messages=MATH, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "forty two is the answer"
    assert len({c.id for c in chunks}) == 1
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason][0]
    assert finish.choices[0].finish_reason == "stop"
    assert finish.model_extra["ensemble"]["strategy"] == "vote"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 11


def test_a_client_error_every_member_shares_is_the_clients(up, live_url):
    models(up, a="err=400", b="err=400")
    create_ensemble("council", ["a", "b"])
    response = post(live_url, create_key(), {"model": "council", "messages": MATH})
    assert response.status_code == 400


SIMULATED = {
    "latency_ms": 5,
    "jitter_ms": 0,
    "models": {"m-right": {"quality": 1.0}, "m-wrong": {"quality": 0.0}},
}


def test_synthesize_sends_the_candidates_to_the_judge(live_url):
    sim = create_provider(name="sim", kind="simulated", options=SIMULATED)
    create_model("right", [(sim, "m-right")])
    create_model("wrong", [(sim, "m-wrong")])
    create_model("judge", [(sim, "m-right")])
    create_ensemble("fused", ["right", "wrong"], merge="synthesize", judge="judge")
    response = post(live_url, create_key(), {"model": "fused", "messages": MATH})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ensemble"]["chosen"] is None
    assert body["ensemble"]["judge"]["model"] == "judge"
    assert "67" in body["choices"][0]["message"]["content"]
    row = record(response.headers["x-request-id"])
    assert sorted(Attempt.objects.filter(query=row).values_list("member", flat=True)) == [
        "judge",
        "right",
        "wrong",
    ]
    # Members' and judge's tokens are all counted.
    assert body["usage"]["prompt_tokens"] == row.prompt_tokens > 0


def test_a_synthesize_ensemble_votes_when_members_call_tools(up, live_url):
    models(up, a="tool=get_time;arg=city:Oslo", b="tool=get_time;arg=city:Oslo", judge="words=never_asked")
    create_ensemble("fused", ["a", "b"], merge="synthesize", judge="judge")
    body = post(live_url, create_key(), {"model": "fused", "messages": MATH}).json()
    assert body["ensemble"]["strategy"] == "vote"
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_time"
    assert "judge" not in body["ensemble"]
