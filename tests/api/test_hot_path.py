"""The /v1 hot path (routerapp/api/hotpath.py) answers exactly as the ninja views do.

POST /v1/chat/completions, /v1/embeddings and /v1/messages reach the live server's hot path, which
leaves Django's request handling out; ninja's test client calls the views, which call the same core
functions through Django's request objects. The two must agree on everything a client or the
history sees: status, error shape, headers, and the record left behind.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from django.core import signals
from ninja.testing import TestAsyncClient

from routerapp.api import anthropic_api, openai_api
from routerapp.models import QueryRecord
from routerapp.providers.http import closing_clients
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history

CHAT = {"model": "gpt-test", "messages": [{"role": "user", "content": "same either way"}]}
# Headers every answer has whichever way it went; the rest must be the same set of names.
TRANSPORT = {"date", "server", "content-length", "transfer-encoding"}


@pytest.fixture
def key(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    return create_key()


def through_hot_path(live_url: str, key: str, path: str, **kwargs) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    return httpx.post(f"{live_url}/v1{path}", headers=headers, **kwargs)


def through_ninja(api, key: str, path: str, **kwargs):
    """The view through ninja's test client: Django's HttpRequest and HttpResponse, no gate."""
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    return asyncio.run(closing_clients(TestAsyncClient(api).post(path, headers=headers, **kwargs)))


def record(request_id: str | None = None) -> tuple:
    """What the history says of the request with this id, or of the latest one (ninja's test
    client has no gate, so its error answers carry no x-request-id to look the record up by)."""
    flush_history()
    rows = QueryRecord.objects.order_by("-created_at")
    row = rows.get(request_id=request_id) if request_id else rows.first()
    return (row.model, row.status, row.http_status, row.error_type, row.endpoint, row.api_key_id)


def test_a_chat_completion_is_answered_and_recorded_alike_both_ways(key, live_url):
    hot = through_hot_path(live_url, key, "/chat/completions", json=CHAT)
    ninja = through_ninja(openai_api, key, "/chat/completions", json=CHAT)
    assert hot.status_code == ninja.status_code == 200
    assert hot.json()["choices"] == ninja.json()["choices"]
    assert hot.headers["content-type"] == ninja["content-type"] == "application/json"
    assert hot.headers["x-content-type-options"] == "nosniff"
    names = {n.lower() for n in ninja.headers} | {"x-content-type-options"}  # nosniff: the gate's
    assert set(hot.headers) - TRANSPORT == names - TRANSPORT
    assert hot.headers["x-router-deployment"] == ninja["x-router-deployment"] == "up/ok"
    assert record(hot.headers["x-request-id"]) == record(ninja["x-request-id"])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ({"content": b"{}", "headers": {"content-type": "text/plain"}}, 415),
        ({"json": {**CHAT, "model": "nope"}}, 404),
        ({"json": {**CHAT, "temperature": "hot"}}, 400),
    ],
    ids=["broken-json", "wrong-content-type", "unknown-model", "bad-param"],
)
def test_a_refused_body_gets_the_same_error_and_record_both_ways(key, live_url, body, status):
    hot = through_hot_path(live_url, key, "/chat/completions", **dict(body))
    hot_record = record(hot.headers["x-request-id"])
    ninja_kwargs = dict(body)
    if "content" in ninja_kwargs:
        # ninja's client takes a raw body as `data` only for forms; the request's body is set instead.
        ninja_kwargs["body"] = ninja_kwargs.pop("content")
        ninja_kwargs["content_type"] = ninja_kwargs["headers"]["content-type"]
    ninja = through_ninja(openai_api, key, "/chat/completions", **ninja_kwargs)
    assert hot.status_code == ninja.status_code == status
    assert hot.json() == ninja.json()
    assert "error" in hot.json()
    assert hot_record == record()
    assert QueryRecord.objects.count() == 2


def test_anthropic_errors_keep_their_shape_on_the_hot_path(key, live_url):
    body = {"model": "nope", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    hot = through_hot_path(live_url, key, "/messages", json=body)
    hot_record = record(hot.headers["x-request-id"])
    ninja = through_ninja(anthropic_api, key, "/messages", json=body)
    assert hot.status_code == ninja.status_code == 404
    assert hot.json() == ninja.json()
    assert hot.json()["type"] == "error"  # Anthropic's envelope, not OpenAI's
    assert hot_record == record()


def test_an_embedding_is_answered_alike_both_ways(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("embed", [(provider, "ok")])
    key = create_key()
    body = {"model": "embed", "input": ["one", "two"]}
    hot = through_hot_path(live_url, key, "/embeddings", json=body)
    ninja = through_ninja(openai_api, key, "/embeddings", json=body)
    assert hot.status_code == ninja.status_code == 200
    assert hot.json() == ninja.json()
    assert record(hot.headers["x-request-id"]) == record(ninja["x-request-id"])


def test_other_methods_on_a_hot_path_still_go_through_django(key, live_url):
    response = httpx.get(f"{live_url}/v1/chat/completions", headers={"authorization": f"Bearer {key}"})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["x-request-id"]


def test_no_request_signal_receiver_is_skipped_that_the_hot_path_needs():
    """The hot path sends neither request_started nor request_finished. Django's own receivers do
    nothing for it (no database on the request's thread, no per-request cache connection); a
    receiver added later, ours or a library's, fails this test until the hot path is taught it."""
    known = {
        "django.db.reset_queries",  # DEBUG's query log, of the request thread's connection
        "django.db.close_old_connections",  # the request thread's connection: /v1 opens none
        "django.core.cache.close_caches",  # a no-op for the local-memory and Redis backends
        "django.core.handlers.base.reset_urlconf",  # undoes a request.urlconf; /v1 sets none
    }
    for signal in (signals.request_started, signals.request_finished):
        receivers = {f"{r.__module__}.{r.__qualname__}" for r in live_receivers(signal)}
        assert receivers <= known, receivers - known


def live_receivers(signal) -> list:
    sync, async_ = signal._live_receivers(sender=None)
    return [*sync, *async_]


def test_request_ids_stay_unique_when_someone_seeds_the_random_module():
    # A library or a test framework (hypothesis does) may call random.seed(): request ids come from
    # a generator of their own, or two requests would share one and the second record be refused.
    import os
    import random

    from routerapp.api.gate import new_request_id

    random.seed(0)
    first = {new_request_id({}) for _ in range(3)}
    random.seed(0)
    second = {new_request_id({}) for _ in range(3)}
    assert len(first | second) == 6
    # A forked worker does not repeat its parent's ids.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, new_request_id({}).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 64).decode() != new_request_id({})
