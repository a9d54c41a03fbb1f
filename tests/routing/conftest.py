"""Fixtures of the routing tests: a provider on the fake upstream (stopped_clock is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from routerapp.models import Provider
from tests.factories import create_provider


@pytest.fixture
def up(upstream, live_url) -> Provider:
    """An OpenAI-compatible provider pointing at the fake upstream, with the live server running."""
    return create_provider(name="up", kind="openai", base_url=upstream.base_url)
