"""Scores that arrive after the answer: a client's feedback, a judge model's grade.

`record_feedback` is the one entry point for feedback: the JSON API
(`POST /api/queries/{request_id}/feedback`) and the playground's thumbs up/down call it. Both
kinds of late score go through `rescore`, which moves the answer's OptimizerPattern row at once
and tells every process's pattern snapshot (routerapp.optimizer.learning) through the cache.
"""

from __future__ import annotations

import math
import time

from django.db import transaction
from django.utils import timezone

from routerapp import errors
from routerapp.conf import router_settings
from routerapp.models import OptimizerPattern, QueryRecord
from routerapp.observability.writer import writer
from routerapp.optimizer.learning import publish_rescore
from routerapp.optimizer.patterns import patterns_of

MAX_COMMENT_CHARS = 4000


def record_feedback(
    request_id: str, score: float, comment: str = "", *, api_key_id: int | None = None
) -> QueryRecord:
    """Store feedback on the request's answer and learn from it.

    `api_key_id` is the caller's key: only the key that made a request may rate it (None: a staff
    user, who may rate any). A request of another key is reported as not found, like an unknown
    one, so ids of other tenants cannot be probed.
    """
    if (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or not 0.0 <= score <= 1.0
        or math.isnan(score)
    ):
        raise errors.InvalidRequestError("score must be a number from 0 to 1", param="score")
    comment = (comment or "")[:MAX_COMMENT_CHARS]
    _wait_until_written(request_id)
    with transaction.atomic():
        record = _find(request_id, api_key_id)
        before = record.effective_score
        record.feedback_score = float(score)
        record.feedback_comment = comment
        first = record.feedback_at is None
        record.feedback_at = timezone.now()
        record.save(update_fields=["feedback_score", "feedback_comment", "feedback_at"])
        rescore(record, before, feedback=first)
    return record


def _wait_until_written(request_id: str) -> None:
    """Feedback may come right after the answer, before the history writer has stored the request:
    write what this process holds and give other processes' writers one flush interval.

    Done before the transaction that updates the record, so the flush and the wait hold no lock.
    """
    records = QueryRecord.objects.filter(request_id=request_id)
    if records.exists():
        return
    writer.flush()
    deadline = time.monotonic() + 2 * router_settings()["HISTORY_FLUSH_S"]
    while not records.exists() and time.monotonic() < deadline:
        time.sleep(router_settings()["HISTORY_FLUSH_S"] / 4)


def _find(request_id: str, api_key_id: int | None) -> QueryRecord:
    record = QueryRecord.objects.select_for_update().filter(request_id=request_id).first()
    if record is None or (api_key_id is not None and record.api_key_id != api_key_id):
        raise errors.InvalidRequestError(
            f"No request '{request_id}' made with this key.", status=404, code="not_found"
        )
    return record


def rescore(record: QueryRecord, before: float | None, *, feedback: bool = False) -> None:
    """The answer's effective score changed from `before`: move its pattern rows (task type and
    cluster) and every snapshot."""
    after = record.effective_score
    deployment_id = record.deployment_id
    if after is None or deployment_id is None or not record.task_type or after == before:
        return
    for pattern in patterns_of(record.task_type, record.task_cluster):
        _rescore_row(pattern, deployment_id, before, after, feedback=feedback)


def _rescore_row(
    pattern: str, deployment_id: int, before: float | None, after: float, *, feedback: bool
) -> None:
    row, _ = OptimizerPattern.objects.select_for_update().get_or_create(
        pattern=pattern, deployment_id=deployment_id
    )
    # The row may not count this answer yet (scored only now, or the learning task has not run
    # since): then it is one more answer.
    row_new = before is None or row.count == 0
    total = row.quality_mean * row.count + (after if before is None or row_new else after - before)
    row.count += 1 if row_new else 0
    row.quality_mean = min(max(total / row.count, 0.0), 1.0)
    if feedback:
        row.feedback_count += 1
    row.save()
    # Snapshots counted the answer with its first score when it was given (learning.score_answer).
    count_delta = 1 if before is None else 0
    quality_delta = after - (before or 0.0)
    transaction.on_commit(
        lambda: publish_rescore(pattern, deployment_id, quality_delta=quality_delta, count_delta=count_delta)
    )
