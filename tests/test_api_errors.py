"""Bad input gets a clear OpenAI-shaped error with the right status, never a 500 or a traceback."""

from __future__ import annotations

import httpx
import openai
import pytest
from django.conf import settings

from routerapp.models import QueryRecord
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history


@pytest.fixture
def key(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    create_model("secret-model", [(provider, "ok")])
    return create_key(allowed_models=["gpt-test"])


def post(live_url: str, key: str | None, body: bytes | dict, headers: dict | None = None) -> httpx.Response:
    h = {"content-type": "application/json", **(headers or {})}
    if key:
        h["authorization"] = f"Bearer {key}"
    kwargs = {"json": body} if isinstance(body, dict) else {"content": body}
    return httpx.post(f"{live_url}/v1/chat/completions", headers=h, **kwargs)


def assert_openai_error(response: httpx.Response, status: int, type_: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert "Traceback" not in response.text
    if type_:
        assert error["type"] == type_
    return error


GOOD = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"", None),
        (b"[1, 2]", None),
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "gpt-test"}, "messages"),
        ({"model": "gpt-test", "messages": []}, "messages"),
        ({"model": "gpt-test", "messages": "hi"}, "messages"),
        ({"model": "gpt-test", "messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"model": "gpt-test", "messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": "gpt-test", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({**GOOD, "temperature": "hot"}, "temperature"),
        ({**GOOD, "temperature": 9}, "temperature"),
        ({**GOOD, "max_tokens": -1}, "max_tokens"),
        ({**GOOD, "stream": "yes"}, "stream"),
        ({"model": 42, "messages": [{"role": "user", "content": "hi"}]}, "model"),
    ],
)
def test_malformed_requests_get_400_with_a_clear_message(key, live_url, body, param):
    error = assert_openai_error(post(live_url, key, body), 400, "invalid_request_error")
    assert error["param"] == param
    assert error["message"]


def test_missing_key_is_401(key, live_url):
    error = assert_openai_error(post(live_url, None, GOOD), 401, "authentication_error")
    assert "API key" in error["message"]


def test_wrong_key_is_401_and_not_echoed(key, live_url):
    response = post(live_url, "sk-rt-wrong-key-1234567890", GOOD)
    assert_openai_error(response, 401, "authentication_error")
    assert "wrong-key" not in response.text


def test_model_not_allowed_for_key_is_403(key, live_url):
    body = {**GOOD, "model": "secret-model"}
    assert_openai_error(post(live_url, key, body), 403, "permission_error")


def test_unknown_model_is_404(key, client_for):
    with pytest.raises(openai.NotFoundError) as info:
        client_for(key).chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert info.value.code == "model_not_found"


def test_body_over_the_limit_is_413(key, live_url):
    limit = settings.ROUTER["MAX_BODY_BYTES"]
    body = {**GOOD, "messages": [{"role": "user", "content": "x" * (limit + 10)}]}
    assert_openai_error(post(live_url, key, body), 413)


def test_rejected_bodies_still_leave_a_history_record(key, live_url):
    post(live_url, key, b"{broken")
    flush_history()
    record = QueryRecord.objects.get()
    assert (record.status, record.http_status, record.error_type) == ("error", 400, "InvalidRequestError")
    assert record.api_key is not None


def test_unknown_v1_path_is_an_openai_404(key, live_url):
    response = httpx.get(f"{live_url}/v1/embeddingz", headers={"authorization": f"Bearer {key}"})
    assert_openai_error(response, 404)


def test_wrong_method_is_not_a_500(key, live_url):
    response = httpx.get(f"{live_url}/v1/chat/completions", headers={"authorization": f"Bearer {key}"})
    assert response.status_code in (404, 405)
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/keys", 401),  # no credentials
        ("GET", "/api/no-such-endpoint", 404),
        ("POST", "/api/keys", 401),  # no credentials: not a CSRF 403 (tests/security/test_access.py)
        ("GET", "/api/health", 401),
    ],
)
def test_api_errors_carry_a_request_id_as_v1_errors_do(key, live_url, method, path, status):
    response = httpx.request(method, f"{live_url}{path}", json={})
    assert_openai_error(response, status)
    assert len(response.headers["x-request-id"]) == 32


def test_api_errors_with_an_admin_key_carry_a_request_id(key, live_url):
    admin = create_key(name="ops", is_admin=True)
    response = httpx.post(
        f"{live_url}/api/keys", headers={"authorization": f"Bearer {admin}"}, json={"name": ""}
    )
    assert 400 <= response.status_code < 500
    assert_openai_error(response, response.status_code)
    assert response.headers["x-request-id"]
