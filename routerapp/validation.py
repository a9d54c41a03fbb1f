"""Turn a client's JSON body into a ChatRequest, or say precisely what is wrong with it.

Checks what the router relies on and what OpenAI itself rejects with a 400; other parameters pass
through untouched to OpenAI-compatible upstreams (which validate them again).
"""

from __future__ import annotations

from typing import Any

import orjson

from routerapp.errors import InvalidRequestError
from routerapp.providers.base import ChatRequest

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# Router-only options a client may send in the body (the OpenAI SDK's `extra_body`); not forwarded.
ROUTER_OPTIONS = ("timeout", "num_retries", "metadata", "optimize")
NUMBER_PARAMS = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
POSITIVE_INT_PARAMS = ("max_tokens", "max_completion_tokens", "n")


def _invalid(message: str, param: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(message, param=param)


def parse_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise _invalid("The request body is empty; expected a JSON object.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _invalid(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _invalid("The request body must be a JSON object.")
    return data


def chat_request(data: dict[str, Any]) -> ChatRequest:
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _invalid("'model' is required and must be a non-empty string.", "model")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("'messages' is required and must be a non-empty array.", "messages")
    for i, message in enumerate(messages):
        _check_message(message, i)
    stream = data.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise _invalid("'stream' must be a boolean.", "stream")
    include_usage = False
    stream_options = data.get("stream_options")
    if stream_options is not None:
        if not isinstance(stream_options, dict):
            raise _invalid("'stream_options' must be an object.", "stream_options")
        include_usage = bool(stream_options.get("include_usage", False))
    for name, (low, high) in NUMBER_PARAMS.items():
        value = data.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high
        ):
            raise _invalid(f"'{name}' must be a number between {low:g} and {high:g}.", name)
    for name in POSITIVE_INT_PARAMS:
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise _invalid(f"'{name}' must be a positive integer.", name)
    timeout = data.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
    ):
        raise _invalid("'timeout' must be a positive number of seconds.", "timeout")
    num_retries = data.get("num_retries")
    if num_retries is not None and (
        isinstance(num_retries, bool) or not isinstance(num_retries, int) or not 0 <= num_retries <= 10
    ):
        raise _invalid("'num_retries' must be an integer from 0 to 10.", "num_retries")
    optimize = data.get("optimize")
    if optimize is not None:
        if isinstance(optimize, list) and all(isinstance(o, str) for o in optimize):
            optimize = ",".join(optimize)
        if not isinstance(optimize, str):
            raise _invalid(
                "'optimize' must be a string like 'compress,-cache' or a list of names.", "optimize"
            )
    params = {
        k: v
        for k, v in data.items()
        if k not in ("model", "messages", "stream", "stream_options") and k not in ROUTER_OPTIONS
    }
    return ChatRequest(
        model=model,
        messages=messages,
        params=params,
        stream=stream,
        include_usage=include_usage,
        timeout_s=float(timeout) if timeout is not None else None,
        num_retries=num_retries,
        optimize_spec=optimize,
    )


def _check_message(message: Any, index: int) -> None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise _invalid(f"'{where}' must be an object with 'role' and 'content'.", where)
    role = message.get("role")
    if role not in ROLES:
        raise _invalid(
            f"'{where}.role' must be one of {', '.join(sorted(ROLES))}; got {role!r}.", f"{where}.role"
        )
    content = message.get("content")
    if content is None:
        if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            return
        raise _invalid(f"'{where}.content' is required.", f"{where}.content")
    if isinstance(content, str):
        return
    if isinstance(content, list):
        for j, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                raise _invalid(f"'{where}.content[{j}]' must be an object with a 'type'.", f"{where}.content")
        return
    raise _invalid(f"'{where}.content' must be a string or an array of content parts.", f"{where}.content")
