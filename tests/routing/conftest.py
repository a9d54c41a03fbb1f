"""Shared pieces for the routing tests: a provider on the fake upstream, raw posts, history reads."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from routerapp.models import Attempt, Deployment, Provider, QueryRecord
from routerapp.routing.clock import clock
from routerapp.routing.counters import minute_window
from routerapp.routing.table import DeploymentInfo, load_table
from tests.conftest import flush_history
from tests.factories import create_provider

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def up(upstream, live_url) -> Provider:
    """An OpenAI-compatible provider pointing at the fake upstream, with the live server running."""
    return create_provider(name="up", kind="openai", base_url=upstream.base_url)


def post(live_url: str, key: str, body: dict[str, Any], *, timeout: float = 30) -> httpx.Response:
    return httpx.post(
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json=body,
        timeout=timeout,
    )


def ask(live_url: str, key: str, model: str, **extra: Any) -> httpx.Response:
    return post(live_url, key, {"model": model, "messages": HI, **extra})


def stream_events(live_url: str, key: str, body: dict[str, Any]) -> tuple[httpx.Response, list[str]]:
    """POST a streamed request and return the raw `data:` payloads in order ('[DONE]' included)."""
    with httpx.stream(
        "POST",
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={**body, "stream": True},
        timeout=30,
    ) as response:
        raw = response.read().decode()
    events = [e.removeprefix("data: ") for e in raw.split("\n\n") if e.strip()]
    return response, events


def deployment(upstream_model: str) -> Deployment:
    return Deployment.objects.get(upstream_model=upstream_model)


def routed(upstream_model: str) -> DeploymentInfo:
    """The deployment as the router sees it (what limits and the breaker take)."""
    return next(d for d in load_table().deployments.values() if d.upstream_model == upstream_model)


def records(**filters: Any) -> list[QueryRecord]:
    flush_history()
    return list(QueryRecord.objects.filter(**filters).order_by("created_at", "id"))


def attempts(record: QueryRecord) -> list[tuple[str, int, str]]:
    """(upstream model, retry, error type) per attempt, in the order they were made."""
    return [
        (a.deployment.upstream_model, a.retry, a.error_type)
        for a in Attempt.objects.filter(query=record).select_related("deployment").order_by("start_ms")
    ]


def minute_start() -> float:
    """One second into the current minute: a moment whose minute window lasts the whole test."""
    return time.time() // 60 * 60 + 1.0


def fresh_minute(margin: float = 4.0) -> None:
    """Wait for the next minute window if this one is about to end. Only for servers in other
    processes (tests/scale), whose clocks a test cannot stop; in this process use stopped_clock."""
    _, left = minute_window()
    if left < margin:
        time.sleep(left + 0.05)


@pytest.fixture
def stopped_clock():
    """The router's clock (breaker deadlines, rate-limit minutes, retry backoff) stopped one second
    into a minute: it moves only when the test advances it, and backoff sleeps are noted in
    `clock.slept` rather than waited out."""
    clock.stop(at=minute_start())
    yield clock
    clock.start()
