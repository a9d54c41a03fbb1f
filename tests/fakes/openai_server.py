"""A fake OpenAI-compatible upstream on a real 127.0.0.1 socket, with faults chosen per model name.

Raw asyncio rather than ASGI so it can do what broken servers do: reset connections, hang, cut a
stream halfway, send malformed JSON. A deployment's upstream model name selects the behaviour:

    "ok"                      a normal answer
    "ok;delay=200"            answer after 200 ms (streams: before the first chunk)
    "err=500" / "err=429;retry_after=3" / "err=401" / "err=400"
    "err=401;echo"            ... with the request's Authorization and x-api-key headers in the message
    "ok200err"                200 whose body is an error object (some proxies do this)
    "html"                    200 with a text/html page instead of JSON
    "reset_body"              send the headers and half the body, then a TCP RST
    "stall_first"             streams: send the headers, then never an event
    "prompt_tokens=-5"        report this (JSON) value as usage.prompt_tokens; also completion_tokens=
    "cached=400;reasoning=30" report that many cached prompt and reasoning completion tokens (details)
    "ctx" / "policy"          400 context_length_exceeded / content policy
    "hang"                    accept and never answer
    "reset"                   close the connection with a TCP RST
    "malformed"               200 with a truncated JSON body (streams: a broken event)
    "cut=3"                   stream 3 content chunks then drop the connection (no [DONE])
    "stall=3"                 stream 3 chunks then go silent
    "nodone"                  stream everything but the final [DONE]
    "fail=0.3;seed=1"         fail (500) that fraction of requests
    "fail=0.3;as=reset"       ... failing the way `as` says: 429, 503, hang, reset or malformed
    "die_after=20;as=reset"   answer the first 20 requests, then fail every one (a deployment dying mid-run)
    "chunks=8;chunk_delay=20" stream shape; "words=..." sets the answer text
    "finish=length"           answer with that finish_reason (streams too)
    "tool=get_weather;arg=city:Paris,unit:c"   answer with that tool call (arguments as JSON, in that order;
                              streams: after the text, the call in three chunks)

POST …/embeddings answers with small deterministic vectors (see _embeddings), faults as above.

Every request is counted per model name in `server.hits`, and the last body kept in `server.last`.
    "ok;ratelimit"            answers carry x-ratelimit-* headers (JSON answers)
    "ok;no_max_tokens"        400 for a request with max_tokens (a reasoning model); "ok;old_names": for max_completion_tokens
    "...;cut_tool"            streams: drop the connection after the tool call's first arguments piece
    "think=Hmm"               streams: a reasoning_content delta before the answer (with cut=0: cut after it)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from contextvars import ContextVar
from typing import Any

# The connection each handler task serves (a task's context is its own).
_reader: ContextVar[asyncio.StreamReader] = ContextVar("reader")


def parse_model(model: str) -> dict[str, str]:
    opts: dict[str, str] = {}
    for part in model.split(";"):
        name, _, value = part.partition("=")
        opts[name.strip()] = value.strip()
    return opts


# What OpenAI sends with every answer ("ratelimit" in the model name).
RATE_LIMIT_HEADERS = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499"}


def _details(opts: dict[str, str]) -> dict[str, Any]:
    """The usage details OpenAI reports, when the model name asks for them."""
    details: dict[str, Any] = {}
    if "cached" in opts:
        details["prompt_tokens_details"] = {"cached_tokens": int(opts["cached"]), "audio_tokens": 0}
    if "reasoning" in opts:
        details["completion_tokens_details"] = {"reasoning_tokens": int(opts["reasoning"])}
    return details


class FakeOpenAI:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.last: dict[str, Any] = {}
        self.bodies: list[dict[str, Any]] = []
        self.headers: dict[str, str] = {}
        self._rngs: dict[str, random.Random] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._bind_port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self) -> None:
        self.hits.clear()
        self.bodies.clear()
        self.last = {}
        self._rngs.clear()

    # Lifecycle: its own loop in a daemon thread.

    def start(self) -> FakeOpenAI:
        self._thread = threading.Thread(target=self._run, name="fake-openai", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake upstream did not start")
        return self

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self._bind_port)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        if self.loop and self._server:
            # Cancel the connections still open (hung or keep-alive) before the loop stops, so
            # nothing is left pending.
            asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(5)
            self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread:
            self._thread.join(5)

    async def _shutdown(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # HTTP/1.1 with keep-alive, as httpx uses it.

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                self.headers = headers
                _reader.set(reader)
                keep = await self._respond(method, path, headers, body, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _respond(self, method: str, path: str, headers: dict, body: bytes, writer) -> bool:
        if method == "GET" and path.endswith("/models"):
            self._send(writer, 200, {"object": "list", "data": [{"id": "ok", "object": "model"}]})
            return True
        if method == "GET" and path == "/health":
            self._send(writer, 200, {"ok": True})
            return True
        if method == "POST" and path.endswith("/embeddings"):
            return self._embeddings(writer, body)
        if not (method == "POST" and path.endswith("/chat/completions")):
            self._send(writer, 404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return True
        try:
            req = json.loads(body)
        except ValueError:
            self._send(writer, 400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
            return True
        model = str(req.get("model", "ok"))
        self.hits[model] += 1
        self.last = req
        self.bodies.append(req)
        opts = parse_model(model)
        if "delay" in opts:
            await asyncio.sleep(float(opts["delay"]) / 1000)
        if "no_max_tokens" in opts and "max_tokens" in req:
            # As OpenAI's reasoning models answer a request with the older name.
            message = "Unsupported parameter: 'max_tokens' is not supported with this model."
            error = {"message": message, "type": "invalid_request_error", "param": "max_tokens"}
            self._send(writer, 400, {"error": error})
            return True
        if "old_names" in opts and "max_completion_tokens" in req:
            # As a strict server that knows only the older name answers the newer one.
            error = {"message": "unknown field max_completion_tokens", "type": "invalid_request_error"}
            self._send(writer, 400, {"error": error})
            return True
        fault = self._fault(model, opts)
        if fault == "hang":
            await self._silence()
            return False
        if fault == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if fault == "malformed":
            opts["malformed"] = ""
        elif fault:
            return self._error(writer, fault, opts, headers)
        if req.get("stream"):
            return await self._stream(writer, req, opts)
        if "malformed" in opts:
            self._raw(writer, 200, b'{"id": "chatcmpl-broken", "choices": [{"mess')
            return True
        if "ok200err" in opts:
            self._send(writer, 200, {"error": {"message": "upstream overloaded", "type": "server_error"}})
            return True
        if "html" in opts:
            self._raw(writer, 200, b"<html><body>502 Bad Gateway</body></html>", content_type="text/html")
            return True
        if "reset_body" in opts:
            body = json.dumps({"id": "chatcmpl-fake", "choices": [{"message": {"content": "x" * 500}}]})
            head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body[: len(body) // 2].encode())
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        text = self._text(req, opts)
        prompt_tokens = max(1, len(body) // 16)
        completion_tokens = len(text.split())
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = opts.get("finish") or "stop"
        if "tool" in opts:
            arguments = dict(pair.split(":", 1) for pair in opts.get("arg", "").split(",") if ":" in pair)
            call = {"name": opts["tool"], "arguments": json.dumps(arguments)}
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": f"call_{self.hits[model]}", "type": "function", "function": call}],
            }
            finish = "tool_calls"
        self._send(
            writer,
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {
                    "prompt_tokens": json.loads(opts["prompt_tokens"])
                    if "prompt_tokens" in opts
                    else prompt_tokens,
                    "completion_tokens": (
                        json.loads(opts["completion_tokens"])
                        if "completion_tokens" in opts
                        else completion_tokens
                    ),
                    "total_tokens": prompt_tokens + completion_tokens,
                    **_details(opts),
                },
            },
            RATE_LIMIT_HEADERS if "ratelimit" in opts else None,
        )
        return True

    def _embeddings(self, writer, body: bytes) -> bool:
        """OpenAI's embeddings API: per input the vector [len(input), position, 0.25] (or `dimensions`
        long), listed in reverse order with their `index`, as the API allows. Faults by model name
        ("err=500", ...) as for chat."""
        req = json.loads(body)
        model = str(req.get("model", "ok"))
        self.hits[model] += 1
        self.last = req
        self.bodies.append(req)
        opts = parse_model(model)
        fault = self._fault(model, opts)
        if fault and fault not in ("hang", "reset", "malformed"):
            return self._error(writer, fault, opts, {})
        inputs = req["input"]
        items = [inputs] if isinstance(inputs, str) or (inputs and isinstance(inputs[0], int)) else inputs
        size = int(req.get("dimensions") or 3)
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": ([float(len(item)), float(i), 0.25] + [0.0] * size)[:size],
            }
            for i, item in enumerate(items)
        ]
        usage = {"prompt_tokens": 5 * len(items), "total_tokens": 5 * len(items)}
        self._send(writer, 200, {"object": "list", "data": data[::-1], "model": model, "usage": usage})
        return True

    async def _silence(self) -> None:
        """Say nothing until the client hangs up (as a hung server's socket does), at most an hour."""
        reader = _reader.get()
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(3600):
                while await reader.read(4096):
                    pass

    def _fault(self, model: str, opts: dict[str, str]) -> str | None:
        for name in ("hang", "reset", "ctx", "policy"):
            if name in opts:
                return name
        if "err" in opts:
            return "err"
        failing = False
        if "fail" in opts:
            rng = self._rngs.setdefault(model, random.Random(int(opts.get("seed") or 0)))
            failing = rng.random() < float(opts["fail"])
        if "die_after" in opts:
            failing = self.hits[model] > int(opts["die_after"])
        if not failing:
            return None
        kind = opts.get("as") or "500"
        if kind.isdigit():
            opts["err"] = kind
            return "err"
        return kind  # hang, reset or malformed

    def _error(self, writer, fault: str, opts: dict[str, str], headers: dict[str, str]) -> bool:
        status = int(opts.get("err") or 500)
        extra = {}
        if fault == "ctx":
            status, message, code = (
                400,
                "This model's maximum context length is 8 tokens.",
                "context_length_exceeded",
            )
        elif fault == "policy":
            status, message, code = (
                400,
                "Your request was rejected by our content policy.",
                "content_policy_violation",
            )
        else:
            message, code = f"fake upstream error {status}", None
        if "echo" in opts:
            # What careless upstreams do: repeat the credentials they were sent.
            message = (
                f"Incorrect API key provided: {headers.get('authorization', '')}; "
                f"x-api-key: {headers.get('x-api-key', '')}"
            )
        if "retry_after" in opts:
            extra["retry-after"] = opts["retry_after"]
        self._send(writer, status, {"error": {"message": message, "type": "api_error", "code": code}}, extra)
        return True

    def _text(self, req: dict, opts: dict[str, str]) -> str:
        if "words" in opts:
            return opts["words"].replace("_", " ")
        last = req["messages"][-1].get("content") if req.get("messages") else ""
        return f"The answer to '{str(last)[:40]}' is forty two."

    async def _stream(self, writer, req: dict, opts: dict[str, str]) -> bool:
        model = req["model"]
        words = self._text(req, opts).split(" ")
        chunks = int(opts.get("chunks") or len(words))
        words = (words * (chunks // max(1, len(words)) + 1))[:chunks]
        delay = float(opts.get("chunk_delay") or 0) / 1000
        cut = int(opts["cut"]) if "cut" in opts else None
        stall = int(opts["stall"]) if "stall" in opts else None
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        if "stall_first" in opts:
            await writer.drain()
            await self._silence()
            return False
        base = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        def event(data: Any) -> None:
            payload = b"data: " + (data if isinstance(data, bytes) else json.dumps(data).encode()) + b"\n\n"
            writer.write(b"%x\r\n%s\r\n" % (len(payload), payload))

        event(
            {
                **base,
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                ],
            }
        )
        if "think" in opts:
            delta = {"reasoning_content": opts["think"] or "Thinking."}
            event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        for i, word in enumerate(words):
            if cut is not None and i == cut:
                await writer.drain()
                writer.transport.abort()
                return False
            if stall is not None and i == stall:
                await writer.drain()
                await self._silence()
                return False
            if "malformed" in opts and i == len(words) // 2:
                event(b'{"id": "chatcmpl-broken", "choices": [{"delta": {"content": "tr')
            text = word if i == len(words) - 1 else word + " "
            event({**base, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})
            if delay:
                await writer.drain()
                await asyncio.sleep(delay)
        finish = opts.get("finish") or "stop"
        if "tool" in opts:
            # The call's name first, its arguments in two pieces, as OpenAI streams them.
            arguments = json.dumps(dict(p.split(":", 1) for p in opts.get("arg", "").split(",") if ":" in p))
            call = {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": opts["tool"], "arguments": ""},
            }
            event({**base, "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]})
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
                if "cut_tool" in opts:
                    await writer.drain()
                    writer.transport.abort()
                    return False
            finish = "tool_calls"
        event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (req.get("stream_options") or {}).get("include_usage"):
            prompt = json.loads(opts["prompt_tokens"]) if "prompt_tokens" in opts else 10
            completion = json.loads(opts["completion_tokens"]) if "completion_tokens" in opts else len(words)
            total = prompt + completion if isinstance(prompt, int) and isinstance(completion, int) else 0
            usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total}
            usage |= _details(opts)
            event({**base, "choices": [], "usage": usage})
        if "nodone" not in opts:
            event(b"[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    def _send(self, writer, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._raw(writer, status, json.dumps(data).encode(), headers)

    def _raw(
        self,
        writer,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        content_type: str = "application/json",
    ) -> None:
        head = f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        writer.write(head.encode() + b"\r\n" + body)


def main() -> None:
    """Serve the fake on a port of its own process (the reliability run uses it that way):
    `python -m tests.fakes.openai_server PORT`; it prints its base URL once listening."""
    import sys

    server = FakeOpenAI()
    server._bind_port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server.start()
    print(server.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


if __name__ == "__main__":
    main()
