"""/health/liveness and /health/readiness through the real server, without any key."""

from __future__ import annotations

import httpx
from django.core.cache import caches

from routerapp import readiness


def test_liveness_answers_without_a_key(live_url):
    response = httpx.get(f"{live_url}/health/liveness")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_is_ok_when_database_cache_and_config_answer(live_url):
    response = httpx.get(f"{live_url}/health/readiness")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


def test_readiness_is_503_with_the_reason_when_the_cache_loses_writes(live_url, monkeypatch):
    # A cache that accepts writes and returns nothing: what a full or misconfigured Redis does.
    async def forgetful_get(self, key, default=None, version=None):
        return default

    # On the backend class: the server thread has its own instance of the same backend.
    monkeypatch.setattr(type(caches["default"]), "aget", forgetful_get)
    response = httpx.get(f"{live_url}/health/readiness")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reasons": {"cache": "a value written was not read back"},
    }


def test_readiness_is_503_when_the_database_is_unreachable(live_url, monkeypatch):
    def unreachable():
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(readiness, "_database_answers", unreachable)
    response = httpx.get(f"{live_url}/health/readiness")
    assert response.status_code == 503
    assert response.json()["reasons"] == {"database": "unreachable: ConnectionRefusedError"}


def test_probes_answer_head_as_load_balancers_send_it(live_url):
    assert httpx.head(f"{live_url}/health/liveness").status_code == 200
    assert httpx.head(f"{live_url}/health/readiness").status_code == 200
