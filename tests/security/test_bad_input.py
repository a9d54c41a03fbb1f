"""Bad bodies get a 4xx naming the param, never a 500, and always leave a history record."""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings

from routerapp.models import QueryRecord
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history

HI = [{"role": "user", "content": "hi"}]
GOOD = {"model": "gpt-test", "messages": HI}


@pytest.fixture
def key(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    return create_key()


def post(live_url: str, key: str, body, content_type: str = "application/json") -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", "content-type": content_type}
    if isinstance(body, bytes):
        return httpx.post(f"{live_url}/v1/chat/completions", headers=headers, content=body)
    return httpx.post(f"{live_url}/v1/chat/completions", headers=headers, json=body)


def with_message(**fields) -> dict:
    return {"model": "gpt-test", "messages": [{"role": "user", "content": "hi", **fields}]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (with_message(role={}), "messages[0].role"),
        (with_message(role=[]), "messages[0].role"),
        (with_message(content=[{"type": "text", "text": 123}]), "messages[0].content[0].text"),
        (with_message(content=[{"type": "image_url"}]), "messages[0].content[0].image_url"),
        (with_message(content=[{"text": "no type"}]), "messages[0].content[0]"),
        (with_message(name=5), "messages[0].name"),
        ({"model": "gpt-test", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({**GOOD, "stream": True, "stream_options": {"include_usage": "no"}}, "stream_options.include_usage"),
        ({**GOOD, "stream_options": {"include_usag": True}}, "stream_options.include_usag"),
        (
            {**GOOD, "tools": [{"type": "function", "function": {"name": "bad name"}}]},
            "tools[0].function.name",
        ),
        ({**GOOD, "tools": {"type": "function"}}, "tools"),
        ({**GOOD, "tool_choice": "sometimes"}, "tool_choice"),
        ({**GOOD, "tool_choice": {"type": "function"}}, "tool_choice.function"),
        ({**GOOD, "response_format": {"type": "yaml"}}, "response_format.type"),
        ({**GOOD, "response_format": {"type": "json_schema"}}, "response_format.json_schema"),
        ({**GOOD, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({**GOOD, "stop": [1]}, "stop[0]"),
        ({**GOOD, "logit_bias": {"50256": 101}}, "logit_bias.50256"),
        ({**GOOD, "seed": 1.5}, "seed"),
        ({**GOOD, "seed": 2**64}, "seed"),
        ({**GOOD, "n": 0}, "n"),
        ({**GOOD, "user": 7}, "user"),
        ({**GOOD, "logprobs": "yes"}, "logprobs"),
        ({**GOOD, "top_logprobs": 21}, "top_logprobs"),
        ({**GOOD, "parallel_tool_calls": 1}, "parallel_tool_calls"),
        ({**GOOD, "modalities": ["smell"]}, "modalities[0]"),
        ({**GOOD, "temperature": True}, "temperature"),
        ({**GOOD, "max_tokens": 10**12}, "max_tokens"),
        ({**GOOD, "max_tokens": 2**63}, "max_tokens"),
        ({**GOOD, "timeout": 1e-9 * 0}, "timeout"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_param_and_leave_a_record(key, live_url, body, param):
    response = post(live_url, key, body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    flush_history()
    record = QueryRecord.objects.get(request_id=response.headers["x-request-id"])
    assert (record.http_status, record.error_type) == (400, "InvalidRequestError")


def test_a_text_plain_body_is_refused_with_415(key, live_url):
    import orjson

    response = post(live_url, key, orjson.dumps(GOOD), content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    flush_history()
    assert QueryRecord.objects.get().http_status == 415


def test_deep_nesting_is_refused(key, live_url):
    nested: dict = {}
    for _ in range(200):
        nested = {"x": nested}
    response = post(live_url, key, {**GOOD, "metadata": nested})
    assert response.status_code == 400
    assert "nests deeper" in response.json()["error"]["message"]


def test_too_many_messages_and_too_long_a_message_are_refused(key, live_url, settings):
    settings.ROUTER = {**settings.ROUTER, "MAX_MESSAGES": 3, "MAX_MESSAGE_CHARS": 100}
    many = post(live_url, key, {"model": "gpt-test", "messages": HI * 4})
    assert (many.status_code, many.json()["error"]["param"]) == (400, "messages")
    long = post(live_url, key, {"model": "gpt-test", "messages": [{"role": "user", "content": "x" * 101}]})
    assert (long.status_code, long.json()["error"]["param"]) == (400, "messages[0].content")
    parts = [{"type": "text", "text": "x" * 60}, {"type": "text", "text": "y" * 60}]
    split = post(live_url, key, {"model": "gpt-test", "messages": [{"role": "user", "content": parts}]})
    assert split.status_code == 400


def test_max_tokens_over_the_router_cap_is_refused(key, live_url, settings):
    settings.ROUTER = {**settings.ROUTER, "MAX_OUTPUT_TOKENS": 1000}
    response = post(live_url, key, {**GOOD, "max_tokens": 1001})
    assert (response.status_code, response.json()["error"]["param"]) == (400, "max_tokens")
    assert post(live_url, key, {**GOOD, "max_tokens": 1000}).status_code == 200


def test_valid_pass_through_parameters_are_accepted(key, live_url):
    body = {
        **GOOD,
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "w", "schema": {"type": "object"}},
        },
        "stop": "\n",
        "logit_bias": {"50256": -100},
        "seed": 42,
        "user": "u-1",
        "logprobs": True,
        "top_logprobs": 5,
        "parallel_tool_calls": False,
        "modalities": ["text"],
        "top_k": 5,  # not an OpenAI parameter: passed through for the providers that know it
    }
    response = post(live_url, key, body)
    assert response.status_code == 200, response.text
    assert settings.ROUTER["MAX_OUTPUT_TOKENS"] > 0
