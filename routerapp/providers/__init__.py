"""Upstream wire protocols. Adding a provider kind is a new module plus one line in ADAPTERS."""

from __future__ import annotations

import asyncio

import httpx

from routerapp.providers.anthropic import AnthropicAdapter
from routerapp.providers.base import Adapter, ProviderConfig
from routerapp.providers.ollama import OllamaAdapter
from routerapp.providers.openai_compat import OpenAIAdapter
from routerapp.providers.simulated import SimulatedAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    "openai": OpenAIAdapter,
    "anthropic": AnthropicAdapter,
    "ollama": OllamaAdapter,
    "simulated": SimulatedAdapter,
}

KINDS = tuple(ADAPTERS)

_clients: dict[int, httpx.AsyncClient] = {}


def http_client() -> httpx.AsyncClient:
    """The process's pooled client for the running event loop.

    One per loop because an httpx client's connections belong to the loop that opened them; a
    server process has one loop, tests and management commands may run several in turn.
    """
    loop = asyncio.get_running_loop()
    client = _clients.get(id(loop))
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200, keepalive_expiry=30),
            timeout=httpx.Timeout(60.0, connect=5.0),
            follow_redirects=False,
        )
        _clients[id(loop)] = client
    return client


def adapter_for(provider: ProviderConfig) -> Adapter:
    return ADAPTERS[provider.kind](provider, http_client())


async def close_clients() -> None:
    loop = asyncio.get_running_loop()
    client = _clients.pop(id(loop), None)
    if client is not None:
        await client.aclose()
