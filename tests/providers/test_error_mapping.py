"""How every HTTP adapter maps an upstream failure: the same RouterError, status and provider-named
message from complete() and stream(), each adapter against its own fake upstream on a real socket.

What is particular to one provider (Anthropic's error events, Ollama's error lines, retry-after,
a missing model) stays in that adapter's module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from routerapp import errors
from routerapp.providers.base import ChatChunk, Timeouts
from tests.fakes import run_asgi_in_thread
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.ollama_server import FakeOllama
from tests.providers.harness import ANTHROPIC, OLLAMA, AdapterHarness, closed_port_url

ADAPTERS: dict[str, tuple[AdapterHarness, type]] = {
    "anthropic": (ANTHROPIC, FakeAnthropic),
    "ollama": (OLLAMA, FakeOllama),
}

# (adapter, fake behaviour, the error the router sees, its HTTP status to the client)
HTTP_ERROR_CASES = [
    ("anthropic", "prompt_too_long", errors.ContextWindowExceededError, 400),
    ("anthropic", "invalid_request", errors.InvalidRequestError, 400),
    ("anthropic", "unauthorized", errors.UpstreamAuthError, 502),
    ("anthropic", "forbidden", errors.UpstreamAuthError, 502),
    ("anthropic", "not_found", errors.InvalidRequestError, 404),
    ("anthropic", "rate_limited", errors.RateLimitError, 429),
    ("anthropic", "server_error", errors.ProviderUnavailableError, 502),
    ("anthropic", "overloaded", errors.ProviderUnavailableError, 503),
    ("ollama", "model_not_found", errors.InvalidRequestError, 404),
    ("ollama", "bad_request", errors.InvalidRequestError, 400),
    ("ollama", "server_error", errors.ProviderUnavailableError, 502),
    ("ollama", "unavailable", errors.ProviderUnavailableError, 503),
]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, tuple[Any, str]]]:
    """Each adapter's fake upstream and its URL, for the whole module."""
    with ExitStack() as stack:
        served = {}
        for name, (_, make_fake) in ADAPTERS.items():
            fake = make_fake()
            served[name] = (fake, stack.enter_context(run_asgi_in_thread(fake)))
        yield served


def upstream(upstreams: dict[str, tuple[Any, str]], adapter: str, behaviour: str) -> tuple[Any, str]:
    fake, url = upstreams[adapter]
    fake.reset()
    fake.behaviour = behaviour
    return fake, url


@pytest.mark.parametrize("streamed", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize(("adapter", "behaviour", "error_class", "status"), HTTP_ERROR_CASES)
def test_http_errors_map_onto_router_errors(
    upstreams: dict[str, tuple[Any, str]],
    adapter: str,
    behaviour: str,
    error_class: type[errors.RouterError],
    status: int,
    streamed: bool,
) -> None:
    harness = ADAPTERS[adapter][0]
    _, url = upstream(upstreams, adapter, behaviour)
    provider = harness.create_provider(url)
    received: list[ChatChunk] = []

    with pytest.raises(error_class) as info:
        if streamed:
            harness.stream(provider, received=received)
        else:
            harness.complete(provider)

    assert type(info.value) is error_class
    assert info.value.status == status
    # The provider is named (the message reaches the logs and, for client errors, the client).
    assert info.value.message.startswith(f"{provider.name}: ")
    assert received == []


@pytest.mark.parametrize(("adapter", "end_marker"), [("anthropic", "message_stop"), ("ollama", "done")])
def test_a_stream_without_its_end_marker_raises(
    upstreams: dict[str, tuple[Any, str]], adapter: str, end_marker: str
) -> None:
    harness = ADAPTERS[adapter][0]
    _, url = upstream(upstreams, adapter, "truncated")
    received: list[ChatChunk] = []

    with pytest.raises(errors.ProviderUnavailableError, match=end_marker):
        harness.stream(harness.create_provider(url), received=received)

    # What arrived was passed on, but no finish or usage chunk pretends the answer is complete.
    assert [chunk.text for chunk in received] == ["", "Hello "]
    assert all(chunk.finish_reason is None and chunk.usage is None for chunk in received)


# An error reported inside a 200 stream: Anthropic's `error` event carries a type (mapped through
# its documented status), Ollama's error line only a message (the runner failed).
MID_STREAM_CASES = [
    ("anthropic", "overloaded_error", errors.ProviderUnavailableError),
    ("anthropic", "api_error", errors.ProviderUnavailableError),
    ("anthropic", "rate_limit_error", errors.RateLimitError),
    ("anthropic", "invalid_request_error", errors.InvalidRequestError),
    ("anthropic", "authentication_error", errors.UpstreamAuthError),
    ("ollama", None, errors.ProviderUnavailableError),
]


@pytest.mark.parametrize(("adapter", "error_type", "error_class"), MID_STREAM_CASES)
def test_an_error_mid_stream_raises_the_matching_router_error(
    upstreams: dict[str, tuple[Any, str]],
    adapter: str,
    error_type: str | None,
    error_class: type[errors.RouterError],
) -> None:
    harness = ADAPTERS[adapter][0]
    fake, url = upstream(upstreams, adapter, "error_event" if adapter == "anthropic" else "error_line")
    if error_type:
        fake.stream_error_type = error_type
    provider = harness.create_provider(url)
    received: list[ChatChunk] = []

    with pytest.raises(error_class) as info:
        harness.stream(provider, received=received)

    assert type(info.value) is error_class
    assert info.value.message.startswith(f"{provider.name}: ")
    if adapter == "ollama":
        assert "unexpected EOF" in info.value.message  # the runner's own words
    assert [chunk.text for chunk in received] == ["", "Hello "]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_connection_refused_is_provider_unavailable(adapter: str) -> None:
    harness = ADAPTERS[adapter][0]
    provider = harness.create_provider(closed_port_url())

    with pytest.raises(errors.ProviderUnavailableError):
        harness.complete(provider)
    with pytest.raises(errors.ProviderUnavailableError):
        harness.stream(provider)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_slow_upstream_times_out(upstreams: dict[str, tuple[Any, str]], adapter: str) -> None:
    harness = ADAPTERS[adapter][0]
    _, url = upstream(upstreams, adapter, "slow")
    provider = harness.create_provider(url)
    timeouts = Timeouts(total=0.5, first_token=0.5)

    with pytest.raises(errors.UpstreamTimeoutError):
        harness.complete(provider, timeouts=timeouts)
    with pytest.raises(errors.UpstreamTimeoutError):
        harness.stream(provider, harness.create_request(stream=True), timeouts=timeouts)
