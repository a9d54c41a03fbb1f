"""Anthropic's Messages API, translated to and from OpenAI's chat format.

URL rule: the provider's `base_url` is Anthropic's server root (default https://api.anthropic.com) and
we POST to `{base_url}/v1/messages`. A `base_url` that already ends in `/v1` (how some proxies and
OpenAI-minded configs spell it) gets `/messages` appended instead, so both spellings reach the same URL.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from routerapp import errors
from routerapp.providers.base import (
    MAX_TOKENS,
    NATIVE_EVENTS,
    Adapter,
    ChatChunk,
    ChatRequest,
    ChatResult,
    Timeouts,
    Usage,
    chat_completion,
    chunk_dict,
    completion_id,
    counted,
    encode_json,
    estimate_prompt_tokens,
    estimate_tokens,
    iter_sse,
    malformed,
    message_text,
    usage_chunk,
)
from routerapp.providers.http import UpstreamResponse

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
# Anthropic requires max_tokens on every request while OpenAI treats it as optional, so a request
# without one gets this (overridable per provider with `options: {max_tokens: ...}`).
DEFAULT_MAX_TOKENS = 4096

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# The HTTP status Anthropic documents for each error type. A stream's `error` event carries only the
# type, and a proxy may wrap an error in the wrong status; going through the type lets both be
# classified exactly like the direct HTTP error would be.
ERROR_STATUSES = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}

# OpenAI's reasoning_effort as an extended-thinking budget (LiteLLM's mapping; 1024 is Anthropic's
# smallest budget).
THINKING_BUDGETS = {"minimal": 1024, "low": 1024, "medium": 2048, "high": 4096}
# The forced tool a JSON response_format becomes; its input is the answer, returned as content.
JSON_TOOL = "json_response"


class AnthropicAdapter(Adapter):
    OPTIONS = frozenset({"max_tokens"})
    kind = "anthropic"

    def messages_url(self) -> str:
        base = (self.provider.base_url or DEFAULT_BASE_URL).rstrip("/")
        return base + ("/messages" if base.endswith("/v1") else "/v1/messages")

    def _headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "anthropic-version": API_VERSION}
        if self.provider.api_key:
            headers["x-api-key"] = self.provider.api_key
        # Last, so a provider can pin another API version or add `anthropic-beta` flags.
        headers.update(self.provider.headers)
        return headers

    def _payload(self, request: ChatRequest, upstream_model: str, *, stream: bool) -> bytes:
        native = request.native_body(self.kind)
        if native is not None:
            # A /v1/messages request goes as the client wrote it: every field Anthropic knows
            # (cache_control, thinking, documents, server tools) arrives with its meaning.
            payload = {**native, "model": upstream_model}
            payload.pop("stream", None)
            return encode_json({**payload, "stream": True} if stream else payload)
        max_tokens = int(self.provider.options.get("max_tokens") or DEFAULT_MAX_TOKENS)
        return encode_json(
            to_anthropic(request, upstream_model, stream=stream, default_max_tokens=max_tokens)
        )

    def raise_for_status(self, response: UpstreamResponse, body: bytes) -> None:
        if response.status_code < 400:
            return
        error_type, message = _error_fields(body)
        retry_after = errors.parse_retry_after(response.headers.get("retry-after"))
        message = message or response.reason_phrase or f"HTTP {response.status_code}"
        raise self._error(
            ERROR_STATUSES.get(error_type, response.status_code), message, retry_after=retry_after
        )

    def _error(self, status: int, message: str, *, retry_after: float | None = None) -> errors.RouterError:
        return errors.classify_http_error(status, message, retry_after=retry_after, source=self.provider.name)

    async def complete(self, request: ChatRequest, upstream_model: str, timeouts: Timeouts) -> ChatResult:
        data = await self.post_json(
            self.messages_url(),
            self._payload(request, upstream_model, stream=False),
            self._headers(),
            timeouts,
        )
        if not isinstance(data.get("content"), list):
            raise malformed(self.provider.name, "no content")
        result = from_anthropic(data, request, upstream_model)
        result.native = data
        return result

    async def stream(
        self, request: ChatRequest, upstream_model: str, timeouts: Timeouts
    ) -> AsyncIterator[ChatChunk]:
        translator = _StreamTranslator(request, upstream_model)
        payload = self._payload(request, upstream_model, stream=True)
        # A /v1/messages request sent as is gets Anthropic's own events back with the chunks, so
        # what the translation has no place for (thinking signatures, say) reaches the client.
        native = request.native_body(self.kind) is not None
        events: list[list[Any]] = []
        async with self.open_stream(self.messages_url(), payload, self._headers(), timeouts) as response:
            async for event, data in iter_sse(response):
                obj = self.json_object(data, "stream event")
                if (obj.get("type") or event) == "error":
                    err = obj.get("error")
                    err = err if isinstance(err, dict) else {}
                    error_type = str(err.get("type") or "api_error")
                    raise self._error(
                        ERROR_STATUSES.get(error_type, 500), str(err.get("message") or error_type)
                    )
                kind = obj.get("type") or event
                chunks = translator.feed(kind, obj)
                if native:
                    events.append([kind, obj])
                    if chunks:
                        chunks[0].data[NATIVE_EVENTS] = events
                        events = []
                for chunk in chunks:
                    yield chunk
                if translator.stopped:
                    break
            # Without message_stop the answer may be cut short: never let that pass as a success.
            if not translator.stopped:
                raise malformed(self.provider.name, "stream ended without message_stop")


# Request translation: OpenAI → Anthropic.


def to_anthropic(
    request: ChatRequest, upstream_model: str, *, stream: bool, default_max_tokens: int
) -> dict[str, Any]:
    params = request.params
    system, messages = translate_messages(request.messages)
    payload: dict[str, Any] = {
        "model": upstream_model,
        "messages": messages,
        "max_tokens": int(
            params.get("max_completion_tokens") or params.get("max_tokens") or default_max_tokens
        ),
    }
    if system:
        payload["system"] = system
    for name in ("temperature", "top_p", "top_k"):
        if params.get(name) is not None:
            payload[name] = params[name]
    stop = params.get("stop")
    if stop:
        payload["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if params.get("user"):
        payload["metadata"] = {"user_id": str(params["user"])}
    if params.get("tools"):
        payload["tools"] = [_tool(tool) for tool in params["tools"]]
        choice = _tool_choice(params.get("tool_choice"), params.get("parallel_tool_calls"))
        if choice:
            payload["tool_choice"] = choice
    json_tool = _json_tool(params.get("response_format"))
    if json_tool is not None:
        if params.get("tools"):
            raise errors.UnsupportedParamError(
                "response_format with tools: Anthropic answers in JSON through a forced tool call, "
                "which leaves no room for the request's own tools",
                param="response_format",
            )
        payload["tools"] = [json_tool]
        payload["tool_choice"] = {"type": "tool", "name": JSON_TOOL}
    effort = params.get("reasoning_effort")
    if effort in THINKING_BUDGETS:
        budget = THINKING_BUDGETS[effort]
        payload["thinking"] = {"type": "enabled", "budget_tokens": budget}
        # Anthropic counts the thinking inside max_tokens, which must exceed the budget; OpenAI's
        # max_tokens meant the answer, so the budget comes on top of it.
        if payload["max_tokens"] <= budget:
            payload["max_tokens"] += budget
    if stream:
        payload["stream"] = True
    return payload


def _json_tool(response_format: Any) -> dict[str, Any] | None:
    """OpenAI's JSON response_format as the one tool Anthropic is made to call."""
    if not isinstance(response_format, dict) or response_format.get("type") not in (
        "json_object",
        "json_schema",
    ):
        return None
    spec = response_format.get("json_schema") or {}
    tool: dict[str, Any] = {
        "name": JSON_TOOL,
        "description": spec.get("description") or "Answer with this JSON object.",
        "input_schema": spec.get("schema") or {"type": "object"},
    }
    return tool


def answers_in_json(request: ChatRequest) -> bool:
    return _json_tool(request.params.get("response_format")) is not None


def translate_messages(
    messages: list[dict[str, Any]],
) -> tuple[str | list[dict[str, Any]], list[dict[str, Any]]]:
    """Split OpenAI messages into Anthropic's top-level system text and alternating turns.

    Anthropic takes the system prompt outside the conversation and rejects two turns of the same role
    in a row, which OpenAI allows (and which tool results, sent as user turns, produce naturally).
    """
    system_parts: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            blocks = _content_blocks(message.get("content"))
            system_parts.extend(block for block in blocks if block["type"] == "text")
            continue
        if role == "tool":
            role, blocks = "user", [_tool_result(message)]
        elif role == "assistant":
            blocks = _content_blocks(message.get("content")) + [
                _tool_use(call) for call in message.get("tool_calls") or ()
            ]
        elif role == "user":
            blocks = _content_blocks(message.get("content"))
        else:
            raise errors.InvalidRequestError(
                f"unsupported message role for Anthropic: {role!r}", param="messages"
            )
        if not blocks:
            continue  # Anthropic rejects empty turns and empty text blocks; an empty turn says nothing.
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise errors.InvalidRequestError(
            "Anthropic needs at least one user or assistant message", param="messages"
        )
    for turn in turns:
        # The common case stays in its plain form: one text block is sent as a string.
        if (
            len(turn["content"]) == 1
            and turn["content"][0]["type"] == "text"
            and "cache_control" not in turn["content"][0]
        ):
            turn["content"] = turn["content"][0]["text"]
    if any("cache_control" in block for block in system_parts):
        return system_parts, turns  # a cache breakpoint needs the blocks
    return "\n\n".join(block.get("text", "") for block in system_parts), turns


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and part.get("text"):
            block: dict[str, Any] = {"type": "text", "text": part["text"]}
        elif part.get("type") == "image_url":
            block = _image_block(part.get("image_url"))
        else:
            continue
        # Prompt caching: Anthropic's own marker on a content part, passed on as it came.
        if isinstance(part.get("cache_control"), dict):
            block["cache_control"] = part["cache_control"]
        blocks.append(block)
    return blocks


def _image_block(image_url: Any) -> dict[str, Any]:
    url = image_url.get("url", "") if isinstance(image_url, dict) else str(image_url or "")
    if url.startswith("data:"):
        # data:image/png;base64,AAAA
        header, _, data = url.partition(",")
        media_type = header[len("data:") :].split(";")[0] or "image/png"
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _tool_use(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments") or "{}"
    try:
        tool_input = orjson.loads(arguments) if isinstance(arguments, str) else arguments
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequestError("tool call arguments are not valid JSON", param="messages") from exc
    return {
        "type": "tool_use",
        "id": call.get("id") or "",
        "name": function.get("name") or "",
        "input": tool_input,
    }


def _tool_result(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": message.get("tool_call_id") or "",
        "content": message_text(message),
    }


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool.get("function") or {}
    out: dict[str, Any] = {
        "name": function.get("name") or "",
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    if isinstance(tool.get("cache_control"), dict):
        out["cache_control"] = tool["cache_control"]
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    if choice is None and parallel is not False:
        return None
    if isinstance(choice, dict):
        out: dict[str, Any] = {"type": "tool", "name": (choice.get("function") or {}).get("name") or ""}
    else:
        out = {"type": {"required": "any", "none": "none"}.get(choice, "auto")}
    if parallel is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


# Response translation: Anthropic → OpenAI.


def from_anthropic(data: dict[str, Any], request: ChatRequest, upstream_model: str) -> ChatResult:
    text = "".join(block.get("text") or "" for block in data["content"] if block.get("type") == "text")
    reasoning = "".join(
        block.get("thinking") or "" for block in data["content"] if block.get("type") == "thinking"
    )
    json_answer = answers_in_json(request)
    if json_answer:
        # The forced tool's input is the JSON answer the client asked for, as message content.
        text = "".join(
            orjson.dumps(block.get("input") or {}).decode()
            for block in data["content"]
            if block.get("type") == "tool_use" and block.get("name") == JSON_TOOL
        )
    tool_calls = [
        {
            "id": block.get("id") or "",
            "type": "function",
            "function": {
                "name": block.get("name") or "",
                "arguments": orjson.dumps(block.get("input") or {}).decode(),
            },
        }
        for block in data["content"]
        if block.get("type") == "tool_use" and not json_answer
    ]
    raw_usage = data.get("usage")
    if isinstance(raw_usage, dict) and raw_usage.get("input_tokens") is not None:
        usage = Usage(_input_tokens(raw_usage), counted(raw_usage.get("output_tokens")) or 0)
        usage.with_parts(
            cached=raw_usage.get("cache_read_input_tokens"),
            cache_write=raw_usage.get("cache_creation_input_tokens"),
        )
    else:
        usage = Usage(estimate_prompt_tokens(request.messages), estimate_tokens(text), estimated=True)
    extra: dict[str, Any] = {}
    if tool_calls:
        # OpenAI sends null content alongside tool calls when the model said nothing else.
        extra = {"tool_calls": tool_calls} if text else {"tool_calls": tool_calls, "content": None}
    if reasoning:
        extra["reasoning_content"] = reasoning
    finish_reason = FINISH_REASONS.get(data.get("stop_reason") or "", "stop")
    if json_answer and finish_reason == "tool_calls":
        finish_reason = "stop"
    body = chat_completion(
        id=completion_id(),
        model=data.get("model") or upstream_model,
        content=text,
        finish_reason=finish_reason,
        usage=usage,
        extra_message=extra,
    )
    return ChatResult(body=body, usage=usage)


def _input_tokens(raw: dict[str, Any]) -> int:
    # Anthropic counts cached prompt tokens apart from input_tokens; OpenAI's prompt_tokens
    # includes them, and so must ours or a cached prompt would look almost free of tokens.
    total = sum(
        counted(raw.get(key)) or 0
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return min(total, MAX_TOKENS)


def _error_fields(body: bytes) -> tuple[str, str]:
    """(error.type, error.message) of an Anthropic error body; empty strings where absent."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", body[:300].decode("utf-8", "replace").strip()
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("type") or ""), str(err.get("message") or "")[:1000]
    if isinstance(err, str):
        return "", err[:1000]
    return "", str(data)[:300]


class _StreamTranslator:
    """Turn Anthropic stream events into OpenAI chunks, keeping the state OpenAI's last chunks need."""

    def __init__(self, request: ChatRequest, upstream_model: str) -> None:
        self.request = request
        self.id = completion_id()
        self.created = int(time.time())
        self.model = upstream_model
        self.usage = Usage()
        self.usage_reported = False
        self.text_parts: list[str] = []
        self.started = False
        self.finish_reason: str | None = None
        self.stopped = False
        # Anthropic numbers every content block; OpenAI numbers only the tool calls.
        self.tool_indexes: dict[int, int] = {}
        # A JSON response_format: the forced tool's input streams as the answer's content.
        self.json_answer = answers_in_json(request)

    def chunk(self, delta: dict[str, Any] | None = None, finish_reason: str | None = None) -> ChatChunk:
        data = chunk_dict(
            id=self.id, model=self.model, created=self.created, delta=delta, finish_reason=finish_reason
        )
        return ChatChunk(data=data)

    def feed(self, kind: str, event: dict[str, Any]) -> list[ChatChunk]:
        out: list[ChatChunk] = []
        if kind == "message_start":
            message = event.get("message") or {}
            self.model = message.get("model") or self.model
            self._take_usage(message.get("usage"))
        if not self.started and kind in ("message_start", "content_block_start", "content_block_delta"):
            self.started = True
            out.append(self.chunk({"role": "assistant", "content": ""}))
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use" and self.json_answer:
                pass  # its input_json_delta events are the content
            elif block.get("type") == "tool_use":
                index = self.tool_indexes.setdefault(int(event.get("index") or 0), len(self.tool_indexes))
                call = {"index": index, "id": block.get("id") or "", "type": "function"}
                call["function"] = {"name": block.get("name") or "", "arguments": ""}
                out.append(self.chunk({"tool_calls": [call]}))
            elif block.get("type") == "text" and block.get("text"):
                out.append(self._text(block["text"]))
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                out.append(self._text(delta["text"]))
            elif delta.get("type") == "input_json_delta" and delta.get("partial_json"):
                if self.json_answer:
                    out.append(self._text(delta["partial_json"]))
                else:
                    index = self.tool_indexes.get(int(event.get("index") or 0), 0)
                    call = {"index": index, "function": {"arguments": delta["partial_json"]}}
                    out.append(self.chunk({"tool_calls": [call]}))
            elif delta.get("type") == "thinking_delta" and delta.get("thinking"):
                out.append(self.chunk({"reasoning_content": delta["thinking"]}))
            # signature_delta has no place in OpenAI's chunk format.
        elif kind == "message_delta":
            self._take_usage(event.get("usage"))
            stop_reason = (event.get("delta") or {}).get("stop_reason")
            if stop_reason and self.finish_reason is None:
                self.finish_reason = FINISH_REASONS.get(stop_reason, "stop")
                if self.json_answer and self.finish_reason == "tool_calls":
                    self.finish_reason = "stop"
                out.append(self.chunk(finish_reason=self.finish_reason))
        elif kind == "message_stop":
            self.stopped = True
            if self.finish_reason is None:
                self.finish_reason = "stop"
                out.append(self.chunk(finish_reason="stop"))
            out.append(self._usage_chunk())
        # ping, content_block_stop and event types added later need nothing from us.
        return out

    def _text(self, text: str) -> ChatChunk:
        self.text_parts.append(text)
        return self.chunk({"content": text})

    def _take_usage(self, raw: Any) -> None:
        # message_delta's counts are cumulative, so a later number replaces an earlier one.
        if not isinstance(raw, dict):
            return
        if raw.get("input_tokens") is not None:
            self.usage.prompt_tokens = _input_tokens(raw)
            self.usage.with_parts(
                cached=raw.get("cache_read_input_tokens"),
                cache_write=raw.get("cache_creation_input_tokens"),
            )
            self.usage_reported = True
        if raw.get("output_tokens") is not None:
            self.usage.completion_tokens = counted(raw["output_tokens"]) or 0

    def _usage_chunk(self) -> ChatChunk:
        if not self.usage_reported:
            self.usage = Usage(
                estimate_prompt_tokens(self.request.messages),
                estimate_tokens("".join(self.text_parts)),
                estimated=True,
            )
        return usage_chunk(id=self.id, model=self.model, created=self.created, usage=self.usage)
