"""The Anthropic adapter against a fake Messages API on a real socket."""

from __future__ import annotations

import pytest

from routerapp import errors
from tests.fakes.anthropic_server import FakeAnthropic
from tests.providers.harness import ANTHROPIC, assert_openai_completion, assert_openai_stream, fixtures_for

HARNESS = ANTHROPIC
MODEL = HARNESS.upstream_model
served, fake, base_url = fixtures_for(FakeAnthropic)
create_provider, create_request = HARNESS.create_provider, HARNESS.create_request
complete, stream = HARNESS.complete, HARNESS.stream


# Request translation.


def test_it_posts_to_v1_messages_with_the_anthropic_headers(fake: FakeAnthropic, base_url: str) -> None:
    complete(create_provider(base_url, headers={"anthropic-beta": "prompt-caching-2024-07-31"}))

    assert fake.last_path == "/v1/messages"
    assert fake.last_headers["x-api-key"] == "sk-test"
    assert fake.last_headers["anthropic-version"] == "2023-06-01"
    assert fake.last_headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert "authorization" not in fake.last_headers
    assert fake.last_request is not None
    assert fake.last_request["model"] == MODEL
    assert "stream" not in fake.last_request


def test_a_base_url_ending_in_v1_reaches_the_same_endpoint(fake: FakeAnthropic, base_url: str) -> None:
    complete(create_provider(base_url + "/v1/"))

    assert fake.last_path == "/v1/messages"


def test_it_defaults_to_the_public_anthropic_api() -> None:
    adapter = HARNESS.adapter(create_provider(""))

    assert adapter.messages_url() == "https://api.anthropic.com/v1/messages"


def test_it_moves_system_messages_to_the_system_field(fake: FakeAnthropic, base_url: str) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "system", "content": [{"type": "text", "text": "Answer in French."}]},
        {"role": "user", "content": "Hi"},
        {"role": "developer", "content": "Never mention the weather."},
    ]
    complete(create_provider(base_url), create_request(messages=messages))

    assert fake.last_request is not None
    assert fake.last_request["system"] == "You are terse.\n\nAnswer in French.\n\nNever mention the weather."
    assert fake.last_request["messages"] == [{"role": "user", "content": "Hi"}]


def test_it_merges_consecutive_messages_of_the_same_role(fake: FakeAnthropic, base_url: str) -> None:
    messages = [
        {"role": "user", "content": "First."},
        {"role": "user", "content": [{"type": "text", "text": "Second."}]},
        {"role": "assistant", "content": "Noted."},
        {"role": "system", "content": "Be kind."},
        {"role": "assistant", "content": "Anything else?"},
        {"role": "user", "content": "No."},
    ]
    complete(create_provider(base_url), create_request(messages=messages))

    assert fake.last_request is not None
    assert fake.last_request["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "First."}, {"type": "text", "text": "Second."}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Noted."}, {"type": "text", "text": "Anything else?"}],
        },
        {"role": "user", "content": "No."},
    ]


def test_it_sends_a_default_max_tokens_because_anthropic_requires_one(
    fake: FakeAnthropic, base_url: str
) -> None:
    complete(create_provider(base_url))

    assert fake.last_request is not None
    assert fake.last_request["max_tokens"] == 4096


def test_a_provider_can_change_the_default_max_tokens(fake: FakeAnthropic, base_url: str) -> None:
    complete(create_provider(base_url, options={"max_tokens": 1024}))

    assert fake.last_request is not None
    assert fake.last_request["max_tokens"] == 1024


def test_it_passes_max_tokens_and_sampling_parameters(fake: FakeAnthropic, base_url: str) -> None:
    request = create_request(
        max_completion_tokens=300, max_tokens=100, temperature=0.2, top_p=0.9, stop="END", seed=7
    )
    complete(create_provider(base_url), request)

    sent = fake.last_request
    assert sent is not None
    assert sent["max_tokens"] == 300  # the newer OpenAI name wins
    assert sent["temperature"] == 0.2
    assert sent["top_p"] == 0.9
    assert sent["stop_sequences"] == ["END"]
    assert "stop" not in sent
    assert "seed" not in sent  # Anthropic rejects parameters it does not know


def test_it_translates_tools_tool_calls_and_tool_results(fake: FakeAnthropic, base_url: str) -> None:
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather now", "parameters": {"type": "object"}},
    }
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "user", "content": "Thanks, and tomorrow?"},
    ]
    complete(
        create_provider(base_url), create_request(messages=messages, tools=[tool], tool_choice="required")
    )

    sent = fake.last_request
    assert sent is not None
    assert sent["tools"] == [
        {"name": "get_weather", "description": "Weather now", "input_schema": {"type": "object"}}
    ]
    assert sent["tool_choice"] == {"type": "any"}
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}],
    }
    # The tool result and the next user message become one user turn, result first.
    assert sent["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {"type": "text", "text": "Thanks, and tomorrow?"},
        ],
    }


def test_it_translates_inline_images(fake: FakeAnthropic, base_url: str) -> None:
    content = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    complete(create_provider(base_url), create_request(messages=[{"role": "user", "content": content}]))

    assert fake.last_request is not None
    assert fake.last_request["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }


def test_a_conversation_of_only_system_messages_is_rejected_before_sending(
    fake: FakeAnthropic, base_url: str
) -> None:
    with pytest.raises(errors.InvalidRequestError):
        complete(create_provider(base_url), create_request(messages=[{"role": "system", "content": "Hi"}]))

    assert fake.last_request is None


# Response translation.


def test_it_returns_an_openai_chat_completion(fake: FakeAnthropic, base_url: str) -> None:
    result = complete(create_provider(base_url))

    assert_openai_completion(result, text="Hello from the fake Claude.", model=MODEL)


def test_it_reports_anthropic_usage_as_prompt_and_completion_tokens(
    fake: FakeAnthropic, base_url: str
) -> None:
    result = complete(create_provider(base_url))

    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.estimated) == (
        21,
        9,
        False,
    )
    assert result.body["usage"] == {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30}


def test_cached_prompt_tokens_count_as_prompt_tokens(fake: FakeAnthropic, base_url: str) -> None:
    fake.usage = {
        "input_tokens": 5,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 20,
        "output_tokens": 3,
    }

    result = complete(create_provider(base_url))

    assert result.usage.prompt_tokens == 1025


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls")],
)
def test_it_maps_stop_reasons_to_finish_reasons(
    fake: FakeAnthropic, base_url: str, stop_reason: str, finish_reason: str
) -> None:
    fake.stop_reason = stop_reason

    assert complete(create_provider(base_url)).finish_reason == finish_reason
    assert stream(create_provider(base_url))[-2].finish_reason == finish_reason


def test_it_returns_tool_use_blocks_as_tool_calls(fake: FakeAnthropic, base_url: str) -> None:
    fake.behaviour = "tool_use"

    result = complete(create_provider(base_url))

    message = result.body["choices"][0]["message"]
    assert message["content"] == "Hello from the fake Claude."
    assert message["tool_calls"] == [
        {
            "id": "toolu_01",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
        }
    ]
    assert result.finish_reason == "tool_calls"


# Streaming.


def test_stream_sends_role_content_finish_and_usage_chunks_in_order(
    fake: FakeAnthropic, base_url: str
) -> None:
    chunks = stream(create_provider(base_url))

    assert fake.last_request is not None
    assert fake.last_request["stream"] is True
    assert_openai_stream(chunks, text="Hello from the fake Claude.", usage=(21, 9))
    assert len([chunk for chunk in chunks if chunk.text]) == 5
    assert chunks[-1].data["usage"]["total_tokens"] == 30
    # Every chunk carries the model Anthropic named.
    assert {chunk.data["model"] for chunk in chunks} == {MODEL}


def test_stream_translates_tool_use_blocks_to_tool_call_deltas(fake: FakeAnthropic, base_url: str) -> None:
    fake.behaviour = "tool_use"

    chunks = stream(create_provider(base_url))

    calls = [
        call
        for chunk in chunks
        for call in (chunk.data["choices"] or [{}])[0].get("delta", {}).get("tool_calls", [])
    ]
    assert calls[0] == {
        "index": 0,
        "id": "toolu_01",
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert {call["index"] for call in calls} == {0}
    assert "".join(call["function"]["arguments"] for call in calls) == '{"city": "Paris"}'
    assert chunks[-2].finish_reason == "tool_calls"


def test_rate_limit_errors_carry_retry_after(fake: FakeAnthropic, base_url: str) -> None:
    fake.behaviour = "rate_limited"

    with pytest.raises(errors.RateLimitError) as info:
        complete(create_provider(base_url))

    assert info.value.retry_after == 7.0
    assert info.value.retryable


def test_overloaded_is_retryable(fake: FakeAnthropic, base_url: str) -> None:
    fake.behaviour = "overloaded"

    with pytest.raises(errors.ProviderUnavailableError) as info:
        complete(create_provider(base_url))

    assert info.value.retryable
    assert "Overloaded" in info.value.message


def test_the_prompt_too_long_message_reaches_the_client(fake: FakeAnthropic, base_url: str) -> None:
    fake.behaviour = "prompt_too_long"

    with pytest.raises(errors.ContextWindowExceededError) as info:
        complete(create_provider(base_url))

    assert "prompt is too long" in info.value.message
    assert not info.value.retryable


# Fidelity (routerapp.providers.fields): what OpenAI fields become for Anthropic.

JSON_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "weather",
        "schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_a_json_response_format_is_a_forced_tool_whose_input_is_the_content(
    fake: FakeAnthropic, base_url: str
) -> None:
    fake.behaviour, fake.tool_name = "tool_use", "json_response"
    result = complete(create_provider(base_url), create_request(response_format=JSON_FORMAT))

    sent = fake.last_request
    assert sent["tool_choice"] == {"type": "tool", "name": "json_response"}
    assert sent["tools"][0]["input_schema"] == JSON_FORMAT["json_schema"]["schema"]
    message = result.body["choices"][0]["message"]
    assert message["content"] == '{"city":"Paris"}' and "tool_calls" not in message
    assert result.finish_reason == "stop"


def test_a_streamed_json_answer_arrives_as_content(fake: FakeAnthropic, base_url: str) -> None:
    fake.behaviour, fake.tool_name = "tool_use", "json_response"
    chunks = stream(
        create_provider(base_url), create_request(stream=True, response_format={"type": "json_object"})
    )

    assert fake.last_request["tools"][0]["input_schema"] == {"type": "object"}
    text = "".join(c.text for c in chunks)
    assert text.endswith('{"city": "Paris"}')
    assert not any(c.data["choices"] and c.data["choices"][0]["delta"].get("tool_calls") for c in chunks)
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["stop"]


def test_reasoning_effort_is_a_thinking_budget_and_thinking_comes_back_as_reasoning_content(
    fake: FakeAnthropic, base_url: str
) -> None:
    fake.behaviour = "thinking"
    result = complete(create_provider(base_url), create_request(reasoning_effort="medium", max_tokens=1000))

    assert fake.last_request["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert fake.last_request["max_tokens"] == 3048  # the budget on top of the answer's tokens
    message = result.body["choices"][0]["message"]
    assert message["reasoning_content"] == fake.thinking
    assert message["content"] == fake.reply


def test_streamed_thinking_arrives_as_reasoning_content_deltas(fake: FakeAnthropic, base_url: str) -> None:
    fake.behaviour = "thinking"
    chunks = stream(create_provider(base_url), create_request(stream=True, reasoning_effort="low"))

    deltas = [c.data["choices"][0]["delta"] for c in chunks if c.data["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == fake.thinking
    assert "".join(c.text for c in chunks) == fake.reply


def test_cache_control_on_content_parts_and_tools_reaches_anthropic(
    fake: FakeAnthropic, base_url: str
) -> None:
    ephemeral = {"type": "ephemeral"}
    messages = [
        {
            "role": "system",
            "content": [{"type": "text", "text": "A long manual.", "cache_control": ephemeral}],
        },
        {"role": "user", "content": [{"type": "text", "text": "Hi", "cache_control": ephemeral}]},
    ]
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object"}},
        "cache_control": ephemeral,
    }
    complete(create_provider(base_url), create_request(messages=messages, tools=[tool]))

    sent = fake.last_request
    assert sent["system"] == [{"type": "text", "text": "A long manual.", "cache_control": ephemeral}]
    assert sent["messages"][0]["content"] == [{"type": "text", "text": "Hi", "cache_control": ephemeral}]
    assert sent["tools"][0]["cache_control"] == ephemeral


def test_a_json_response_format_beside_tools_is_refused(fake: FakeAnthropic, base_url: str) -> None:
    tool = {"type": "function", "function": {"name": "f"}}
    with pytest.raises(errors.UnsupportedParamError) as caught:
        complete(
            create_provider(base_url), create_request(tools=[tool], response_format={"type": "json_object"})
        )
    assert caught.value.param == "response_format" and fake.last_request is None
