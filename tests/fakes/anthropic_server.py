"""A fake Anthropic Messages API (POST /v1/messages), with switches for the failures adapters must handle.

Set `behaviour` before a request; every request is recorded (`last_request`, `last_headers`) so tests can
assert how the adapter translated it.
"""

from __future__ import annotations

import json
from typing import Any

from . import RecordingFake, send_json, send_start, wait_for_disconnect

# behaviour → (HTTP status, Anthropic error type, message, extra headers), as api.anthropic.com answers.
HTTP_ERRORS: dict[str, tuple[int, str, str, dict[str, str]]] = {
    "prompt_too_long": (
        400,
        "invalid_request_error",
        "prompt is too long: 215000 tokens > 200000 maximum",
        {},
    ),
    "invalid_request": (400, "invalid_request_error", "max_tokens: Field required", {}),
    "unauthorized": (401, "authentication_error", "invalid x-api-key", {}),
    "forbidden": (
        403,
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
        {},
    ),
    "not_found": (404, "not_found_error", "model: claude-nope", {}),
    "rate_limited": (
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your rate limit.",
        {"retry-after": "7"},
    ),
    "server_error": (500, "api_error", "Internal server error", {}),
    "overloaded": (529, "overloaded_error", "Overloaded", {}),
}


class FakeAnthropic(RecordingFake):
    """Behaviours: "answer" (JSON or SSE, as the request asks), "tool_use" (a call of `tool_name`),
    "thinking" (a thinking block before the text), any key of HTTP_ERRORS,
    "truncated" (a stream that stops before message_stop), "error_event" (a stream that reports
    `stream_error_type` midway), "slow" (waits `delay` seconds or until the client hangs up)."""

    def reset(self) -> None:
        super().reset()
        self.reply = "Hello from the fake Claude."
        self.stop_reason = "end_turn"
        self.usage: dict[str, int] = {"input_tokens": 21, "output_tokens": 9}
        self.stream_error_type = "overloaded_error"
        self.tool_name = "get_weather"
        self.thinking = "Let me think about it."

    async def respond(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["method"] != "POST" or scope["path"] != "/v1/messages":
            await send_json(send, 404, _error("not_found_error", f"Not found: {scope['path']}"))
            return
        if self.behaviour in HTTP_ERRORS:
            status, error_type, message, headers = HTTP_ERRORS[self.behaviour]
            await send_json(send, status, _error(error_type, message), headers)
            return
        if self.behaviour == "slow" and await wait_for_disconnect(receive, self.delay):
            return
        request = self.last_request or {}
        if request.get("stream"):
            await self._stream(send, request)
        else:
            await send_json(send, 200, self._message(request))

    def _message(self, request: dict[str, Any]) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": self.reply}]
        if self.behaviour == "thinking":
            content.insert(0, {"type": "thinking", "thinking": self.thinking, "signature": "sig01"})
        stop_reason = self.stop_reason
        if self.behaviour == "tool_use":
            content.append(
                {"type": "tool_use", "id": "toolu_01", "name": self.tool_name, "input": {"city": "Paris"}}
            )
            stop_reason = "tool_use"
        return {
            "id": "msg_fake01",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", "claude-fake"),
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": self.usage,
        }

    async def _stream(self, send: Any, request: dict[str, Any]) -> None:
        await send_start(send, 200, "text/event-stream", {"cache-control": "no-cache"})

        async def event(name: str, data: dict[str, Any]) -> None:
            payload = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            await send({"type": "http.response.body", "body": payload, "more_body": True})

        start_usage = {**self.usage, "output_tokens": 1}
        message = {**self._message(request), "content": [], "stop_reason": None, "usage": start_usage}
        await event("message_start", {"type": "message_start", "message": message})
        text_index = 0
        if self.behaviour == "thinking":
            block = {"type": "thinking", "thinking": "", "signature": ""}
            await event(
                "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
            )
            for part in (self.thinking[:5], self.thinking[5:]):
                delta = {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": part},
                }
                await event("content_block_delta", delta)
            signature = {"type": "signature_delta", "signature": "sig01"}
            await event(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": signature}
            )
            await event("content_block_stop", {"type": "content_block_stop", "index": 0})
            text_index = 1
        await event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": text_index,
                "content_block": {"type": "text", "text": ""},
            },
        )
        await event("ping", {"type": "ping"})
        # Word by word, so the adapter has to pass several deltas through.
        words = self.reply.split(" ")
        for position, word in enumerate(words):
            text = word if position == len(words) - 1 else word + " "
            delta = {
                "type": "content_block_delta",
                "index": text_index,
                "delta": {"type": "text_delta", "text": text},
            }
            await event("content_block_delta", delta)
            if self.behaviour == "truncated" and position == 0:
                await send({"type": "http.response.body", "body": b""})  # ends the body cleanly, mid-answer
                return
            if self.behaviour == "error_event" and position == 0:
                await event("error", _error(self.stream_error_type, "Overloaded"))
                await send({"type": "http.response.body", "body": b""})
                return
        await event("content_block_stop", {"type": "content_block_stop", "index": text_index})
        stop_reason = self.stop_reason
        if self.behaviour == "tool_use":
            block = {"type": "tool_use", "id": "toolu_01", "name": self.tool_name, "input": {}}
            await event(
                "content_block_start", {"type": "content_block_start", "index": 1, "content_block": block}
            )
            for part in ('{"city": ', '"Paris"}'):
                delta = {
                    "type": "content_block_delta",
                    "index": 1,
                    "delta": {"type": "input_json_delta", "partial_json": part},
                }
                await event("content_block_delta", delta)
            await event("content_block_stop", {"type": "content_block_stop", "index": 1})
            stop_reason = "tool_use"
        await event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": self.usage["output_tokens"]},
            },
        )
        await event("message_stop", {"type": "message_stop"})
        await send({"type": "http.response.body", "body": b""})


def _error(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}
