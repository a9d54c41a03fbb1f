"""/v1/messages and /v1/messages/count_tokens through the real server with the official Anthropic SDK,
against an OpenAI-kind deployment (translated) and an Anthropic-kind one (the body passed as is)."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from routerapp.models import QueryRecord
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def claude(anthropic_server, live_url):
    app, url = anthropic_server
    app.reset()
    provider = create_provider(name="claude-up", kind="anthropic", base_url=url)
    create_model("claude", [(provider, "claude-upstream")])
    return app


@pytest.fixture
def gpt(upstream, live_url):
    provider = create_provider(name="openai-up", kind="openai", base_url=upstream.base_url)
    create_model("gpt", [(provider, "ok")])
    create_model("gpt-tools", [(provider, "tool=get_weather;arg=city:Paris")])
    return upstream


@pytest.fixture
def sdk(live_url):
    return anthropic.Anthropic(base_url=live_url, api_key=create_key(), max_retries=0, timeout=30)


def record_of(request_id: str) -> QueryRecord:
    flush_history()
    return QueryRecord.objects.get(request_id=request_id)


def test_an_openai_deployment_answers_the_anthropic_sdk(gpt, sdk):
    raw = sdk.messages.with_raw_response.create(
        model="gpt",
        max_tokens=100,
        system="Be brief.",
        messages=HI,
        metadata={"user_id": "u-7"},
        service_tier="auto",
    )
    assert raw.headers["x-router-dropped-params"] == "service_tier"
    reply = raw.parse()
    assert reply.type == "message" and reply.role == "assistant" and reply.model == "gpt"
    assert reply.content[0].type == "text" and reply.content[0].text == "The answer to 'hi' is forty two."
    assert reply.stop_reason == "end_turn"
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens == 7
    sent = gpt.last
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert sent["max_tokens"] == 100 and sent["user"] == "u-7"
    record = record_of(raw.headers["x-request-id"])
    assert record.endpoint == "/v1/messages" and record.status == "ok"
    assert record.completion_tokens == 7 and record.deployment is not None


def test_tool_use_and_tool_results_round_trip_through_an_openai_deployment(gpt, sdk):
    reply = sdk.messages.create(
        model="gpt-tools",
        max_tokens=100,
        tools=[WEATHER_TOOL],
        tool_choice={"type": "any", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    assert reply.stop_reason == "tool_use"
    (call,) = [block for block in reply.content if block.type == "tool_use"]
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    sent = gpt.last
    assert sent["tools"][0]["function"]["parameters"] == WEATHER_TOOL["input_schema"]
    assert sent["tool_choice"] == "required" and sent["parallel_tool_calls"] is False

    sdk.messages.create(
        model="gpt",
        max_tokens=100,
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": call.id, "content": "18 C, sunny"},
                    {"type": "text", "text": "Thanks, and tomorrow?"},
                ],
            },
        ],
    )
    assistant, tool, user = gpt.last["messages"][1:]
    assert assistant["tool_calls"][0]["id"] == call.id
    assert assistant["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert tool == {"role": "tool", "tool_call_id": call.id, "content": "18 C, sunny"}
    assert user == {"role": "user", "content": "Thanks, and tomorrow?"}


def test_an_image_block_reaches_an_openai_deployment_as_an_image_url(gpt, sdk):
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    sdk.messages.create(
        model="gpt",
        max_tokens=10,
        messages=[{"role": "user", "content": [image, {"type": "text", "text": "What is it?"}]}],
    )
    parts = gpt.last["messages"][0]["content"]
    assert parts[0] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    assert parts[1] == {"type": "text", "text": "What is it?"}


def test_a_stream_from_an_openai_deployment_has_anthropics_events_and_its_tool_call(gpt, sdk):
    with sdk.messages.stream(
        model="gpt-tools",
        max_tokens=100,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "Paris?"}],
        service_tier="auto",
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert stream.response.headers["x-router-dropped-params"] == "service_tier"
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert {"content_block_start", "content_block_delta", "content_block_stop", "message_delta"} <= set(kinds)
    text, call = final.content
    assert text.type == "text" and text.text.startswith("The answer to 'Paris?'")
    assert call.type == "tool_use" and call.name == "get_weather" and call.input == {"city": "Paris"}
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens > 0
    assert gpt.last["stream"] is True and gpt.last["stream_options"] == {"include_usage": True}


def test_an_anthropic_deployment_gets_the_clients_body_and_its_answer_comes_back_as_is(claude, sdk):
    system = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    raw = sdk.messages.with_raw_response.create(
        model="claude",
        max_tokens=2048,
        system=system,
        messages=HI,
        thinking={"type": "enabled", "budget_tokens": 1024},
        service_tier="auto",
        extra_body={"top_k": 5},
    )
    reply = raw.parse()
    assert reply.id == "msg_fake01" and reply.model == "claude"
    assert reply.content[0].text == claude.reply
    assert reply.usage.input_tokens == 21 and reply.usage.output_tokens == 9
    sent = claude.last_request
    assert sent["model"] == "claude-upstream"
    assert sent["system"] == system and sent["messages"] == HI  # untranslated: cache_control kept
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024} and sent["top_k"] == 5
    assert sent["service_tier"] == "auto" and "stream" not in sent
    assert "x-router-dropped-params" not in raw.headers
    assert record_of(raw.headers["x-request-id"]).endpoint == "/v1/messages"


def test_an_anthropic_deployment_streams_a_tool_call_to_the_sdk(claude, sdk):
    claude.behaviour = "tool_use"
    with sdk.messages.stream(
        model="claude", max_tokens=100, tools=[WEATHER_TOOL], messages=HI, service_tier="auto"
    ) as stream:
        final = stream.get_final_message()
    assert "x-router-dropped-params" not in stream.response.headers  # the body went as sent
    assert claude.last_request["service_tier"] == "auto"
    assert claude.last_request["stream"] is True and claude.last_request["tools"] == [WEATHER_TOOL]
    text, call = final.content
    assert text.text == claude.reply
    assert call.name == "get_weather" and call.input == {"city": "Paris"} and call.id == "toolu_01"
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 9


def test_an_anthropic_deployments_own_stream_events_reach_the_sdk_with_thinking_signatures(claude, sdk):
    claude.behaviour = "thinking"
    with sdk.messages.stream(
        model="claude", max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024}, messages=HI
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    thinking, text = final.content
    assert thinking.type == "thinking" and thinking.thinking == claude.thinking
    assert thinking.signature == "sig01"  # only the upstream's own events carry it
    assert text.text == claude.reply and final.model == "claude"
    assert final.usage.input_tokens == 21 and final.usage.output_tokens == 9
    assert kinds.count("message_start") == 1 and kinds.count("message_stop") == 1
    assert kinds.count("message_delta") == 1


def test_a_stream_cut_on_an_anthropic_deployment_continues_on_the_fallback(claude, gpt, sdk):
    from routerapp.models import ModelGroup

    ModelGroup.objects.filter(name="claude").update(fallbacks=["gpt"])
    claude.behaviour = "truncated"  # one word, then the connection ends without message_stop
    with sdk.messages.stream(model="claude", max_tokens=100, messages=HI) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    (text,) = final.content
    first_word = claude.reply.split(" ")[0] + " "
    assert text.text.startswith(first_word) and len(text.text) > len(first_word)
    assert gpt.last["messages"][-1] == {"role": "assistant", "content": first_word}
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 1
    assert kinds[-1] == "message_stop" and final.stop_reason == "end_turn"


def test_errors_come_in_anthropics_shape_with_a_request_id(gpt, sdk, live_url):
    with pytest.raises(anthropic.NotFoundError) as not_found:
        sdk.messages.create(model="no-such-model", max_tokens=10, messages=HI)
    assert not_found.value.body["type"] == "error"
    assert not_found.value.body["error"]["type"] == "not_found_error"

    with pytest.raises(anthropic.AuthenticationError) as unauthenticated:
        anthropic.Anthropic(base_url=live_url, api_key="wrong", max_retries=0).messages.create(
            model="gpt", max_tokens=10, messages=HI
        )
    assert unauthenticated.value.body["error"]["type"] == "authentication_error"

    key = create_key(name="raw")
    response = httpx.post(
        f"{live_url}/v1/messages", headers={"x-api-key": key}, json={"model": "gpt", "messages": HI}
    )
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "'max_tokens': must be a positive integer (Anthropic requires it).",
        },
    }
    record = record_of(response.headers["x-request-id"])
    assert record.endpoint == "/v1/messages" and record.http_status == 400

    server_tool = {"type": "web_search_20250305", "name": "web_search"}
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.messages.create(model="gpt", max_tokens=10, messages=HI, tools=[server_tool])
    assert "web_search_20250305" in refused.value.body["error"]["message"]

    wrong_method = httpx.get(f"{live_url}/v1/messages", headers={"x-api-key": key})
    assert wrong_method.status_code == 405 and wrong_method.json()["type"] == "error"
    unknown = httpx.post(f"{live_url}/v1/messages/batches", headers={"x-api-key": key}, json={})
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"


def test_an_upstream_failure_reaches_the_sdk_as_an_anthropic_error(upstream, live_url, sdk):
    provider = create_provider(name="down", kind="openai", base_url=upstream.base_url)
    create_model("down", [(provider, "err=500")], num_retries=0)
    with pytest.raises(anthropic.APIStatusError) as failed:
        sdk.messages.create(model="down", max_tokens=10, messages=HI)
    assert failed.value.status_code == 502
    assert failed.value.body["error"]["type"] == "overloaded_error"


def test_count_tokens_estimates_the_prompt_for_a_model_the_key_may_use(gpt, sdk):
    short = sdk.messages.count_tokens(model="gpt", messages=HI)
    longer = sdk.messages.count_tokens(
        model="gpt", system="Answer in French. " * 20, messages=HI, tools=[WEATHER_TOOL]
    )
    assert 0 < short.input_tokens < longer.input_tokens
    with pytest.raises(anthropic.NotFoundError):
        sdk.messages.count_tokens(model="no-such-model", messages=HI)
    flush_history()
    counted = QueryRecord.objects.filter(endpoint="/v1/messages/count_tokens")
    assert sorted(counted.values_list("status", flat=True)) == ["error", "ok", "ok"]
