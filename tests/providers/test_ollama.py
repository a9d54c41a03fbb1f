"""The Ollama adapter against a fake Ollama /api/chat on a real socket."""

from __future__ import annotations

import pytest

from routerapp import errors
from tests.fakes.ollama_server import FakeOllama
from tests.providers.harness import OLLAMA, assert_openai_completion, assert_openai_stream, fixtures_for

HARNESS = OLLAMA
MODEL = HARNESS.upstream_model
served, fake, base_url = fixtures_for(FakeOllama)
create_provider, create_request = HARNESS.create_provider, HARNESS.create_request
complete, stream = HARNESS.complete, HARNESS.stream


# Request translation.


def test_it_posts_to_api_chat_without_streaming(fake: FakeOllama, base_url: str) -> None:
    complete(create_provider(base_url + "/"))

    assert fake.last_path == "/api/chat"
    assert fake.last_request == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": False,
    }
    assert "authorization" not in fake.last_headers


def test_it_defaults_to_the_local_ollama_server() -> None:
    adapter = HARNESS.adapter(create_provider(""))

    assert adapter.chat_url() == "http://127.0.0.1:11434/api/chat"


def test_it_maps_openai_parameters_onto_ollama_options(fake: FakeOllama, base_url: str) -> None:
    request = create_request(temperature=0.3, top_p=0.8, seed=42, stop="###", max_tokens=64, user="alice")
    complete(create_provider(base_url, options={"num_ctx": 8192, "keep_alive": "10m"}), request)

    sent = fake.last_request
    assert sent is not None
    assert sent["options"] == {
        "temperature": 0.3,
        "top_p": 0.8,
        "seed": 42,
        "num_predict": 64,
        "stop": ["###"],
        "num_ctx": 8192,
    }
    assert sent["keep_alive"] == "10m"
    assert "user" not in sent and "max_tokens" not in sent


def test_it_flattens_content_parts_and_sends_images_as_base64(fake: FakeOllama, base_url: str) -> None:
    messages = [
        {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is "},
                {"type": "text", "text": "this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
    ]
    complete(create_provider(base_url), create_request(messages=messages))

    assert fake.last_request is not None
    assert fake.last_request["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is this?", "images": ["iVBORw0KGgo="]},
    ]


def test_image_urls_are_rejected_because_ollama_takes_only_bytes(fake: FakeOllama, base_url: str) -> None:
    content = [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]

    with pytest.raises(errors.InvalidRequestError):
        complete(create_provider(base_url), create_request(messages=[{"role": "user", "content": content}]))

    assert fake.last_request is None


def test_it_asks_for_json_when_the_client_wants_a_json_object(fake: FakeOllama, base_url: str) -> None:
    complete(create_provider(base_url), create_request(response_format={"type": "json_object"}))

    assert fake.last_request is not None
    assert fake.last_request["format"] == "json"


def test_it_translates_tool_calls_and_tool_results(fake: FakeOllama, base_url: str) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
    ]
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    complete(create_provider(base_url), create_request(messages=messages, tools=[tool]))

    sent = fake.last_request
    assert sent is not None
    assert sent["tools"] == [tool]
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
    }
    assert sent["messages"][2] == {"role": "tool", "content": "18C", "tool_name": "get_weather"}


# Response translation.


def test_it_returns_an_openai_chat_completion(fake: FakeOllama, base_url: str) -> None:
    result = complete(create_provider(base_url))

    assert_openai_completion(result, text="Hello from the fake llama.", model=MODEL)


def test_it_reports_ollama_eval_counts_as_usage(fake: FakeOllama, base_url: str) -> None:
    result = complete(create_provider(base_url))

    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.estimated) == (
        17,
        8,
        False,
    )
    assert result.body["usage"] == {"prompt_tokens": 17, "completion_tokens": 8, "total_tokens": 25}


def test_it_estimates_usage_when_ollama_leaves_the_counts_out(fake: FakeOllama, base_url: str) -> None:
    fake.behaviour = "no_counts"

    result = complete(create_provider(base_url))

    assert result.usage.estimated
    assert result.usage.prompt_tokens > 0
    assert result.usage.completion_tokens > 0
    assert result.body["usage"]["total_tokens"] == result.usage.total_tokens


def test_a_length_stop_becomes_finish_reason_length(fake: FakeOllama, base_url: str) -> None:
    fake.behaviour = "length"

    assert complete(create_provider(base_url)).finish_reason == "length"
    assert stream(create_provider(base_url))[-2].finish_reason == "length"


def test_it_returns_tool_calls_with_ids_and_json_arguments(fake: FakeOllama, base_url: str) -> None:
    fake.behaviour = "tool_call"

    result = complete(create_provider(base_url))

    message = result.body["choices"][0]["message"]
    assert message["content"] is None
    [call] = message["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert result.finish_reason == "tool_calls"


# Streaming.


def test_stream_sends_role_content_finish_and_usage_chunks_in_order(fake: FakeOllama, base_url: str) -> None:
    chunks = stream(create_provider(base_url))

    assert fake.last_request is not None
    assert fake.last_request["stream"] is True
    assert_openai_stream(chunks, text="Hello from the fake llama.", usage=(17, 8))
    assert len([chunk for chunk in chunks if chunk.text]) == 5


def test_stream_estimates_usage_when_the_counts_are_missing(fake: FakeOllama, base_url: str) -> None:
    fake.behaviour = "no_counts"

    usage = stream(create_provider(base_url))[-1].usage

    assert usage is not None
    assert usage.estimated
    assert usage.completion_tokens > 0


def test_stream_passes_tool_calls_on(fake: FakeOllama, base_url: str) -> None:
    fake.behaviour = "tool_call"

    chunks = stream(create_provider(base_url))

    [tool_chunk] = [
        chunk
        for chunk in chunks
        if chunk.data["choices"] and "tool_calls" in chunk.data["choices"][0]["delta"]
    ]
    [call] = tool_chunk.data["choices"][0]["delta"]["tool_calls"]
    assert call["index"] == 0
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert chunks[-2].finish_reason == "tool_calls"


def test_a_missing_model_is_a_client_error_that_names_the_model(fake: FakeOllama, base_url: str) -> None:
    fake.behaviour = "model_not_found"

    with pytest.raises(errors.InvalidRequestError) as info:
        complete(create_provider(base_url))

    assert info.value.code == "model_not_found"
    assert "llama-nope" in info.value.message
    assert not info.value.retryable


# Fidelity (routerapp.providers.fields): what OpenAI fields become for Ollama.

TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def test_reasoning_effort_is_think_and_thinking_comes_back_as_reasoning_content(
    fake: FakeOllama, base_url: str
) -> None:
    fake.behaviour = "thinking"
    result = complete(create_provider(base_url), create_request(reasoning_effort="high"))

    assert fake.last_request["think"] == "high"
    assert result.body["choices"][0]["message"]["reasoning_content"] == fake.thinking
    chunks = stream(create_provider(base_url), create_request(stream=True, think=True))
    assert fake.last_request["think"] is True
    deltas = [c.data["choices"][0]["delta"] for c in chunks if c.data["choices"]]
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == fake.thinking


def test_tool_choice_none_leaves_the_tools_out(fake: FakeOllama, base_url: str) -> None:
    complete(create_provider(base_url), create_request(tools=[TOOL], tool_choice="none"))
    assert "tools" not in fake.last_request
    complete(create_provider(base_url), create_request(tools=[TOOL], tool_choice="auto"))
    assert fake.last_request["tools"] == [TOOL]


def test_parallel_tool_calls_false_keeps_only_the_first_call(fake: FakeOllama, base_url: str) -> None:
    fake.behaviour = "tool_calls"
    both = complete(create_provider(base_url), create_request(tools=[TOOL]))
    one = complete(create_provider(base_url), create_request(tools=[TOOL], parallel_tool_calls=False))
    streamed = stream(
        create_provider(base_url), create_request(stream=True, tools=[TOOL], parallel_tool_calls=False)
    )

    assert len(both.body["choices"][0]["message"]["tool_calls"]) == 2
    assert [c["function"]["name"] for c in one.body["choices"][0]["message"]["tool_calls"]] == ["get_weather"]
    calls = [
        call
        for c in streamed
        if c.data["choices"]
        for call in c.data["choices"][0]["delta"].get("tool_calls") or ()
    ]
    assert [c["function"]["name"] for c in calls] == ["get_weather"]
