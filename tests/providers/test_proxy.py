"""Upstream calls honour HTTP_PROXY / NO_PROXY from the environment (providers/http.py)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from routerapp.providers import close_clients
from routerapp.providers.base import ChatRequest, ChatResult, ProviderConfig, Timeouts
from routerapp.providers.openai_compat import OpenAIAdapter


def complete(base_url: str) -> ChatResult:
    provider = ProviderConfig(id=1, name="up", kind="openai", base_url=base_url)
    request = ChatRequest(model="ok", messages=[{"role": "user", "content": "Hi"}])

    async def main() -> ChatResult:
        try:
            return await OpenAIAdapter(provider).complete(request, "ok", Timeouts(connect=2))
        finally:
            await close_clients()

    return asyncio.run(main())


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_http_proxy_from_the_environment_carries_the_call(upstream, clean_proxy_env) -> None:
    # The fake upstream plays the proxy: a host that does not exist is reachable only through it.
    clean_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{upstream.port}")

    result = complete("http://upstream.invalid/v1")

    assert result.content
    assert upstream.headers["host"] == "upstream.invalid"


def test_no_proxy_sends_the_call_straight_to_the_upstream(upstream, clean_proxy_env) -> None:
    clean_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")  # would refuse
    clean_proxy_env.setenv("NO_PROXY", "127.0.0.1")

    result = complete(upstream.base_url)

    assert result.content
