"""Judge scoring: a configured model grades a sampled fraction of answers, in the task workers.

A model name with `judge_model` and `judge_sample_rate` set has that fraction of its scored answers
marked `judge_pending` on the way out (routerapp.optimizer.learning.score_answer); the scheduled
task "router: judge answers" sends each to the judge model through route(), like any request, and
stores the grade as the answer's `judge_score`, which outranks the answer's own checks (and is
outranked by a client's feedback) in what learning uses.
"""

from __future__ import annotations

import logging
import re

import orjson
from asgiref.sync import async_to_sync
from django.db import transaction

from routerapp import errors
from routerapp.models import ModelGroup, QueryRecord
from routerapp.optimizer.feedback import rescore
from routerapp.providers import closing_clients
from routerapp.providers.base import ChatRequest
from routerapp.routing import Completion, route

logger = logging.getLogger(__name__)

JUDGE_PROMPT = (
    "You grade answers given by an AI assistant. Read the conversation and the answer, then reply "
    "with the grade alone: a whole number from 0 (useless or wrong) to 10 (correct, complete and "
    "well put)."
)
_GRADE = re.compile(r"\b(10|[0-9])(?:\s*/\s*10)?\b")


def judge_pending(limit: int = 50) -> str:
    ids = list(
        QueryRecord.objects.filter(judge_pending=True).order_by("id").values_list("id", flat=True)[:limit]
    )
    graded = 0
    for record_id in ids:
        graded += judge_record(record_id) is not None
    return f"{graded} of {len(ids)} answers graded"


def judge_record(record_id: int) -> float | None:
    """Grade one answer with its model's judge; return the 0–1 score, or None when it cannot be."""
    record = QueryRecord.objects.filter(id=record_id).first()
    if record is None:
        return None
    judge = ModelGroup.objects.filter(name=record.model).values_list("judge_model", flat=True).first()
    QueryRecord.objects.filter(id=record_id).update(judge_pending=False)
    if not judge or not record.response_body:
        return None  # the judge was switched off since, or bodies are not stored (ROUTER_STORE_BODIES)
    request = ChatRequest(
        model=judge,
        messages=[
            {"role": "system", "content": JUDGE_PROMPT},
            {"role": "user", "content": _transcript(record)},
        ],
        params={"max_tokens": 8, "temperature": 0},
    )
    try:
        completion = async_to_sync(closing_clients)(route(request, key=None))
    except errors.RouterError as exc:
        logger.warning("judge %s could not grade %s: %s", judge, record.request_id, exc.message)
        return None
    assert isinstance(completion, Completion)
    grade = parse_grade(completion.result.content)
    if grade is None:
        return None
    with transaction.atomic():
        record = QueryRecord.objects.select_for_update().get(id=record_id)
        before = record.effective_score
        record.judge_score = grade
        record.save(update_fields=["judge_score"])
        rescore(record, before)
    return grade


def parse_grade(text: str) -> float | None:
    match = _GRADE.search(text or "")
    return int(match.group(1)) / 10 if match else None


def _transcript(record: QueryRecord) -> str:
    try:
        messages = orjson.loads(record.request_body)
        conversation = "\n".join(
            f"{m.get('role')}: {m.get('content')}" for m in messages if isinstance(m, dict)
        )
    except orjson.JSONDecodeError:  # stored truncated
        conversation = record.request_body
    return f"Conversation:\n{conversation}\n\nAnswer:\n{record.response_body}\n\nGrade (0-10):"
