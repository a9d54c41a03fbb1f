"""routerapp.anthropic_format's pure translations, case by case (the SDK tests cover the wire)."""

from __future__ import annotations

import orjson
import pytest

from routerapp import anthropic_format as fmt
from routerapp import errors
from routerapp.providers.base import NATIVE_EVENTS


def body(**fields):
    return {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}], **fields}


@pytest.mark.parametrize(
    ("thinking", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, "low"),
        ({"type": "enabled", "budget_tokens": 8192}, "medium"),
        ({"type": "enabled", "budget_tokens": 32000}, "high"),
        ({"type": "disabled"}, None),
    ],
)
def test_a_thinking_budget_becomes_the_nearest_reasoning_effort(thinking, effort):
    assert fmt.chat_body(body(thinking=thinking)).get("reasoning_effort") == effort


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        ({"type": "tool", "name": "f"}, {"tool_choice": {"type": "function", "function": {"name": "f"}}}),
        (
            {"type": "auto", "disable_parallel_tool_use": True},
            {"tool_choice": "auto", "parallel_tool_calls": False},
        ),
    ],
)
def test_tool_choice_maps_to_openais(choice, expected):
    translated = fmt.chat_body(body(tool_choice=choice))
    assert {k: translated[k] for k in expected} == expected


def test_system_blocks_keep_cache_control_and_stop_sequences_become_stop():
    system = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    translated = fmt.chat_body(body(system=system, stop_sequences=["END"], metadata={"user_id": "u"}))
    assert translated["messages"][0] == {"role": "system", "content": system}
    assert translated["stop"] == ["END"] and translated["user"] == "u"


def test_a_failed_tool_result_tells_the_model_so():
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "is_error": True,
                    "content": [{"type": "text", "text": "boom"}],
                }
            ],
        },
    ]
    translated = fmt.chat_body(body(messages=messages))
    assert translated["messages"][1]["content"] is None
    assert translated["messages"][2] == {"role": "tool", "tool_call_id": "t1", "content": "Error: boom"}


def test_earlier_thinking_blocks_are_left_out_of_the_translation():
    messages = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hm", "signature": "s"},
                {"type": "text", "text": "a"},
            ],
        },
        {"role": "user", "content": "q2"},
    ]
    assert fmt.chat_body(body(messages=messages))["messages"][1] == {"role": "assistant", "content": "a"}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]},
            "messages[0].content[0]",
        ),
        ({"tools": [{"type": "bash_20250124", "name": "bash"}]}, "tools[0]"),
        ({"thinking": {"type": "enabled"}}, "thinking.budget_tokens"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice"),
        ({"frobnicate": 1}, "frobnicate"),
    ],
)
def test_what_cannot_be_translated_is_a_400_naming_it(fields, param):
    with pytest.raises(errors.InvalidRequestError) as refused:
        fmt.chat_body(body(**fields))
    assert refused.value.param == param and refused.value.status == 400


def test_anthropic_only_settings_are_accepted_and_listed_as_dropped():
    data = body(service_tier="auto", inference_geo="us")
    assert "service_tier" not in fmt.chat_body(data)
    assert fmt.dropped_fields(data) == ["inference_geo", "service_tier"]


@pytest.mark.parametrize(
    ("finish", "stop"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_finish_reasons_become_stop_reasons(finish, stop):
    completion = {"choices": [{"message": {"content": "x"}, "finish_reason": finish}], "usage": {}}
    assert fmt.message(completion, "m")["stop_reason"] == stop


def test_a_completion_becomes_a_message_with_thinking_text_tool_use_and_cache_reads():
    completion = {
        "choices": [
            {
                "message": {
                    "content": "Let me look.",
                    "reasoning_content": "The user wants weather.",
                    "tool_calls": [{"id": "c1", "function": {"name": "w", "arguments": '{"city": "Paris"}'}}],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 60},
        },
    }
    answer = fmt.message(completion, "claude")
    assert [block["type"] for block in answer["content"]] == ["thinking", "text", "tool_use"]
    assert answer["content"][2] == {"type": "tool_use", "id": "c1", "name": "w", "input": {"city": "Paris"}}
    assert answer["usage"] == {"input_tokens": 40, "output_tokens": 7, "cache_read_input_tokens": 60}


def test_broken_tool_arguments_are_kept_not_lost():
    assert fmt.tool_input('{"city": ') == {"_raw": '{"city": '}


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (errors.InvalidRequestError("x"), "invalid_request_error"),
        (errors.AuthenticationError("x"), "authentication_error"),
        (errors.PermissionDeniedError("x"), "permission_error"),
        (errors.ModelNotFoundError("x"), "not_found_error"),
        (errors.RequestTooLargeError("x"), "request_too_large"),
        (errors.RateLimitError("x"), "rate_limit_error"),
        (errors.BudgetExceededError("x"), "rate_limit_error"),
        (errors.ProviderUnavailableError("x"), "overloaded_error"),
        (errors.UpstreamTimeoutError("x"), "timeout_error"),
        (errors.RouterError("x"), "api_error"),
    ],
)
def test_router_errors_take_anthropics_error_types(error, kind):
    assert fmt.error_body(error) == {"type": "error", "error": {"type": kind, "message": "x"}}


def events(raw: list[bytes]) -> list[tuple[str, dict]]:
    out = []
    for item in raw:
        name, data = item.decode().strip().split("\n")
        out.append((name.removeprefix("event: "), orjson.loads(data.removeprefix("data: "))))
    return out


def chunk(delta=None, finish=None, **extra):
    return {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}], **extra}


def test_the_encoder_numbers_thinking_text_and_tool_blocks_in_order():
    encoder = fmt.StreamEncoder("m", input_tokens=5)
    raw = []
    for c in (
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "hm"}),
        chunk({"content": "Hi"}),
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        chunk(finish="tool_calls"),
        {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}},
    ):
        raw.extend(encoder.feed(c))
    raw.extend(encoder.finish())
    seen = [(name, data.get("index")) for name, data in events(raw)]
    assert seen == [
        ("message_start", None),
        ("ping", None),
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),
        ("content_block_delta", 2),
        ("content_block_stop", 2),
        ("message_delta", None),
        ("message_stop", None),
    ]
    delta = events(raw)[-2][1]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"] == {
        "input_tokens": 5,
        "output_tokens": 3,
    }


def test_the_encoder_passes_native_events_on_and_continues_their_open_text_block():
    encoder = fmt.StreamEncoder("client-name")
    native = [
        [
            "message_start",
            {"type": "message_start", "message": {"id": "msg_1", "model": "upstream", "content": []}},
        ],
        [
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ],
        [
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}},
        ],
    ]
    raw = list(encoder.feed(chunk({"content": "Hel"}, **{NATIVE_EVENTS: native})))
    raw += encoder.feed(chunk({"content": "lo"}))  # the continuation, on another deployment
    raw += encoder.feed(chunk(finish="stop"))
    raw += encoder.finish()
    seen = events(raw)
    assert seen[0][1]["message"] == {"id": "msg_1", "model": "client-name", "content": []}
    assert [(name, data.get("index")) for name, data in seen[1:]] == [
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("message_delta", None),
        ("message_stop", None),
    ]
    assert seen[3][1]["delta"] == {"type": "text_delta", "text": "lo"}
