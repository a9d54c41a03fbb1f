"""The router's error hierarchy.

Every failure the router can report is one of these. Each carries the decision the rest of the code
needs: whether a retry on the same deployment can help (`retryable`), which HTTP status the client
gets, and how the body looks in OpenAI's error shape. Code branches on these attributes, never on
message text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar


class RouterError(Exception):
    status: int = 500
    type: str = "api_error"
    code: str | None = None
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        upstream_fault: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if retryable is not None:
            self.retryable = retryable
        self.param = param
        # False when the failure is not the deployment's doing (a deadline the client chose, a bug
        # of ours): the request may still fall back, but the breaker must not count it.
        self.upstream_fault = upstream_fault
        # Seconds the upstream (or our limiter) asked us to wait; honoured by retries and cooldowns.
        self.retry_after = retry_after
        # Set by routing.route() for the x-router-overhead-ms header of the error response.
        self.overhead_ms: float | None = None

    @classmethod
    def unexpected(cls) -> RouterError:
        """What a client is told of a bug of ours (the traceback goes to the log, not to it)."""
        return cls("The router failed to process the request; it has been logged.")

    @property
    def error_type(self) -> str:
        """The class name; what QueryRecord.error_type and Attempt.error_type store."""
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(1, round(self.retry_after)))
        if self.overhead_ms is not None:
            headers["x-router-overhead-ms"] = f"{self.overhead_ms:.2f}"
        return headers


class AuthenticationError(RouterError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class RateLimitError(RouterError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"
    retryable = True


class KeyRateLimitError(RateLimitError):
    """The client's key went past its own rpm or tpm limit: the client's doing, not an upstream's.

    Answered exactly like any 429 (same type and code); stored under its own name so the dashboard
    counts it with the client's mistakes, apart from upstreams' rate limits."""


class UpstreamTimeoutError(RouterError):
    status = 504
    type = "timeout_error"
    code = "timeout"
    retryable = True


class ProviderUnavailableError(RouterError):
    """5xx from upstream, connection refused or reset, malformed upstream responses."""

    status = 502
    type = "api_error"
    code = "provider_unavailable"
    retryable = True


class UpstreamAuthError(ProviderUnavailableError):
    """The upstream refused the router's own credentials (its 401/403): a deployment
    misconfigured, not the client's key. The client gets a 502 naming the deployment; another
    deployment may serve the request, a retry of the same one cannot."""

    code = "upstream_auth_failed"
    retryable = False


class DeadlineExceededError(UpstreamTimeoutError):
    """The request's one deadline (the client's `timeout`, or ROUTER_REQUEST_DEADLINE_S) passed,
    retries and fallbacks included. Not a deployment's fault: the breaker never counts it."""

    code = "timeout"
    retryable = False

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, upstream_fault=False, **kwargs)


class InvalidRequestError(RouterError):
    status = 400
    type = "invalid_request_error"
    code: str | None = None


class ContextWindowExceededError(InvalidRequestError):
    code = "context_length_exceeded"


class ContentPolicyError(InvalidRequestError):
    code = "content_policy_violation"


class BudgetExceededError(RouterError):
    status = 429
    type = "budget_exceeded"
    code = "budget_exceeded"


# Client-side refinements of the eight: they keep the parent's retry decision and differ only in status.
class PermissionDeniedError(InvalidRequestError):
    status = 403
    type = "permission_error"
    code = "model_not_allowed"


class ModelNotFoundError(InvalidRequestError):
    status = 404
    code = "model_not_found"

    @classmethod
    def named(cls, name: object, *, param: str | None = "model", what: str = "model") -> ModelNotFoundError:
        """OpenAI's wording, which says no more to a key not allowed the model than to a typo."""
        return cls(f"The {what} '{name}' does not exist or you do not have access to it.", param=param)


class UnsupportedParamError(InvalidRequestError):
    """A field the chosen deployment cannot honour (routerapp.providers.fields)."""

    code = "unsupported_parameter"


class RequestTooLargeError(InvalidRequestError):
    status = 413
    code = "request_too_large"


class _EnsembleOutcomes:
    """An ensemble's failure lists each member's outcome in the error body (`error.members`).

    Never retryable: the members already had their own retries and fallbacks."""

    members: list[dict[str, Any]]
    retryable = False
    ensemble_status: ClassVar[int]

    def __init__(self, message: str, *, members: list[dict[str, Any]]) -> None:
        super().__init__(message, status=self.ensemble_status)  # type: ignore[call-arg]
        self.members = members

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()  # type: ignore[misc]
        body["error"]["members"] = self.members
        return body


class EnsembleMembersFailedError(_EnsembleOutcomes, ProviderUnavailableError):
    """Too few members gave a usable answer (they failed or were dropped): 502."""

    code = "ensemble_quorum_not_met"
    ensemble_status = 502


class EnsembleMembersTimedOutError(_EnsembleOutcomes, UpstreamTimeoutError):
    """Too few usable answers because members ran past member_timeout_s: 504."""

    code = "ensemble_members_timed_out"
    ensemble_status = 504


ERROR_TYPES: dict[str, type[RouterError]] = {
    cls.__name__: cls
    for cls in (
        AuthenticationError,
        RateLimitError,
        KeyRateLimitError,
        UpstreamTimeoutError,
        ProviderUnavailableError,
        UpstreamAuthError,
        DeadlineExceededError,
        InvalidRequestError,
        ContextWindowExceededError,
        ContentPolicyError,
        BudgetExceededError,
        PermissionDeniedError,
        ModelNotFoundError,
        RequestTooLargeError,
    )
}


def classify_http_error(
    status: int, message: str, *, retry_after: float | None = None, source: str = ""
) -> RouterError:
    """Map an upstream HTTP status plus its error text onto our hierarchy; `source` (the provider's
    name) prefixes the message.

    The text is only consulted to tell context-window and content-policy rejections apart from other
    400s, because no provider gives those a status of their own.
    """
    prefix = f"{source}: " if source else ""
    if status in (401, 403):
        # Never the upstream's text: an auth failure is where an upstream echoes the credential.
        return UpstreamAuthError(f"{prefix}the upstream rejected the router's credentials (HTTP {status})")
    lowered = message.lower()
    message = prefix + message
    if status == 429:
        return RateLimitError(message, retry_after=retry_after)
    if status == 408:
        return UpstreamTimeoutError(message)
    if status == 413 or _mentions_context_window(lowered):
        return ContextWindowExceededError(message)
    if _mentions_content_policy(lowered):
        return ContentPolicyError(message)
    if status == 404:
        return InvalidRequestError(message, status=404, code="model_not_found")
    if 400 <= status < 500:
        return InvalidRequestError(message, status=400)
    if status == 504:
        return UpstreamTimeoutError(message)
    if status == 529:  # Anthropic "overloaded"
        return ProviderUnavailableError(message, status=503, retry_after=retry_after)
    return ProviderUnavailableError(message, status=503 if status == 503 else 502, retry_after=retry_after)


def _mentions_context_window(text: str) -> bool:
    return any(
        marker in text
        for marker in (
            "context length",
            "context_length",
            "context window",
            "maximum context",
            "prompt is too long",
            "too many tokens",
            "input is too long",
        )
    )


def _mentions_content_policy(text: str) -> bool:
    return any(
        marker in text
        for marker in ("content policy", "content_policy", "content management policy", "safety system")
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds, or an HTTP date (RFC 9110 allows both)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def is_client_error(error_type: str) -> bool:
    """Whether a stored error_type is the client's mistake (a bad request, a wrong key, a model it
    may not use, its budget spent, its own rate limit passed) rather than an upstream's or the
    router's failure: the dashboard shows the two apart. A plain RateLimitError is not: that is every
    deployment at its limit, or an upstream's 429."""
    cls = ERROR_TYPES.get(error_type)
    return cls is not None and issubclass(
        cls, (InvalidRequestError, AuthenticationError, BudgetExceededError, KeyRateLimitError)
    )
