"""Ollama's native chat API (POST {base_url}/api/chat), translated to and from OpenAI's chat format.

`base_url` is the Ollama server root (default http://127.0.0.1:11434). The native API is used rather
than Ollama's OpenAI-compatible /v1 because only it takes per-request `options` such as `num_ctx`
(set it in the provider's options), whose small default otherwise truncates long prompts silently.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson

from routerapp import errors
from routerapp.providers.base import (
    Adapter,
    ChatChunk,
    ChatRequest,
    ChatResult,
    EmbeddingRequest,
    EmbeddingResult,
    Timeouts,
    Usage,
    chat_completion,
    checked_vectors,
    chunk_dict,
    completion_id,
    encode_json,
    estimate_prompt_tokens,
    estimate_tokens,
    malformed,
    message_text,
    usage_chunk,
    usage_of,
)

DEFAULT_BASE_URL = "http://127.0.0.1:11434"

# OpenAI parameters that Ollama takes, under the same name, inside `options`.
OPTION_PARAMS = ("temperature", "top_p", "top_k", "seed", "frequency_penalty", "presence_penalty")


class OllamaAdapter(Adapter):
    OPTIONS = frozenset({"num_ctx", "keep_alive"})
    kind = "ollama"

    def chat_url(self) -> str:
        return (self.provider.base_url or DEFAULT_BASE_URL).rstrip("/") + "/api/chat"

    def _headers(self) -> dict[str, str]:
        # Ollama itself has no auth; a key only matters behind an authenticating reverse proxy.
        return self.bearer_headers()

    def _payload(self, request: ChatRequest, upstream_model: str, *, stream: bool) -> bytes:
        return encode_json(
            to_ollama(request, upstream_model, stream=stream, provider_options=self.provider.options)
        )

    def _error(self, message: str) -> errors.RouterError:
        # An error inside a 200 response (mid-stream): the runner failed, the request was fine,
        # unless the message says the prompt did not fit.
        return errors.classify_http_error(500, message, source=self.provider.name)

    async def complete(self, request: ChatRequest, upstream_model: str, timeouts: Timeouts) -> ChatResult:
        data = await self.post_json(
            self.chat_url(), self._payload(request, upstream_model, stream=False), self._headers(), timeouts
        )
        if data.get("error"):
            raise self._error(str(data["error"]))
        if not isinstance(data.get("message"), dict):
            raise malformed(self.provider.name, "no message")
        text = data["message"].get("content") or ""
        tool_calls = [_tool_call(call) for call in data["message"].get("tool_calls") or ()]
        if request.params.get("parallel_tool_calls") is False:
            tool_calls = tool_calls[:1]  # Ollama has no switch for it: the first call is the one
        usage = _usage(data, request, text)
        extra: dict[str, Any] = {}
        if tool_calls:
            extra = {"tool_calls": tool_calls} if text else {"tool_calls": tool_calls, "content": None}
        if data["message"].get("thinking"):
            extra["reasoning_content"] = data["message"]["thinking"]
        body_out = chat_completion(
            id=completion_id(),
            model=data.get("model") or upstream_model,
            content=text,
            finish_reason=_finish_reason(data, bool(tool_calls)),
            usage=usage,
            extra_message=extra,
        )
        return ChatResult(body=body_out, usage=usage)

    async def embed(
        self, request: EmbeddingRequest, upstream_model: str, timeouts: Timeouts
    ) -> EmbeddingResult:
        # Ollama's embed API (/api/embed) takes a list of texts and returns one vector each.
        payload: dict[str, Any] = {"model": upstream_model, "input": request.texts(self.provider.name)}
        if request.params.get("dimensions") is not None:
            payload["dimensions"] = request.params["dimensions"]
        if self.provider.options.get("keep_alive") is not None:
            payload["keep_alive"] = self.provider.options["keep_alive"]
        url = (self.provider.base_url or DEFAULT_BASE_URL).rstrip("/") + "/api/embed"
        data = await self.post_json(url, encode_json(payload), self._headers(), timeouts)
        if data.get("error"):
            raise self._error(str(data["error"]))
        vectors = checked_vectors(data.get("embeddings"), len(request.input), self.provider.name)
        usage = usage_of(
            data.get("prompt_eval_count"), 0, lambda: (estimate_prompt_tokens(request.messages), 0)
        )
        return EmbeddingResult(vectors=vectors, usage=usage)

    async def stream(
        self, request: ChatRequest, upstream_model: str, timeouts: Timeouts
    ) -> AsyncIterator[ChatChunk]:
        chunk_id, created, model = completion_id(), int(time.time()), upstream_model
        text_parts: list[str] = []
        tool_count = 0
        started = done = False

        def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None) -> ChatChunk:
            return ChatChunk(
                chunk_dict(
                    id=chunk_id, model=model, created=created, delta=delta, finish_reason=finish_reason
                )
            )

        payload = self._payload(request, upstream_model, stream=True)
        async with self.open_stream(self.chat_url(), payload, self._headers(), timeouts) as response:
            # Newline-delimited JSON: one object per line, the last one with "done": true.
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                obj = self.json_object(line, "stream line")
                if obj.get("error"):
                    raise self._error(str(obj["error"]))
                model = obj.get("model") or model
                if not started:
                    started = True
                    yield chunk({"role": "assistant", "content": ""})
                message = obj.get("message") or {}
                if message.get("thinking"):
                    yield chunk({"reasoning_content": message["thinking"]})
                if message.get("content"):
                    text_parts.append(message["content"])
                    yield chunk({"content": message["content"]})
                # Ollama sends each tool call whole, in one line.
                calls = [_tool_call(call) for call in message.get("tool_calls") or ()]
                if request.params.get("parallel_tool_calls") is False:
                    calls = calls[: max(0, 1 - tool_count)]
                if calls:
                    for offset, call in enumerate(calls):
                        call["index"] = tool_count + offset
                    tool_count += len(calls)
                    yield chunk({"tool_calls": calls})
                if obj.get("done"):
                    done = True
                    yield chunk(finish_reason=_finish_reason(obj, tool_count > 0))
                    usage = _usage(obj, request, "".join(text_parts))
                    yield usage_chunk(id=chunk_id, model=model, created=created, usage=usage)
                    break
            # Without the done line the answer may be cut short: never let that pass as a success.
            if not done:
                raise malformed(self.provider.name, "stream ended without a done line")


def to_ollama(
    request: ChatRequest, upstream_model: str, *, stream: bool, provider_options: dict[str, Any]
) -> dict[str, Any]:
    params = request.params
    options: dict[str, Any] = {name: params[name] for name in OPTION_PARAMS if params.get(name) is not None}
    max_tokens = params.get("max_completion_tokens") or params.get("max_tokens")
    if max_tokens:
        options["num_predict"] = int(max_tokens)
    stop = params.get("stop")
    if stop:
        options["stop"] = [stop] if isinstance(stop, str) else list(stop)
    if provider_options.get("num_ctx"):
        options["num_ctx"] = int(provider_options["num_ctx"])
    payload: dict[str, Any] = {
        "model": upstream_model,
        "messages": translate_messages(request.messages),
        "stream": stream,
    }
    if options:
        payload["options"] = options
    response_format = params.get("response_format") or {}
    if response_format.get("type") == "json_object":
        payload["format"] = "json"
    elif response_format.get("type") == "json_schema":
        payload["format"] = (response_format.get("json_schema") or {}).get("schema") or "json"
    # Ollama accepts OpenAI's tool schema as is; it has no tool_choice, but "none" means no tools.
    # (A forcing tool_choice is refused before this: routerapp.providers.fields.)
    if params.get("tools") and params.get("tool_choice") != "none":
        payload["tools"] = params["tools"]
    think = params.get("think")
    if think is None and params.get("reasoning_effort"):
        # Ollama's think takes true/false, or a level for the models that have levels.
        effort = params["reasoning_effort"]
        think = False if effort == "minimal" else effort
    if think is not None:
        payload["think"] = think
    if provider_options.get("keep_alive") is not None:
        payload["keep_alive"] = provider_options["keep_alive"]
    return payload


def translate_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI messages → Ollama's: string content, images as bare base64, tool calls with dict arguments."""
    out: list[dict[str, Any]] = []
    tool_names: dict[str, str] = {}  # tool_call_id → function name, for the tool messages that answer them
    for message in messages:
        role = "system" if message.get("role") == "developer" else message.get("role")
        converted: dict[str, Any] = {"role": role, "content": message_text(message)}
        images = _images(message.get("content"))
        if images:
            converted["images"] = images
        if role == "assistant" and message.get("tool_calls"):
            converted["tool_calls"] = []
            for call in message["tool_calls"]:
                function = call.get("function") or {}
                tool_names[call.get("id") or ""] = function.get("name") or ""
                converted["tool_calls"].append(
                    {
                        "function": {
                            "name": function.get("name") or "",
                            "arguments": _arguments(function.get("arguments")),
                        }
                    }
                )
        if role == "tool" and tool_names.get(message.get("tool_call_id") or ""):
            converted["tool_name"] = tool_names[message["tool_call_id"]]
        out.append(converted)
    return out


def _images(content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    images = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "image_url":
            continue
        image_url = part.get("image_url")
        url = image_url.get("url", "") if isinstance(image_url, dict) else str(image_url or "")
        if not url.startswith("data:"):
            # Ollama takes image bytes only; fetching URLs on the client's behalf is not our job.
            raise errors.InvalidRequestError(
                "Ollama accepts images only as base64 data: URLs", param="messages"
            )
        images.append(url.partition(",")[2])
    return images


def _arguments(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return arguments or {}
    try:
        return orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidRequestError("tool call arguments are not valid JSON", param="messages") from exc


def _tool_call(call: dict[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    arguments = function.get("arguments")
    return {
        # Ollama does not name its tool calls; OpenAI clients need an id to answer them.
        "id": call.get("id") or "call_" + uuid.uuid4().hex[:24],
        "type": "function",
        "function": {
            "name": function.get("name") or "",
            "arguments": arguments if isinstance(arguments, str) else orjson.dumps(arguments or {}).decode(),
        },
    }


def _finish_reason(data: dict[str, Any], has_tool_calls: bool) -> str:
    if has_tool_calls:
        return "tool_calls"
    return "length" if data.get("done_reason") == "length" else "stop"


def _usage(data: dict[str, Any], request: ChatRequest, text: str) -> Usage:
    # Ollama leaves prompt_eval_count out when the whole prompt came from its cache; count what is missing.
    return usage_of(
        data.get("prompt_eval_count"),
        data.get("eval_count"),
        lambda: (estimate_prompt_tokens(request.messages), estimate_tokens(text)),
    )
