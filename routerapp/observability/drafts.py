"""What one request leaves behind, collected while it runs: pure data, no database.

Requests build a `RecordDraft` (with its `AttemptDraft`s and trace) and hand it to the history
writer (routerapp.observability.writer), which persists it in batches off the request path.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from routerapp.conf import router_settings
from routerapp.observability.tracing import Trace, current_trace
from routerapp.providers.base import Usage


@dataclass(slots=True)
class AttemptDraft:
    deployment_id: int | None
    retry: int
    status: str
    start_ms: float
    latency_ms: float
    http_status: int | None = None
    error_type: str = ""
    error_message: str = ""
    member: str = ""  # ensembles: which member made the call


@dataclass(slots=True)
class RecordDraft:
    """Everything one request leaves behind, collected while it runs."""

    request_id: str
    model: str
    api_key_id: int | None
    stream: bool = False
    end_user: str = ""
    tags: tuple[str, ...] = ()
    endpoint: str = "/v1/chat/completions"
    status: str = "ok"
    http_status: int = 200
    error_type: str = ""
    error_message: str = ""
    deployment_id: int | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    overhead_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    cost_parts: dict[str, float] = field(default_factory=dict)
    # The start (epoch seconds) of the key's budget period the cost was counted in, if it has one.
    budget_period_start: float | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)
    fallback_used: bool = False
    task_type: str = ""
    task_confidence: float | None = None
    task_cluster: int | None = None
    optimizations: dict[str, Any] = field(default_factory=dict)
    cache_hit: bool = False
    request_body: str = ""
    request_params: dict[str, Any] = field(default_factory=dict)
    response_body: str = ""
    # Learned routing (routerapp.optimizer.learning): the answer's score.
    quality_score: float | None = None
    quality_problems: tuple[str, ...] = ()
    judge_pending: bool = False
    attempts: list[AttemptDraft] = field(default_factory=list)
    # Request fields left out because the deployment refuses them and drop_params was on.
    dropped_params: tuple[str, ...] = ()
    # The answering upstream's x-ratelimit-* headers, returned to the client (not stored).
    upstream_headers: dict[str, str] = field(default_factory=dict)
    ensemble: dict[str, Any] | None = None  # ensembles: see QueryRecord.ensemble
    # timezone.now() without its read of settings.USE_TZ (on in routerapp/settings.py), per request.
    created_at: datetime = field(default_factory=functools.partial(datetime.now, UTC))
    # The request's spans (observability.tracing), stored as Span rows in the same batch.
    trace: Trace | None = field(default_factory=current_trace)

    def spent(self, usage: Usage, parts: dict[str, float]) -> None:
        """Record the tokens an answer used and what they cost, part by part (pricing.PARTS)."""
        self.prompt_tokens, self.completion_tokens = usage.prompt_tokens, usage.completion_tokens
        self.cached_tokens, self.cache_write_tokens = usage.cached_tokens, usage.cache_write_tokens
        self.reasoning_tokens = usage.reasoning_tokens
        self.cost_parts = parts
        self.cost_usd = sum(parts.values())

    def fail(self, error) -> None:
        self.status = "error"
        self.http_status = error.status
        self.error_type = error.error_type
        self.error_message = error.message[:2000]


def body_for_storage(text: str) -> str:
    mode = router_settings()["STORE_BODIES"]
    if mode == "off":
        return ""
    if mode == "truncated":
        limit = router_settings()["BODY_TRUNCATE_CHARS"]
        return text if len(text) <= limit else text[:limit] + "…"
    return text


def params_for_storage(params: dict[str, Any]) -> dict[str, Any]:
    """The request's fields beside its messages (tools, sampling, response_format), kept as the
    bodies are: not at all when ROUTER["STORE_BODIES"] is off, the tools' text cut when truncated."""
    mode = router_settings()["STORE_BODIES"]
    if mode == "off":
        return {}
    if mode == "truncated":
        limit = router_settings()["BODY_TRUNCATE_CHARS"]
        return {k: (v if len(repr(v)) <= limit else repr(v)[:limit] + "…") for k, v in params.items()}
    return dict(params)
