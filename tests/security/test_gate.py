"""The /v1 gate: credentials and the declared size are checked before the body is read, and every
answer (errors included) carries the x-request-id its history record is stored under."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings

from routerapp.models import QueryRecord
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history

GOOD = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def key(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    return create_key()


def raw_exchange(live_url: str, head: str, body_start: bytes = b"") -> bytes:
    """Send request headers and the first bytes of a body, then read what the server answers.

    The server must answer without the rest of the body: if it waited for it, the read times out
    and the test fails.
    """
    parts = urlsplit(live_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n" + body_start)
        received = b""
        while b"\r\n\r\n" not in received or not received.split(b"\r\n\r\n", 1)[1].endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_a_huge_body_without_credentials_is_refused_with_401_before_it_is_read(key, live_url):
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {300 * 1024 * 1024}\r\n"
    )
    response = raw_exchange(live_url, head, b'{"model": "gpt-test", "messages": [')
    assert status_of(response) == 401
    assert b"x-request-id: " in response.lower()
    assert b'"authentication_error"' in response


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(key, live_url):
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: {10**12}\r\n"
    )
    response = raw_exchange(live_url, head, b'{"model": "gpt-test"')
    assert status_of(response) == 413
    assert b'"request_too_large"' in response
    flush_history()
    record = QueryRecord.objects.get()
    assert (record.http_status, record.error_type) == (413, "RequestTooLargeError")
    assert record.request_id.encode() in response


def test_a_chunked_body_is_cut_off_at_the_limit(key, live_url):
    limit = settings.ROUTER["MAX_BODY_BYTES"]

    def chunks():
        yield b'{"model": "gpt-test", "messages": [{"role": "user", "content": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    response = httpx.post(
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
        content=chunks(),
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/v1/chat/completions", GOOD, 200),
        ("POST", "/v1/chat/completions", {"model": "gpt-test"}, 400),
        ("POST", "/v1/chat/completions", {**GOOD, "model": "nope"}, 404),
        ("GET", "/v1/chat/completions", None, 405),
        ("GET", "/v1/models", None, 200),
        ("GET", "/v1/models/nope", None, 404),
        ("GET", "/v1/embeddingz", None, 404),
    ],
)
def test_every_v1_answer_is_json_with_an_x_request_id(key, live_url, method, path, body, status):
    response = httpx.request(
        method, f"{live_url}{path}", headers={"authorization": f"Bearer {key}"}, json=body
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.headers["x-request-id"]) >= 16
    if status >= 400:
        assert set(response.json()["error"]) >= {"message", "type", "param", "code"}


def test_the_method_not_allowed_answer_is_openai_shaped(key, live_url):
    response = httpx.get(f"{live_url}/v1/chat/completions", headers={"authorization": f"Bearer {key}"})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response.headers["allow"]


def test_the_history_record_has_the_request_id_of_the_header(key, live_url):
    ok = httpx.post(f"{live_url}/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, json=GOOD)
    bad = httpx.post(
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={**GOOD, "temperature": "hot"},
    )
    missing = httpx.post(
        f"{live_url}/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={**GOOD, "model": "x"},
    )
    flush_history()
    for response in (ok, bad, missing):
        record = QueryRecord.objects.get(request_id=response.headers["x-request-id"])
        assert record.http_status == response.status_code


def test_unauthenticated_answers_carry_a_request_id_too(key, live_url):
    response = httpx.get(f"{live_url}/v1/models")
    assert response.status_code == 401
    assert response.headers["x-request-id"]
    assert response.json()["error"]["type"] == "authentication_error"
