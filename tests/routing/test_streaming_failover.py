"""Streams: fallback before the first byte, continuation after it, an error event when nothing is left."""

from __future__ import annotations

import json

import httpx

from routerapp.models import QueryRecord
from tests.factories import create_key, create_model, create_provider
from tests.helpers import HI, attempt_latencies, attempts, flush_history, records, stream_events, wait_for


def text_of(events: list[str]) -> str:
    parts = []
    for event in events:
        if event == "[DONE]":
            continue
        for choice in json.loads(event).get("choices") or ():
            parts.append(choice["delta"].get("content") or "")
    return "".join(parts)


def chunks_of(events: list[str]) -> list[dict]:
    return [json.loads(e) for e in events if e != "[DONE]"]


def finish_reasons(events: list[str]) -> list[str]:
    return [
        c["choices"][0]["finish_reason"]
        for c in chunks_of(events)
        if c.get("choices") and c["choices"][0]["finish_reason"]
    ]


def test_a_stream_failing_before_its_first_byte_falls_back_like_any_request(up, upstream, client_for):
    create_model("m", [(up, "err=500")], fallbacks=["other"], num_retries=1)
    create_model("other", [(up, "ok")])
    stream = client_for(create_key()).chat.completions.create(model="m", messages=HI, stream=True)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks).startswith("The answer to 'hi'")
    assert upstream.hits == {"err=500": 2, "ok": 1}
    (record,) = records()
    assert record.status == "ok" and record.fallback_used and record.stream


def test_a_stream_without_a_first_token_in_time_falls_back(up, upstream, live_url):
    create_model("m", [(up, "hang")], first_token_timeout_s=0.3, num_retries=0, fallbacks=["other"])
    create_model("other", [(up, "ok")])
    # Without the first-token timeout the hang would last the provider's 60 s timeout, past the
    # client's 30 s: that the fallback answers at all is the proof, whatever the machine's load.
    _, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    assert events[-1] == "[DONE]"
    (record,) = records()
    assert attempts(record) == [("hang", 0, "UpstreamTimeoutError"), ("ok", 0, "")]
    # Not given up before its 0.3 s (uvloop keeps timers in whole milliseconds: one may fire
    # up to a millisecond early, hence the margin, as in the other timeout tests).
    assert attempt_latencies(record)[0] >= 300 * 0.95


def test_a_stream_cut_midway_continues_on_the_next_deployment_as_one_answer(up, upstream, live_url):
    create_model("m", [(up, "cut=3")], fallbacks=["other"])
    create_model("other", [(up, "ok;words=and_so_on.")])
    response, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    assert events[-1] == "[DONE]"
    assert text_of(events) == "The answer to and so on."
    chunks = chunks_of(events)
    assert len({c["id"] for c in chunks}) == 1 and {c["model"] for c in chunks} == {"m"}
    assert finish_reasons(events) == ["stop"]
    assert [c["choices"][0]["delta"].get("role") for c in chunks].count("assistant") == 1
    # The continuation carried the partial answer as a trailing assistant message.
    continuation = upstream.bodies[-1]
    assert continuation["model"] == "ok;words=and_so_on."
    assert continuation["messages"] == [*HI, {"role": "assistant", "content": "The answer to "}]
    (record,) = records()
    assert record.status == "ok" and record.fallback_used
    assert record.response_body == "The answer to and so on."
    assert [a[:2] for a in attempts(record)] == [("cut=3", 0), ("ok;words=and_so_on.", 0)]
    assert attempts(record)[0][2] == "ProviderUnavailableError"


def test_a_stream_cut_with_nothing_left_ends_with_an_error_event_and_no_done(up, upstream, live_url):
    create_model("m", [(up, "cut=3")])
    response, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    assert response.status_code == 200
    assert "[DONE]" not in events
    assert text_of(events[:-1]) == "The answer to "
    error = json.loads(events[-1])["error"]
    assert error["code"] == "provider_unavailable" and error["message"]
    (record,) = records()
    assert (record.status, record.error_type) == ("error", "ProviderUnavailableError")


def test_the_sdk_raises_when_the_stream_ends_with_an_error_event(up, upstream, client_for):
    create_model("m", [(up, "cut=2")])
    stream = client_for(create_key()).chat.completions.create(model="m", messages=HI, stream=True)
    received = []
    try:
        for chunk in stream:
            received.append(chunk)
        raised = False
    except Exception:  # noqa: BLE001 - which APIError subclass depends on the SDK version
        raised = True
    assert raised and received


def test_a_stalled_stream_is_detected_by_the_chunk_timeout_and_continued(up, upstream, live_url):
    create_model("m", [(up, "stall=2")], chunk_timeout_s=0.3, fallbacks=["other"])
    create_model("other", [(up, "ok;words=rest")])
    _, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    assert events[-1] == "[DONE]"
    # Continued elsewhere: had the 2 s stall been waited out, the first deployment would have finished.
    assert text_of(events) == "The answer rest"
    (record,) = records()
    assert attempts(record)[0] == ("stall=2", 0, "UpstreamTimeoutError")


def test_a_slow_but_steady_stream_is_not_a_stall(up, upstream, live_url):
    create_model("m", [(up, "ok;chunks=8;chunk_delay=100")], chunk_timeout_s=0.5, fallbacks=["other"])
    create_model("other", [(up, "ok;n=other")])
    _, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    assert events[-1] == "[DONE]"
    assert (
        len([c for c in chunks_of(events) if c["choices"] and c["choices"][0]["delta"].get("content")]) == 8
    )
    assert upstream.hits["ok;n=other"] == 0


def test_a_stream_missing_its_done_marker_is_a_failure(up, upstream, live_url):
    create_model("m", [(up, "nodone")])
    _, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    assert "[DONE]" not in events and "error" in json.loads(events[-1])
    # The finish chunk is only released once the upstream ended cleanly.
    assert finish_reasons(events) == []
    (record,) = records()
    assert record.status == "error"


def test_a_stream_missing_its_done_marker_is_continued_with_one_finish(up, upstream, live_url):
    create_model("m", [(up, "nodone")], fallbacks=["other"])
    create_model("other", [(up, "ok;words=!")])
    _, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    assert events[-1] == "[DONE]"
    assert text_of(events) == "The answer to 'hi' is forty two.!"
    assert finish_reasons(events) == ["stop"]


def test_a_malformed_chunk_midway_continues_elsewhere(up, upstream, live_url):
    create_model("m", [(up, "malformed")], fallbacks=["other"])
    create_model("other", [(up, "ok;words=fine")])
    _, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})
    assert events[-1] == "[DONE]"
    assert text_of(events).endswith("fine")


def test_usage_is_asked_upstream_and_given_only_to_clients_who_asked(up, upstream, live_url):
    create_model("m", [(up, "ok")])
    key = create_key()
    _, plain = stream_events(live_url, key, {"model": "m", "messages": HI})
    assert upstream.last["stream_options"] == {"include_usage": True}
    assert all(c["choices"] for c in chunks_of(plain))
    _, asked = stream_events(
        live_url, key, {"model": "m", "messages": HI, "stream_options": {"include_usage": True}}
    )
    usage = chunks_of(asked)[-1]
    assert usage["choices"] == [] and usage["usage"]["prompt_tokens"] == 10
    # Both records carry the upstream's usage, not an estimate.
    assert [r.prompt_tokens for r in records()] == [10, 10]


def test_usage_is_estimated_when_the_provider_cannot_report_it(upstream, live_url):
    quiet = create_provider(name="quiet", base_url=upstream.base_url, options={"stream_usage": False})
    create_model("m", [(quiet, "ok")])
    _, events = stream_events(
        live_url, create_key(), {"model": "m", "messages": HI, "stream_options": {"include_usage": True}}
    )
    assert "stream_options" not in upstream.last
    usage = chunks_of(events)[-1]["usage"]
    (record,) = records()
    assert usage["completion_tokens"] == record.completion_tokens > 0  # ~4 characters a token
    assert usage["prompt_tokens"] == record.prompt_tokens > 0


def test_usage_of_a_continued_stream_adds_up_both_segments(up, upstream, live_url):
    create_model("m", [(up, "cut=3")], fallbacks=["other"])
    create_model("other", [(up, "ok;words=a_b")])
    _, events = stream_events(
        live_url, create_key(), {"model": "m", "messages": HI, "stream_options": {"include_usage": True}}
    )
    usage = chunks_of(events)[-1]["usage"]
    # The cut segment is estimated (the prompt, ~3 tokens of text); the continuation reported 10 + 2.
    (record,) = records()
    assert usage["completion_tokens"] == record.completion_tokens >= 2 + 1
    assert usage["prompt_tokens"] == record.prompt_tokens > 10


def test_a_client_leaving_mid_stream_is_recorded_as_cancelled_with_partial_usage(up, upstream, live_url):
    create_model(
        "m", [(up, "ok;chunks=40;chunk_delay=50", {"input_cost_per_mtok": 1.0, "output_cost_per_mtok": 1.0})]
    )
    with httpx.stream(
        "POST",
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {create_key()}"},
        json={"model": "m", "messages": HI, "stream": True},
        timeout=10,
    ) as response:
        lines = response.iter_lines()
        seen = [line for line, _ in zip(lines, range(8), strict=False) if line.startswith("data: ")]
    assert seen
    # The server notices the hang-up on its own time: wait for its record.
    record = wait_for(
        lambda: flush_history() or QueryRecord.objects.first(), what="the cancelled stream's record"
    )
    assert (record.status, record.http_status) == ("cancelled", 499)
    assert 0 < record.completion_tokens < 40 and record.prompt_tokens > 0
    assert record.cost_usd > 0
    assert record.response_body


# Only text is continued elsewhere: a tool call or reasoning the client already has part of
# ends the stream with an error event, never with a call another model finished differently.


def test_a_stream_cut_inside_a_tool_call_ends_with_an_error_event_not_a_broken_call(up, upstream, live_url):
    create_model("m", [(up, "tool=get_weather;arg=city:Paris;cut_tool")], fallbacks=["other"])
    create_model("other", [(up, "ok;words=and_so_on.")])
    response, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})

    assert response.status_code == 200 and "[DONE]" not in events
    error = json.loads(events[-1])["error"]
    assert "tool call" in error["message"] and "cannot continue exactly" in error["message"]
    assert upstream.hits["ok;words=and_so_on."] == 0  # nothing was asked to finish the call
    assert not finish_reasons(events)
    (record,) = records()
    assert (record.status, record.error_type) == ("error", "ProviderUnavailableError")


def test_a_stream_cut_after_reasoning_began_ends_with_an_error_event(up, upstream, live_url):
    create_model("m", [(up, "think=Let me see;cut=0")], fallbacks=["other"])
    create_model("other", [(up, "ok;words=and_so_on.")])
    response, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})

    assert "[DONE]" not in events and "error" in json.loads(events[-1])
    reasoning = [c["choices"][0]["delta"].get("reasoning_content") for c in chunks_of(events[:-1])]
    assert "Let me see" in reasoning
    assert upstream.hits["ok;words=and_so_on."] == 0


def test_a_stream_cut_in_its_text_before_any_tool_call_still_continues(up, upstream, live_url):
    create_model("m", [(up, "cut=2")], fallbacks=["other"])
    create_model("other", [(up, "tool=get_weather;arg=city:Paris")])
    response, events = stream_events(live_url, create_key(), {"model": "m", "messages": HI})

    assert events[-1] == "[DONE]" and finish_reasons(events) == ["tool_calls"]
    calls = [d for c in chunks_of(events) for d in c["choices"][0]["delta"].get("tool_calls") or ()]
    assert "".join(d["function"].get("arguments") or "" for d in calls) == '{"city": "Paris"}'
