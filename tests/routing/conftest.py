"""Fixtures of the routing tests: a provider on the fake upstream, the router's clock stopped."""

from __future__ import annotations

import pytest

from routerapp.models import Provider
from routerapp.routing.clock import clock
from tests.factories import create_provider
from tests.helpers import minute_start


@pytest.fixture
def up(upstream, live_url) -> Provider:
    """An OpenAI-compatible provider pointing at the fake upstream, with the live server running."""
    return create_provider(name="up", kind="openai", base_url=upstream.base_url)


@pytest.fixture
def stopped_clock():
    """The router's clock (breaker deadlines, rate-limit minutes, retry backoff) stopped one second
    into a minute: it moves only when the test advances it, and backoff sleeps are noted in
    `clock.slept` rather than waited out."""
    clock.stop(at=minute_start())
    yield clock
    clock.start()
