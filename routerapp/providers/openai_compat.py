"""Any OpenAI-compatible server: OpenAI, vLLM, llama.cpp server, LM Studio, Together, Groq, ..."""

from __future__ import annotations

import asyncio
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
    checked_usage,
    checked_vectors,
    counted,
    encode_json,
    error_message,
    estimate_prompt_tokens,
    estimate_tokens,
    iter_sse,
    malformed,
    openai_usage,
    usage_of,
)


class OpenAIAdapter(Adapter):
    OPTIONS = frozenset({"stream_usage"})
    kind = "openai"

    def _headers(self) -> dict[str, str]:
        return self.bearer_headers()

    def _payload(self, request: ChatRequest, upstream_model: str, *, stream: bool) -> bytes:
        payload: dict[str, Any] = {**request.params, "model": upstream_model, "messages": request.messages}
        if stream:
            payload["stream"] = True
            # Always ask for usage so cost tracking works; the router drops the usage chunk
            # again when the client did not ask for it. Some servers reject the option: let the
            # provider switch it off with `options: {stream_usage: false}`.
            if self.provider.options.get("stream_usage", True):
                payload["stream_options"] = {"include_usage": True}
            else:
                payload.pop("stream_options", None)
        else:
            payload.pop("stream", None)
            payload.pop("stream_options", None)
        return encode_json(payload)

    async def probe(self, upstream_model: str, timeouts: Timeouts) -> None:
        """One token under OpenAI's current name for the limit: its reasoning models refuse
        `max_tokens`. A server that knows only the older name refuses the newer one (a 400): it
        is asked again with `max_tokens`."""
        messages = [{"role": "user", "content": "ping"}]
        try:
            request = ChatRequest(
                model=upstream_model, messages=messages, params={"max_completion_tokens": 1}
            )
            await self.complete(request, upstream_model, timeouts)
        except errors.InvalidRequestError:
            request = ChatRequest(model=upstream_model, messages=messages, params={"max_tokens": 1})
            await self.complete(request, upstream_model, timeouts)

    async def complete(self, request: ChatRequest, upstream_model: str, timeouts: Timeouts) -> ChatResult:
        data = await self.post_json(
            self.url("/chat/completions"),
            self._payload(request, upstream_model, stream=False),
            self._headers(),
            timeouts,
        )
        if not isinstance(data.get("choices"), list) or not data["choices"]:
            if data.get("error"):
                # A 200 that carries an error (some proxies do this): the upstream failed.
                raise errors.ProviderUnavailableError(
                    f"{self.provider.name}: error in a 200 response: {error_message(orjson.dumps(data))}"
                )
            raise malformed(self.provider.name, "no choices")
        raw_usage = data.get("usage")
        raw_usage = raw_usage if isinstance(raw_usage, dict) else {}

        def estimate() -> tuple[int, int]:
            choice = data["choices"][0] if isinstance(data["choices"][0], dict) else {}
            text = (choice.get("message") or {}).get("content")
            return estimate_prompt_tokens(request.messages), estimate_tokens(
                text if isinstance(text, str) else ""
            )

        usage = usage_of(raw_usage.get("prompt_tokens"), raw_usage.get("completion_tokens"), estimate)
        usage = openai_usage(raw_usage, usage)
        data["usage"] = checked_usage(raw_usage, usage)
        return ChatResult(body=data, usage=usage)

    async def embed(
        self, request: EmbeddingRequest, upstream_model: str, timeouts: Timeouts
    ) -> EmbeddingResult:
        payload = {
            **request.params,
            "model": upstream_model,
            "input": request.input,
            "encoding_format": "float",
        }
        data = await self.post_json(self.url("/embeddings"), encode_json(payload), self._headers(), timeouts)
        items = data.get("data")
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise malformed(self.provider.name, "no data")
        # OpenAI numbers its results; put them in input order whatever order they came in.
        items = sorted(items, key=lambda item: item.get("index") if isinstance(item.get("index"), int) else 0)
        vectors = checked_vectors(
            [item.get("embedding") for item in items], len(request.input), self.provider.name
        )
        raw_usage = data.get("usage")
        raw_usage = raw_usage if isinstance(raw_usage, dict) else {}
        usage = usage_of(
            raw_usage.get("prompt_tokens"), 0, lambda: (estimate_prompt_tokens(request.messages), 0)
        )
        return EmbeddingResult(vectors=vectors, usage=usage)

    async def stream(
        self, request: ChatRequest, upstream_model: str, timeouts: Timeouts
    ) -> AsyncIterator[ChatChunk]:
        name = self.provider.name
        payload = self._payload(request, upstream_model, stream=True)
        async with self.open_stream(
            self.url("/chat/completions"), payload, self._headers(), timeouts
        ) as response:
            done = False
            events = iter_sse(response)
            async for _event, data in events:
                if data == "[DONE]":
                    done = True
                    break
                obj = self.json_object(data, "stream event")
                if "error" in obj:
                    raise errors.ProviderUnavailableError(f"{name}: stream error: {obj['error']}")
                usage = None
                if isinstance(obj.get("usage"), dict) and obj["usage"]:
                    raw = obj["usage"]
                    usage = Usage(
                        counted(raw.get("prompt_tokens")) or 0, counted(raw.get("completion_tokens")) or 0
                    )
                    usage = openai_usage(raw, usage)
                    obj["usage"] = checked_usage(raw, usage)
                yield ChatChunk(data=obj, usage=usage)
            if not done:
                raise malformed(name, "stream ended without [DONE]")
            await finish_body(events)


# How long to wait for the end of a streamed body after its [DONE].
FINISH_BODY_S = 0.1


async def finish_body(events: AsyncIterator[tuple[str, str]]) -> None:
    """Read what follows [DONE], normally only the end of the chunked body.

    httpx returns a connection to its pool only once the response body has been read to its end;
    leaving after [DONE] closed it instead, so every stream paid for a new TCP connection (and left
    a socket in TIME_WAIT): ~15 % of the CPU of a streamed request (bench/README.md). A server that
    keeps the body open after [DONE] just gets that connection closed, FINISH_BODY_S later.
    """
    try:
        async with asyncio.timeout(FINISH_BODY_S):
            async for _ in events:
                pass
    except TimeoutError:
        pass
