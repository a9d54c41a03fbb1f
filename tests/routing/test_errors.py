"""The error hierarchy: each type carries its retry decision, its HTTP status and OpenAI's error shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from routerapp import errors


@pytest.mark.parametrize(
    ("cls", "status", "type_", "retryable"),
    [
        (errors.AuthenticationError, 401, "authentication_error", False),
        (errors.RateLimitError, 429, "rate_limit_error", True),
        (errors.UpstreamTimeoutError, 504, "timeout_error", True),
        (errors.ProviderUnavailableError, 502, "api_error", True),
        (errors.InvalidRequestError, 400, "invalid_request_error", False),
        (errors.ContextWindowExceededError, 400, "invalid_request_error", False),
        (errors.ContentPolicyError, 400, "invalid_request_error", False),
        (errors.BudgetExceededError, 429, "budget_exceeded", False),
    ],
)
def test_each_of_the_eight_types_carries_its_decision(cls, status, type_, retryable):
    error = cls("something happened")
    assert (error.status, error.type, error.retryable) == (status, type_, retryable)
    assert error.to_dict() == {
        "error": {"message": "something happened", "type": type_, "param": None, "code": cls.code}
    }
    assert errors.ERROR_TYPES[cls.__name__] is cls


@pytest.mark.parametrize(
    ("status", "message", "expected", "client_status"),
    [
        (401, "bad key", errors.UpstreamAuthError, 502),
        (403, "forbidden", errors.UpstreamAuthError, 502),
        (429, "slow down", errors.RateLimitError, 429),
        (408, "timeout", errors.UpstreamTimeoutError, 504),
        (504, "gateway timeout", errors.UpstreamTimeoutError, 504),
        (500, "boom", errors.ProviderUnavailableError, 502),
        (502, "bad gateway", errors.ProviderUnavailableError, 502),
        (503, "overloaded", errors.ProviderUnavailableError, 503),
        (529, "overloaded", errors.ProviderUnavailableError, 503),
        (400, "This model's maximum context length is 8192 tokens", errors.ContextWindowExceededError, 400),
        (400, "prompt is too long: 210000 tokens > 200000 maximum", errors.ContextWindowExceededError, 400),
        (413, "too large", errors.ContextWindowExceededError, 400),
        (400, "rejected by our content policy", errors.ContentPolicyError, 400),
        (400, "unknown parameter 'foo'", errors.InvalidRequestError, 400),
        (404, "model not found", errors.InvalidRequestError, 404),
    ],
)
def test_upstream_statuses_map_onto_the_hierarchy(status, message, expected, client_status):
    error = errors.classify_http_error(status, message)
    assert type(error) is expected
    assert error.status == client_status


def test_retry_after_travels_with_the_error_and_reaches_the_client_as_whole_seconds():
    error = errors.classify_http_error(429, "slow down", retry_after=errors.parse_retry_after("2.4"))
    assert error.retry_after == 2.4
    assert error.headers() == {"Retry-After": "2"}
    assert errors.RateLimitError("x", retry_after=0.2).headers() == {"Retry-After": "1"}
    assert errors.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # a date in the past
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 58 < errors.parse_retry_after(in_a_minute) <= 60
    assert errors.parse_retry_after("soon") is None
