"""What an upstream says never leaks a secret, and never passes for the client's own mistake."""

from __future__ import annotations

import pytest

from routerapp.models import Attempt, QueryRecord
from routerapp.providers.redact import redact
from routerapp.routing import breaker
from tests.factories import create_key, create_model, create_provider
from tests.helpers import ask, deployment, records

SECRET = "sk-live-7Hq2x9Zr4Kd8Mw3Np6Tb"
HEADER_SECRET = "hdr-9f8e7d6c5b4a"


@pytest.fixture
def keyed(upstream, live_url):
    provider = create_provider(
        name="keyed", base_url=upstream.base_url, extra_headers={"x-api-key": HEADER_SECRET}
    )
    provider.set_api_key(SECRET)
    provider.save()
    return provider


def no_secret_in_history() -> None:
    for record in records():
        assert SECRET not in record.error_message and HEADER_SECRET not in record.error_message
    for attempt in Attempt.objects.all():
        assert SECRET not in attempt.error_message and HEADER_SECRET not in attempt.error_message


def test_an_upstream_401_echoing_the_key_is_a_502_naming_the_deployment(keyed, upstream, live_url):
    create_model("m", [(keyed, "err=401;echo")])
    response = ask(live_url, create_key(), "m")
    assert upstream.headers["authorization"] == f"Bearer {SECRET}"  # the fake did receive it
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["code"] == "upstream_auth_failed" and error["type"] == "api_error"
    assert "keyed/err=401;echo" in error["message"]
    assert SECRET not in response.text and HEADER_SECRET not in response.text
    no_secret_in_history()
    assert records()[0].error_type == "UpstreamAuthError"


def test_an_upstream_auth_failure_falls_back_to_a_healthy_deployment(keyed, upstream, live_url):
    create_model("m", [(keyed, "err=401;echo"), (keyed, "ok")], strategy="simple-shuffle")
    key = create_key()
    for _ in range(6):
        assert ask(live_url, key, "m").status_code == 200
    no_secret_in_history()


def test_key_shaped_text_in_any_upstream_error_is_masked(keyed, upstream, live_url):
    create_model("m", [(keyed, "err=500;echo")], num_retries=0)
    response = ask(live_url, create_key(), "m")
    assert response.status_code == 502
    message = response.json()["error"]["message"]
    assert "Incorrect API key provided: Bearer ***" in message
    assert SECRET not in message and HEADER_SECRET not in message
    no_secret_in_history()


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abc.def-ghi_jkl",
        '{"x-api-key": "zzz-secret-value"}',
        "key sk-ant-api03-abcdefghijklmnop",
        "api_key=hunter2hunter2&model=x",
        "token 0123456789abcdef0123456789abcdef",
        "signed eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
        "aws AKIAIOSFODNN7EXAMPLE",
    ],
)
def test_redact_masks_key_shaped_values(text):
    masked = redact(text)
    assert "***" in masked
    for secret in ("abc.def", "zzz-secret", "abcdefghijklmnop", "hunter2", "0123456789abcdef", "eyJ", "AKIA"):
        assert secret not in masked


def test_redact_keeps_ordinary_error_text():
    for text in (
        "The model gpt-4o-2024-08-06 does not exist",
        "max_tokens is too large: 100000. This model supports at most 4096 completion tokens",
        "too many token requests; basic usage exceeded",
    ):
        assert redact(text) == text


# Client-caused failures never cool a deployment down for everyone else.


def test_a_tiny_client_timeout_never_cools_a_deployment_down(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model(
        "m", [(provider, "ok;delay=50"), (provider, "ok;delay=50;n=2")], allowed_fails=1, num_retries=2
    )
    attacker, tenant = create_key(name="attacker"), create_key(name="tenant")
    # Below the validator's floor (1 ms) the request itself is refused, before any upstream call.
    response = ask(live_url, attacker, "m", timeout=1e-6)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "timeout"
    for timeout in (0.001, 0.001, 0.001, 0.01, 0.01, 0.01):  # shorter than the deployment's own
        response = ask(live_url, attacker, "m", timeout=timeout)
        assert response.status_code == 504, response.text
        assert response.json()["error"]["code"] == "timeout"
    statuses = [ask(live_url, tenant, "m").status_code for _ in range(24)]
    assert statuses == [200] * 24
    for name in ("ok;delay=50", "ok;delay=50;n=2"):
        assert breaker.cooldown_remaining(deployment(name).id) == 0
    assert {r.error_type for r in records(status="error")} == {"DeadlineExceededError", "InvalidRequestError"}


def test_a_request_too_deeply_nested_to_forward_is_a_400_and_cools_nothing(upstream, live_url):
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model("m", [(provider, "ok"), (provider, "ok;n=2")], allowed_fails=1)
    key = create_key()
    nested: dict = {}
    for _ in range(300):
        nested = {"a": nested}
    response = ask(live_url, key, "m", metadata_extra=nested)
    assert response.status_code == 400, response.text
    assert [ask(live_url, key, "m").status_code for _ in range(10)] == [200] * 10
    assert all(breaker.cooldown_remaining(deployment(n).id) == 0 for n in ("ok", "ok;n=2"))
    assert QueryRecord.objects.filter(http_status=400).count() == 1
