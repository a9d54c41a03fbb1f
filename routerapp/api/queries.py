"""/api/queries: the request history, filtered like the History page, one request with its attempts,
and feedback on a request's answer.

`POST /api/queries/{request_id}/feedback` takes `{"score": 0..1, "comment": "..."}` from the key that
made the request (any client key, Authorization: Bearer sk-rt-…) or a staff session, and hands it to
the one core function, routerapp.optimizer.feedback.record_feedback. The other endpoints need an
admin key or a staff session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from routerapp import errors, stats
from routerapp.api.auth import ClientKey, StaffSession, admin_auth
from routerapp.models import ApiKey, QueryRecord
from routerapp.optimizer.feedback import record_feedback

router = Router(tags=["history"], auth=admin_auth)

MAX_LIMIT = 500


class QueryFilter(Schema):
    model: str = ""
    status: Literal["", "ok", "error", "cancelled"] = ""
    key: str = Field("", description="Key name.")
    deployment: int | None = Field(None, description="Deployment id.")
    error_type: str = ""
    request_id: str = Field("", description="A request id or its beginning.")
    window: Literal["", "5m", "1h", "24h", "7d"] = ""
    since: datetime | None = None
    slower_than_ms: float | None = Field(None, ge=0)
    before: datetime | None = Field(
        None, description="Only requests older than this: `next_before` of the previous page."
    )
    limit: int = Field(50, ge=1, le=MAX_LIMIT)


class QueryOut(Schema):
    request_id: str
    created_at: datetime
    model: str
    deployment: str | None
    key: str | None
    status: str
    http_status: int
    error_type: str
    error_message: str
    stream: bool
    latency_ms: float
    ttft_ms: float | None
    overhead_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    attempts_count: int
    fallback_used: bool


class QueryPage(Schema):
    data: list[QueryOut]
    next_before: datetime | None


class AttemptOut(Schema):
    deployment: str | None
    retry: int
    status: str
    http_status: int | None
    error_type: str
    error_message: str
    start_ms: float
    latency_ms: float


class QueryDetailOut(QueryOut):
    request_body: str
    response_body: str
    skipped: list
    attempts: list[AttemptOut]


def _out(r: QueryRecord) -> dict:
    return {
        "request_id": r.request_id,
        "created_at": r.created_at,
        "model": r.model,
        "deployment": r.deployment.label if r.deployment else None,
        "key": r.api_key.name if r.api_key else None,
        "status": r.status,
        "http_status": r.http_status,
        "error_type": r.error_type,
        "error_message": r.error_message,
        "stream": r.stream,
        "latency_ms": r.latency_ms,
        "ttft_ms": r.ttft_ms,
        "overhead_ms": r.overhead_ms,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "cost_usd": r.cost_usd,
        "attempts_count": r.attempts_count,
        "fallback_used": r.fallback_used,
    }


@router.get("/queries", response=QueryPage)
def list_queries(request: HttpRequest, filters: Query[QueryFilter]):
    """Newest first; page with `before=<next_before>`."""
    key_id = None
    if filters.key:
        key_id = ApiKey.objects.filter(name=filters.key).values_list("id", flat=True).first()
        if key_id is None:
            return {"data": [], "next_before": None}
    since = filters.since
    if filters.window:
        since = max(
            since or timezone.now() - stats.WINDOWS[filters.window],
            timezone.now() - stats.WINDOWS[filters.window],
        )
    rows = (
        QueryRecord.objects.matching(
            request_id_prefix=filters.request_id,
            model=filters.model,
            status=filters.status,
            deployment_id=filters.deployment,
            api_key_id=key_id,
            error_type=filters.error_type,
            since=since,
            slower_than_ms=filters.slower_than_ms,
            before=filters.before,
        )
        .select_related("deployment__provider", "api_key")
        .defer("request_body", "response_body")
        .order_by("-created_at", "-id")
    )
    page = list(rows[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {"data": [_out(r) for r in page], "next_before": page[-1].created_at if more else None}


@router.get("/queries/{request_id}", response=QueryDetailOut)
def get_query(request: HttpRequest, request_id: str):
    record = (
        QueryRecord.objects.select_related("deployment__provider", "api_key")
        .filter(request_id=request_id)
        .first()
    )
    if record is None:
        raise errors.InvalidRequestError(
            f"No request '{request_id}' in the history.", status=404, code="not_found"
        )
    attempts = [
        {
            "deployment": a.deployment.label if a.deployment else None,
            "retry": a.retry,
            "status": a.status,
            "http_status": a.http_status,
            "error_type": a.error_type,
            "error_message": a.error_message,
            "start_ms": a.start_ms,
            "latency_ms": a.latency_ms,
        }
        for a in record.attempts.select_related("deployment__provider").order_by("start_ms")
    ]
    return {
        **_out(record),
        "request_body": record.request_body,
        "response_body": record.response_body,
        "skipped": record.skipped,
        "attempts": attempts,
    }


class FeedbackIn(Schema):
    score: float = Field(ge=0.0, le=1.0)
    comment: str = Field(default="", max_length=4000)


class FeedbackOut(Schema):
    request_id: str
    score: float
    comment: str
    task_type: str
    task_cluster: int | None
    quality_score: float | None
    judge_score: float | None


# Any client key, not only admin keys: a client rates its own answers. The session only when there
# is one: session auth checks CSRF on a POST, and would refuse a key-only client before its key.
@router.post("/queries/{request_id}/feedback", response=FeedbackOut, auth=[StaffSession(), ClientKey()])
def post_feedback(request: HttpRequest, request_id: str, payload: FeedbackIn):
    """Rate the answer to one request; learned routing learns from it at once."""
    auth = request.auth  # type: ignore[attr-defined]  # set by django-ninja
    key_id = None if isinstance(auth, AbstractBaseUser) else auth.id
    record = record_feedback(request_id, payload.score, payload.comment, api_key_id=key_id)
    return {
        "request_id": record.request_id,
        "score": record.feedback_score,
        "comment": record.feedback_comment,
        "task_type": record.task_type,
        "task_cluster": record.task_cluster,
        "quality_score": record.quality_score,
        "judge_score": record.judge_score,
    }
