"""Upstream wire protocols. Adding a provider kind is a new module plus one line in ADAPTERS."""

from __future__ import annotations

import asyncio
import itertools

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

# Connection pools behind the one client; see ShardedTransport.
POOL_SHARDS = 8


class ShardedTransport(httpx.AsyncBaseTransport):
    """httpx's own HTTP transport, split into a few independent connection pools used in turn.

    httpcore's pool re-examines every connection it holds (a socket poll each) for every queued
    request, whenever a request starts or ends: per request, work that grows with the square of
    the requests in flight. At 32 in flight that was half of the router's CPU (bench/README.md);
    with 8 pools of ~4 connections it is a few percent, and requests per second nearly doubled.
    """

    def __init__(self, shards: int = POOL_SHARDS) -> None:
        per_shard = httpx.Limits(
            max_connections=1000 // shards,
            max_keepalive_connections=max(1, 200 // shards),
            # HTTP/1.1 keep-alive: reuse upstream connections for up to 30 s of idleness.
            keepalive_expiry=30,
        )
        tls = httpx.create_ssl_context()  # loading the CA bundle once, not once per shard, saves ~15 ms each
        self._shards = [httpx.AsyncHTTPTransport(verify=tls, limits=per_shard) for _ in range(shards)]
        self._turn = itertools.cycle(self._shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._turn).handle_async_request(request)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


def http_client() -> httpx.AsyncClient:
    """The process's pooled client for the running event loop.

    One per loop because an httpx client's connections belong to the loop that opened them; a
    server process has one loop, tests and management commands may run several in turn.
    """
    loop = asyncio.get_running_loop()
    client = _clients.get(id(loop))
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            transport=ShardedTransport(),
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
