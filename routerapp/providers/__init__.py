"""Upstream wire protocols. Adding a provider kind is a new module plus one line in ADAPTERS."""

from __future__ import annotations

from routerapp.providers.anthropic import AnthropicAdapter
from routerapp.providers.base import Adapter, ProviderConfig
from routerapp.providers.http import close_clients, closing_clients, upstream_client
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

__all__ = ["ADAPTERS", "KINDS", "adapter_for", "close_clients", "closing_clients"]


def adapter_for(provider: ProviderConfig) -> Adapter:
    """An adapter on the running loop's pooled upstream client (providers/http.py)."""
    return ADAPTERS[provider.kind](provider, upstream_client())
