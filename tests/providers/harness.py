"""One harness for the adapter tests: an adapter against its fake upstream on a real socket.

`served, fake, base_url = fixtures_for(FakeX)` gives a test module the fake (reset for each test)
and its URL; an `AdapterHarness` (ANTHROPIC, OLLAMA) makes providers and requests and runs the
adapter's complete() and stream() the way the router does, each call on its own loop's pooled upstream client.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from routerapp.providers import close_clients
from routerapp.providers.anthropic import AnthropicAdapter
from routerapp.providers.base import Adapter, ChatChunk, ChatRequest, ChatResult, ProviderConfig, Timeouts
from routerapp.providers.ollama import OllamaAdapter
from tests.fakes import run_asgi_in_thread


def fixtures_for(make_fake: Callable[[], Any]):
    """The `served` (module-wide), `fake` and `base_url` fixtures for one fake upstream."""

    @pytest.fixture(scope="module")
    def served() -> Iterator[tuple[Any, str]]:
        fake = make_fake()
        with run_asgi_in_thread(fake) as url:
            yield fake, url

    @pytest.fixture
    def fake(served: tuple[Any, str]) -> Any:
        served[0].reset()
        return served[0]

    @pytest.fixture
    def base_url(served: tuple[Any, str]) -> str:
        return served[1]

    return served, fake, base_url


@dataclass(frozen=True)
class AdapterHarness:
    adapter: type[Adapter]
    provider_fields: dict[str, Any]
    client_model: str  # what the client asks for
    upstream_model: str  # what the adapter sends upstream

    def create_provider(self, base_url: str, **overrides: Any) -> ProviderConfig:
        return ProviderConfig(**(self.provider_fields | {"base_url": base_url} | overrides))

    def create_request(
        self, *, messages: list[dict] | None = None, stream: bool = False, **params: Any
    ) -> ChatRequest:
        messages = messages or [{"role": "user", "content": "Hi"}]
        return ChatRequest(model=self.client_model, messages=messages, params=params, stream=stream)

    def complete(
        self, provider: ProviderConfig, request: ChatRequest | None = None, timeouts: Timeouts | None = None
    ) -> ChatResult:
        async def main() -> ChatResult:
            try:
                return await self.adapter(provider).complete(
                    request or self.create_request(), self.upstream_model, timeouts or Timeouts()
                )
            finally:
                await close_clients()  # this loop's pooled client, before asyncio.run ends it

        return asyncio.run(main())

    def stream(
        self,
        provider: ProviderConfig,
        request: ChatRequest | None = None,
        timeouts: Timeouts | None = None,
        received: list[ChatChunk] | None = None,
    ) -> list[ChatChunk]:
        """Collect a stream's chunks; `received` keeps those that arrived before an exception."""
        chunks = received if received is not None else []

        async def main() -> None:
            try:
                async for chunk in self.adapter(provider).stream(
                    request or self.create_request(stream=True), self.upstream_model, timeouts or Timeouts()
                ):
                    chunks.append(chunk)
            finally:
                await close_clients()

        asyncio.run(main())
        return chunks


def assert_openai_completion(result: ChatResult, *, text: str, model: str) -> None:
    """What every adapter's answer must look like to a client: one chat.completion whose single
    assistant message is the text, finished with "stop"."""
    assert result.body["object"] == "chat.completion"
    assert result.body["id"].startswith("chatcmpl-")
    assert result.body["model"] == model
    assert result.body["choices"][0]["message"] == {"role": "assistant", "content": text}
    assert result.content == text
    assert result.finish_reason == "stop"


def assert_openai_stream(chunks: list[ChatChunk], *, text: str, usage: tuple[int, int]) -> None:
    """What every adapter's stream must look like to a client: a role chunk, the text, a finish
    chunk with an empty delta, then the usage chunk; all one completion (one id)."""
    assert chunks[0].data["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(chunk.text for chunk in chunks) == text
    assert chunks[-2].finish_reason == "stop"
    assert chunks[-2].data["choices"][0]["delta"] == {}
    assert chunks[-1].data["choices"] == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == usage
    assert {chunk.data["id"] for chunk in chunks} == {chunks[0].data["id"]}
    assert {chunk.data["object"] for chunk in chunks} == {"chat.completion.chunk"}


def closed_port_url() -> str:
    """A URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# The adapters tested against a fake upstream; test_error_mapping.py runs its cases on each.
ANTHROPIC = AdapterHarness(
    AnthropicAdapter,
    {"id": 1, "name": "anth", "kind": "anthropic", "api_key": "sk-test"},
    client_model="anth/claude",
    upstream_model="claude-sonnet-4-5",
)
OLLAMA = AdapterHarness(
    OllamaAdapter,
    {"id": 2, "name": "local", "kind": "ollama"},
    client_model="local/llama",
    upstream_model="llama3.2:3b",
)
