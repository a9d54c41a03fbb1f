"""Anthropic's Messages format on the client side of the router (/v1/messages): pure functions.

The router speaks OpenAI's chat format inside (route(), the adapters, the history), so a
Messages request is translated to a chat-completions body on the way in and the answer back to an
Anthropic message (or stream of events) on the way out. The opposite pair, for Anthropic as an
upstream, is routerapp.providers.anthropic; the vocabulary both share (stop reasons, error types)
is defined there once and inverted here.

Anything the chat format cannot carry is refused with a 400 naming it, never dropped, except
earlier turns' thinking blocks: Anthropic itself ignores them outside a tool-use loop, and no other
provider can read their signatures. For an Anthropic deployment the client's body is sent as is
(routerapp.providers.base.NativeBody), so there nothing is lost at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson

from routerapp import errors
from routerapp.providers.anthropic import ERROR_STATUSES, FINISH_REASONS
from routerapp.providers.base import NATIVE_EVENTS, estimate_prompt_tokens, estimate_tokens

# Anthropic's stop reason for each OpenAI finish reason (the inverse of the adapter's mapping,
# where several Anthropic reasons share one OpenAI reason the plain one wins).
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
assert all(FINISH_REASONS[reason] == finish for finish, reason in STOP_REASONS.items())

# Anthropic's error type for each status the router answers with (502/503 are "overloaded": the
# Anthropic SDK retries those, as it should retry an upstream outage).
_ERROR_TYPES = {status: kind for kind, status in ERROR_STATUSES.items()}
_ERROR_TYPES.update({502: "overloaded_error", 503: "overloaded_error", 529: "overloaded_error"})

# Extended thinking budget (tokens) → OpenAI's reasoning_effort, the closest chat-format knob.
EFFORT_BUDGETS = ((2048, "low"), (8192, "medium"))

# Fields of a Messages body that the translation carries (others are refused by name).
KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "tools",
        "tool_choice",
        "metadata",
        "thinking",
        # The router's own options, as on /v1/chat/completions.
        "timeout",
        "num_retries",
        "optimize",
    }
)
# Anthropic-only fields with no chat-format meaning that changes the answer's content (where it
# runs, how fast, its tier, its diagnostics, the prompt cache): sent to Anthropic deployments
# with the client's body; for other kinds dropped, and named in `x-router-dropped-params`.
ANTHROPIC_ONLY_FIELDS = frozenset(
    {
        "cache_control",
        "container",
        "context_management",
        "diagnostics",
        "inference_geo",
        "mcp_servers",
        "service_tier",
        "speed",
        "user_profile_id",
        "workspace_id",
    }
)


def invalid(message: str, param: str | None = None) -> errors.InvalidRequestError:
    return errors.InvalidRequestError(message, param=param)


# Requests: Anthropic Messages → OpenAI chat completions.


def dropped_fields(data: dict[str, Any]) -> list[str]:
    """The Anthropic-only fields of `data` that a translated request leaves out."""
    return sorted(ANTHROPIC_ONLY_FIELDS & set(data))


def chat_body(data: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions body that asks what the Messages body `data` asks, or a 400."""
    unknown = sorted(set(data) - KNOWN_FIELDS - ANTHROPIC_ONLY_FIELDS)
    if unknown:
        raise invalid(f"'{unknown[0]}' is not supported by this router's /v1/messages.", unknown[0])
    if not isinstance(data.get("model"), str) or not data["model"]:
        raise invalid("'model': Field required.", "model")
    max_tokens = data.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise invalid("'max_tokens': must be a positive integer (Anthropic requires it).", "max_tokens")
    raw_messages = data.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise invalid("'messages': must be a non-empty list.", "messages")
    messages = _system_messages(data.get("system"))
    for index, message in enumerate(raw_messages):
        messages.extend(_chat_messages(message, f"messages[{index}]"))
    body: dict[str, Any] = {"model": data["model"], "messages": messages, "max_tokens": max_tokens}
    for name in ("temperature", "top_p", "top_k", "timeout", "num_retries", "optimize"):
        if data.get(name) is not None:
            body[name] = data[name]
    if data.get("stop_sequences") is not None:
        body["stop"] = data["stop_sequences"]
    if data.get("stream") is not None:
        body["stream"] = data["stream"]
        if data["stream"] is True:
            # The final usage chunk is what message_delta reports.
            body["stream_options"] = {"include_usage": True}
    metadata = data.get("metadata")
    if isinstance(metadata, dict) and metadata.get("user_id") is not None:
        body["user"] = metadata["user_id"]
    if data.get("tools") is not None:
        body["tools"] = _tools(data["tools"])
    if data.get("tool_choice") is not None:
        body.update(_tool_choice(data["tool_choice"]))
    effort = _reasoning_effort(data.get("thinking"))
    if effort:
        body["reasoning_effort"] = effort
    return body


def _system_messages(system: Any) -> list[dict[str, Any]]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    if isinstance(system, list):
        parts = [_text_part(block, f"system[{i}]") for i, block in enumerate(system)]
        return [{"role": "system", "content": parts}]
    raise invalid("'system': must be a string or a list of text blocks.", "system")


def _text_part(block: Any, where: str) -> dict[str, Any]:
    if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
        raise invalid(f"'{where}': must be a text block.", where)
    part: dict[str, Any] = {"type": "text", "text": block["text"]}
    if block.get("cache_control") is not None:
        part["cache_control"] = block["cache_control"]  # passed on; providers that cache read it
    return part


def _chat_messages(message: Any, where: str) -> list[dict[str, Any]]:
    """One Anthropic turn as OpenAI messages: a user turn's tool results become tool messages."""
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise invalid(f"'{where}.role': must be 'user' or 'assistant'.", f"{where}.role")
    role, content = message["role"], message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list):
        raise invalid(f"'{where}.content': must be a string or a list of blocks.", f"{where}.content")
    if role == "assistant":
        return [_assistant_message(content, where)]
    tool_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for index, block in enumerate(content):
        at = f"{where}.content[{index}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_result":
            tool_messages.append(_tool_message(block, at))
        elif kind == "text":
            parts.append(_text_part(block, at))
        elif kind == "image":
            parts.append(_image_part(block, at))
        else:
            raise _unsupported_block(kind, at)
    # OpenAI wants each tool result right after the assistant's call, before the next user words.
    out = tool_messages
    if parts:
        only_text = len(parts) == 1 and parts[0]["type"] == "text" and "cache_control" not in parts[0]
        out.append({"role": "user", "content": parts[0]["text"] if only_text else parts})
    return out


def _assistant_message(content: list[Any], where: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for index, block in enumerate(content):
        at = f"{where}.content[{index}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(_text_part(block, at)["text"])
        elif kind == "tool_use":
            calls.append(_tool_call(block, at))
        elif kind in ("thinking", "redacted_thinking"):
            continue  # see the module docstring
        else:
            raise _unsupported_block(kind, at)
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    elif message["content"] is None:
        message["content"] = ""
    return message


def _unsupported_block(kind: Any, where: str) -> errors.InvalidRequestError:
    return invalid(
        f"'{where}': content blocks of type {kind!r} cannot be translated for this model's deployments.",
        where,
    )


def _image_part(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "base64" and isinstance(source.get("data"), str):
        media_type = source.get("media_type") or "image/png"
        url = f"data:{media_type};base64,{source['data']}"
    elif isinstance(source, dict) and source.get("type") == "url" and isinstance(source.get("url"), str):
        url = source["url"]
    else:
        raise invalid(f"'{where}.source': must be a base64 or url image source.", f"{where}.source")
    return {"type": "image_url", "image_url": {"url": url}}


def _tool_call(block: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
        raise invalid(f"'{where}': a tool_use block needs an id and a name.", where)
    return {
        "id": block["id"],
        "type": "function",
        "function": {"name": block["name"], "arguments": orjson.dumps(block.get("input") or {}).decode()},
    }


def _tool_message(block: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(block.get("tool_use_id"), str):
        raise invalid(f"'{where}.tool_use_id': Field required.", f"{where}.tool_use_id")
    content = block.get("content")
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "".join(_text_part(part, f"{where}.content[{i}]")["text"] for i, part in enumerate(content))
    else:
        raise invalid(f"'{where}.content': must be a string or a list of text blocks.", f"{where}.content")
    if block.get("is_error"):
        text = f"Error: {text}"  # OpenAI's tool messages have no error flag: the model reads it
    return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": text}


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise invalid("'tools': must be a list.", "tools")
    out = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") not in (None, "custom"):
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise invalid(f"'{where}': server tools ({kind!r}) run only on Anthropic deployments.", where)
        if not isinstance(tool.get("name"), str):
            raise invalid(f"'{where}.name': Field required.", f"{where}.name")
        function: dict[str, Any] = {
            "name": tool["name"],
            "parameters": tool.get("input_schema") or {"type": "object", "properties": {}},
        }
        if tool.get("description"):
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Any) -> dict[str, Any]:
    kind = choice.get("type") if isinstance(choice, dict) else None
    out: dict[str, Any]
    if kind == "auto":
        out = {"tool_choice": "auto"}
    elif kind == "any":
        out = {"tool_choice": "required"}
    elif kind == "none":
        out = {"tool_choice": "none"}
    elif kind == "tool" and isinstance(choice.get("name"), str):
        out = {"tool_choice": {"type": "function", "function": {"name": choice["name"]}}}
    else:
        raise invalid("'tool_choice': must be auto, any, none or a named tool.", "tool_choice")
    if choice.get("disable_parallel_tool_use") and kind != "none":
        out["parallel_tool_calls"] = False
    return out


def _reasoning_effort(thinking: Any) -> str | None:
    if thinking is None:
        return None
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "disabled"):
        raise invalid("'thinking': must be {type: enabled, budget_tokens} or {type: disabled}.", "thinking")
    if thinking["type"] == "disabled":
        return None
    budget = thinking.get("budget_tokens")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise invalid("'thinking.budget_tokens': must be a positive integer.", "thinking.budget_tokens")
    return next((effort for limit, effort in EFFORT_BUDGETS if budget <= limit), "high")


# Answers: OpenAI chat completion → Anthropic message.


def message_id() -> str:
    return "msg_" + uuid.uuid4().hex[:24]


def message(completion: dict[str, Any], model: str) -> dict[str, Any]:
    """The Anthropic message for a chat.completion object, under the client-facing `model`."""
    choice = (completion.get("choices") or [{}])[0]
    said = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if said.get("reasoning_content"):
        content.append({"type": "thinking", "thinking": said["reasoning_content"], "signature": ""})
    if said.get("content"):
        content.append({"type": "text", "text": said["content"]})
    for call in said.get("tool_calls") or ():
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or "toolu_" + uuid.uuid4().hex[:24],
                "name": function.get("name") or "",
                "input": tool_input(function.get("arguments")),
            }
        )
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS.get(choice.get("finish_reason") or "stop", "end_turn"),
        "stop_sequence": None,
        "usage": usage(completion.get("usage") or {}),
    }


def tool_input(arguments: Any) -> dict[str, Any]:
    """A tool call's arguments as tool_use input; text that is not a JSON object is kept under
    `_raw` rather than lost (a model may emit broken JSON; the client decides what to do)."""
    if isinstance(arguments, dict):
        return arguments
    try:
        value = orjson.loads(arguments or "{}")
    except (orjson.JSONDecodeError, TypeError):
        return {"_raw": str(arguments)}
    return value if isinstance(value, dict) else {"_raw": str(arguments)}


def usage(openai_usage: dict[str, Any]) -> dict[str, int]:
    """Anthropic counts cache reads apart from input_tokens; OpenAI's prompt_tokens include them."""
    prompt = int(openai_usage.get("prompt_tokens") or 0)
    details = openai_usage.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    out = {
        "input_tokens": max(0, prompt - cached),
        "output_tokens": int(openai_usage.get("completion_tokens") or 0),
    }
    if cached:
        out["cache_read_input_tokens"] = cached
    return out


def error_body(error: errors.RouterError) -> dict[str, Any]:
    """An error in Anthropic's shape, which the Anthropic SDK maps to its exception classes."""
    kind = _ERROR_TYPES.get(error.status) or ("invalid_request_error" if error.status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": error.message}}


# Streams: OpenAI chat.completion.chunk objects → Anthropic's server-sent events.


def sse_event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class StreamEncoder:
    """Anthropic's event sequence for a stream of OpenAI chunks.

    message_start (and a ping) before the first content, one content block per run of text,
    thinking or one tool call (content_block_start, its deltas, content_block_stop), then, at
    `finish()`, message_delta with the stop reason and usage and message_stop.

    Chunks from an Anthropic deployment that got the client's body carry that upstream's own
    events (NATIVE_EVENTS): those are passed on as they are, thinking signatures included. If the
    stream then continues on another kind of deployment (a mid-stream failover), the open block is
    closed and the rest is encoded from the chunks, numbered on from the upstream's blocks.
    """

    def __init__(self, model: str, *, input_tokens: int = 0) -> None:
        self.model = model
        self.id = message_id()
        self.input_tokens = input_tokens
        self.output_tokens = 0
        self.stop_reason: str | None = None
        self.started = False
        self.block: tuple[str, int | None] | None = None  # (kind, OpenAI tool index) of the open block
        self.blocks = 0
        # Passing an upstream's own events on: the block it left open, what it already said.
        self.native = False
        self.native_open: int | None = None
        self.native_open_kind = ""
        self.native_ended: set[str] = set()

    def feed(self, chunk: dict[str, Any]) -> Iterator[bytes]:
        events = chunk.pop(NATIVE_EVENTS, None)
        if self.native:
            if events is not None:
                yield from self._pass_on(events)
                return
            if not _says_something(chunk):
                return  # the router's own usage chunk: the upstream's message_delta had it
            yield from self._continue_translated()
        elif events is not None and not self.started:
            yield from self._pass_on(events)
            return
        yield from self._start()
        chunk_usage = chunk.get("usage")
        if isinstance(chunk_usage, dict):
            counted = usage(chunk_usage)
            self.input_tokens, self.output_tokens = counted["input_tokens"], counted["output_tokens"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("reasoning_content"):
                yield from self._open("thinking", None, {"type": "thinking", "thinking": "", "signature": ""})
                yield self._delta({"type": "thinking_delta", "thinking": delta["reasoning_content"]})
            if delta.get("content"):
                yield from self._open("text", None, {"type": "text", "text": ""})
                yield self._delta({"type": "text_delta", "text": delta["content"]})
            for call in delta.get("tool_calls") or ():
                yield from self._tool_call(call)
            if choice.get("finish_reason"):
                self.stop_reason = STOP_REASONS.get(choice["finish_reason"], "end_turn")

    def finish(self) -> Iterator[bytes]:
        if self.native and "message_delta" in self.native_ended:
            if "message_stop" not in self.native_ended:
                yield sse_event("message_stop", {"type": "message_stop"})
            return
        if self.native:
            yield from self._continue_translated()
        yield from self._start()
        yield from self._close()
        yield sse_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": self.stop_reason or "end_turn", "stop_sequence": None},
                "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens},
            },
        )
        yield sse_event("message_stop", {"type": "message_stop"})

    def error(self, error: errors.RouterError) -> bytes:
        return sse_event("error", error_body(error))

    def _pass_on(self, events: list[list[Any]]) -> Iterator[bytes]:
        self.native = self.started = True
        for name, data in events:
            if name == "message_start" and isinstance(data.get("message"), dict):
                data = {**data, "message": {**data["message"], "model": self.model}}
            elif name == "content_block_start":
                self.native_open = int(data.get("index") or 0)
                self.native_open_kind = str((data.get("content_block") or {}).get("type") or "")
            elif name == "content_block_stop":
                self.native_open = None
                self.blocks = int(data.get("index") or 0) + 1
            elif name in ("message_delta", "message_stop"):
                self.native_ended.add(name)
            yield sse_event(name, data)

    def _continue_translated(self) -> Iterator[bytes]:
        self.native = False
        if self.native_open is None:
            return
        if self.native_open_kind in ("text", "thinking"):
            # The continuation goes on where the upstream stopped: the same block, more deltas.
            self.block, self.blocks = (self.native_open_kind, None), self.native_open
        else:
            yield sse_event("content_block_stop", {"type": "content_block_stop", "index": self.native_open})
            self.blocks = self.native_open + 1
        self.native_open = None

    def _start(self) -> Iterator[bytes]:
        if self.started:
            return
        self.started = True
        start: dict[str, Any] = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 0},
        }
        yield sse_event("message_start", {"type": "message_start", "message": start})
        yield sse_event("ping", {"type": "ping"})

    def _tool_call(self, call: dict[str, Any]) -> Iterator[bytes]:
        index = call.get("index", 0)
        function = call.get("function") or {}
        if self.block != ("tool_use", index):
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id") or "toolu_" + uuid.uuid4().hex[:24],
                "name": function.get("name") or "",
                "input": {},
            }
            yield from self._open("tool_use", index, block)
        if function.get("arguments"):
            yield self._delta({"type": "input_json_delta", "partial_json": function["arguments"]})

    def _open(self, kind: str, index: int | None, block: dict[str, Any]) -> Iterator[bytes]:
        if self.block == (kind, index):
            return
        yield from self._close()
        self.block = (kind, index)
        yield sse_event(
            "content_block_start",
            {"type": "content_block_start", "index": self.blocks, "content_block": block},
        )

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return sse_event(
            "content_block_delta", {"type": "content_block_delta", "index": self.blocks, "delta": delta}
        )

    def _close(self) -> Iterator[bytes]:
        if self.block is None:
            return
        yield sse_event("content_block_stop", {"type": "content_block_stop", "index": self.blocks})
        self.block = None
        self.blocks += 1


def count_tokens(body: dict[str, Any]) -> int:
    """The estimated input tokens of a translated request: its messages and its tool definitions."""
    tools = body.get("tools")
    return estimate_prompt_tokens(body["messages"]) + (
        estimate_tokens(orjson.dumps(tools).decode()) if tools else 0
    )


def _says_something(chunk: dict[str, Any]) -> bool:
    """Whether a chunk has content (text, thinking, a tool call), not only a role, finish or usage."""
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("reasoning_content") or delta.get("tool_calls"):
            return True
    return False
