"""A fake Ollama server (POST /api/chat and /api/embed, native protocol), with switches for the failures adapters must handle.

Set `behaviour` before a request; every request is recorded (`last_request`, `last_headers`) so tests can
assert how the adapter translated it.
"""

from __future__ import annotations

import json
from typing import Any

from . import RecordingFake, send_json, send_start, wait_for_disconnect

# behaviour → (HTTP status, error text), as Ollama answers.
HTTP_ERRORS: dict[str, tuple[int, str]] = {
    "model_not_found": (404, 'model "llama-nope" not found, try pulling it first'),
    "bad_request": (400, "invalid options: num_predict must be an integer"),
    "server_error": (500, "llama runner process has terminated: signal: killed"),
    "unavailable": (503, "server busy, please try again. maximum pending requests exceeded"),
}

# Ollama names no tool call and sends the arguments as an object, not a JSON string.
_TOOL_CALL = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
_OTHER_CALL = {"function": {"name": "get_time", "arguments": {"city": "Paris"}}}


class FakeOllama(RecordingFake):
    """Behaviours: "answer" (JSON or NDJSON, as the request asks; Ollama streams unless told not to),
    "length" (stopped by num_predict), "no_counts" (omits the token counts), "tool_call", "tool_calls"
    (two calls at once), "thinking" (a `thinking` text before the answer), any key of
    HTTP_ERRORS, "truncated" (a stream without its done line), "error_line" (a stream that reports an
    error midway), "slow" (waits `delay` seconds or until the client hangs up)."""

    def reset(self) -> None:
        super().reset()
        self.reply = "Hello from the fake llama."
        self.prompt_eval_count = 17
        self.eval_count = 8
        self.thinking = "Hmm, a greeting."

    async def respond(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["method"] == "POST" and scope["path"] == "/api/embed":
            await self._embed(send, self.last_request or {})
            return
        if scope["method"] != "POST" or scope["path"] != "/api/chat":
            await send_json(send, 404, {"error": "404 page not found"})
            return
        if self.behaviour in HTTP_ERRORS:
            status, message = HTTP_ERRORS[self.behaviour]
            await send_json(send, status, {"error": message})
            return
        if self.behaviour == "slow" and await wait_for_disconnect(receive, self.delay):
            return
        request = self.last_request or {}
        if request.get("stream", True):
            await self._stream(send, request)
        else:
            answer = {**self._line(request, self.reply), **self._final()}
            if self.behaviour in ("tool_call", "tool_calls"):
                answer["message"] = {"role": "assistant", "content": "", "tool_calls": self._calls()}
            if self.behaviour == "thinking":
                answer["message"]["thinking"] = self.thinking
            await send_json(send, 200, answer)

    def _calls(self) -> list[dict[str, Any]]:
        return [_TOOL_CALL, _OTHER_CALL] if self.behaviour == "tool_calls" else [_TOOL_CALL]

    async def _embed(self, send: Any, request: dict[str, Any]) -> None:
        """Ollama's embed API: one vector per input, each [len(text), position, 0.5]."""
        if self.behaviour in HTTP_ERRORS:
            status, message = HTTP_ERRORS[self.behaviour]
            await send_json(send, status, {"error": message})
            return
        inputs = request.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or ())
        vectors = [[float(len(text)), float(i), 0.5] for i, text in enumerate(texts)]
        answer = {"model": request.get("model"), "embeddings": vectors, "prompt_eval_count": 3 * len(texts)}
        await send_json(send, 200, answer)

    def _line(self, request: dict[str, Any], content: str) -> dict[str, Any]:
        return {
            "model": request.get("model", "llama-fake"),
            "created_at": "2025-01-01T00:00:00.000000Z",
            "message": {"role": "assistant", "content": content},
            "done": False,
        }

    def _final(self) -> dict[str, Any]:
        final: dict[str, Any] = {
            "done": True,
            "done_reason": "length" if self.behaviour == "length" else "stop",
        }
        if self.behaviour != "no_counts":
            final |= {"prompt_eval_count": self.prompt_eval_count, "eval_count": self.eval_count}
        final |= {"total_duration": 123456789, "load_duration": 1234567, "eval_duration": 98765432}
        return final

    async def _stream(self, send: Any, request: dict[str, Any]) -> None:
        await send_start(send, 200, "application/x-ndjson")

        async def line(data: dict[str, Any]) -> None:
            await send(
                {"type": "http.response.body", "body": json.dumps(data).encode() + b"\n", "more_body": True}
            )

        if self.behaviour == "thinking":
            thinking = {
                **self._line(request, ""),
                "message": {"role": "assistant", "content": "", "thinking": self.thinking},
            }
            await line(thinking)
        words = self.reply.split(" ")
        for position, word in enumerate(words):
            await line(self._line(request, word if position == len(words) - 1 else word + " "))
            if self.behaviour == "truncated" and position == 0:
                await send({"type": "http.response.body", "body": b""})  # ends the body cleanly, mid-answer
                return
            if self.behaviour == "error_line" and position == 0:
                await line({"error": "an error was encountered while running the model: unexpected EOF"})
                await send({"type": "http.response.body", "body": b""})
                return
        if self.behaviour in ("tool_call", "tool_calls"):
            message = {"role": "assistant", "content": "", "tool_calls": self._calls()}
            await line({**self._line(request, ""), "message": message})
        await line({**self._line(request, ""), **self._final()})
        await send({"type": "http.response.body", "body": b""})
