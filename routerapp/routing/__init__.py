"""route(): where a chat request goes, whichever interface it came through (/v1, the playground
and `manage.py ask`, the latter two through routing.interactive).

It resolves the model name, applies the key's permissions, budget and rate limit, walks the
deployments with retries and fallbacks, prices the answer and leaves a history record, whatever
happens. A request refused before it gets here (an unusable body) is recorded by record_rejected().
"""

from __future__ import annotations

import asyncio
import time
import uuid

from routerapp import ensembling, errors
from routerapp.observability.drafts import RecordDraft, body_for_storage, params_for_storage
from routerapp.observability.writer import writer
from routerapp.optimizer import learning
from routerapp.optimizer import plan as optimizer
from routerapp.optimizer.detect import detect
from routerapp.pricing import cost_parts
from routerapp.providers.base import (
    ChatRequest,
    ChatResult,
    RoutedRequest,
    Usage,
    encode_json,
    estimate_prompt_tokens,
)
from routerapp.routing import budget, limits
from routerapp.routing.cached import CachedStream, completion_body, settle_completion
from routerapp.routing.completion import Completion
from routerapp.routing.fallback import Attempter, Call
from routerapp.routing.health import health_sync
from routerapp.routing.streaming import StreamSession, open_stream
from routerapp.routing.table import KeyInfo, RoutingTable, tables


def admit(key: KeyInfo | None, request: RoutedRequest, table: RoutingTable) -> None:
    """Whether `request` may go on, whatever the endpoint: the request's own fallbacks exist, and
    the client key allows its model and those fallbacks, has budget left and is under its rpm limit
    (None, the operator's own interfaces, has no limits)."""
    for name in request.fallbacks:
        if name not in table.groups:
            raise errors.ModelNotFoundError.named(name, param="fallbacks", what="fallback model")
    if key is None:
        return
    model = request.model
    if not key.may_use(model):
        raise errors.PermissionDeniedError(
            f"API key '{key.name}' is not allowed to use model '{model}'", param="model"
        )
    for name in request.fallbacks:
        if not key.may_use(name):
            raise errors.PermissionDeniedError(
                f"API key '{key.name}' is not allowed to use model '{name}'", param="fallbacks"
            )
    budget.check(key)
    prompt = estimate_prompt_tokens(request.messages) if isinstance(request, ChatRequest) else 0
    limits.check_key_tpm(key, prompt)
    limits.check_key_rpm(key)


def new_draft(request: RoutedRequest, key: KeyInfo | None) -> RecordDraft:
    return RecordDraft(
        request_id=request.request_id,
        model=request.model,
        api_key_id=key.id if key else None,
        stream=request.stream,
        endpoint=request.endpoint,
        end_user=str(request.params.get("user") or "")[:200],
        tags=request.tags,
    )


def note_task(draft: RecordDraft, request: ChatRequest) -> None:
    """The request's task type in its record; detected now if nothing on its route needed it."""
    task = learning.detection_of(request)
    draft.task_type, draft.task_confidence, draft.task_cluster = task.task_type, task.confidence, task.cluster


def record_rejected(
    error: errors.RouterError,
    *,
    key: KeyInfo | None,
    started: float,
    model: object = None,
    request_id: str | None = None,
    endpoint: str = "/v1/chat/completions",
) -> str:
    """Leave a history record for a request refused before routing (an unusable body, say), and
    return its request id. Every interface that authenticates a caller calls this, so each request
    that reached the router is in the history, whichever door it came through."""
    draft = RecordDraft(
        request_id=request_id or uuid.uuid4().hex,
        model=model if isinstance(model, str) else "(invalid request)",
        api_key_id=key.id if key else None,
        endpoint=endpoint,
    )
    record_failure(draft, error, started)
    return draft.request_id


def record_answered(
    *, key: KeyInfo | None, started: float, model: str, request_id: str, endpoint: str
) -> None:
    """Leave a history record for a request the router answered itself, with no deployment
    (/v1/messages/count_tokens): no tokens spent, no cost."""
    draft = RecordDraft(
        request_id=request_id, model=model, api_key_id=key.id if key else None, endpoint=endpoint
    )
    draft.latency_ms = (time.perf_counter() - started) * 1000
    writer.submit(draft)


def record_failure(
    draft: RecordDraft, error: errors.RouterError, started: float, *, submit: bool = True
) -> None:
    draft.fail(error)
    draft.latency_ms = (time.perf_counter() - started) * 1000
    if submit:
        writer.submit(draft)


async def route(
    request: ChatRequest,
    *,
    key: KeyInfo | None,
    table: RoutingTable | None = None,
    started: float | None = None,
    draft: RecordDraft | None = None,
) -> Completion | StreamSession | ensembling.EnsembleStream | CachedStream:
    """Answer `request` through the best available deployment, or raise a RouterError.

    `key` is None for the operator's own interfaces (the playground, `manage.py ask`) and for an
    ensemble's members: no client key's permissions, budget or rate limit apply. A caller that
    passes its own `draft` (ensembling, for each member) keeps the record: route() fills it in but
    does not submit it to the history writer.
    """
    started = time.perf_counter() if started is None else started
    submit = draft is None
    draft = new_draft(request, key) if draft is None else draft
    attempter: Attempter | None = None
    ensemble = None
    admitted = False  # past the key's checks: its record says what task it was
    try:
        table = table or await tables.get()
        await health_sync.poll(table)  # health checks run by the worker, into this process's breaker
        group = table.groups.get(request.model)
        ensemble = table.ensembles.get(request.model) if group is None else None
        if group is None and ensemble is None:
            raise errors.ModelNotFoundError.named(request.model)
        admit(key, request, table)
        admitted = True
        draft.request_body = body_for_storage(encode_json(request.messages).decode())
        draft.request_params = params_for_storage(request.params)
        # The task type is detected when first read (providers.base.TaskSlot): here by an ensemble,
        # by the optimizer's strategies or a learned strategy, else for the record once answered.
        request.task_slot.detect = detect
        if ensemble is not None:
            note_task(draft, request)
            # Members are routed by route() itself, passed in so ensembling needs no import of it.
            return await ensembling.answer(
                request,
                ensemble,
                key=key,
                table=table,
                draft=draft,
                started=started,
                route=route,
                submit=submit,
            )
        assert group is not None
        plan = optimizer.prepare(request, group, key, table)
        draft.optimizations = plan.applied
        if plan.hit is not None:
            note_task(draft, request)
            return _from_cache(request, plan.hit, draft, key, started, submit)
        attempter = Attempter(
            table,
            group,
            request,
            draft,
            started=started,
            prompt_tokens=estimate_prompt_tokens(request.messages),
        )
        if request.stream:
            opened, _ = await attempter.run(lambda call: open_stream(call, call.chat))
            return StreamSession(
                attempter=attempter,
                opened=opened,
                on_finish=lambda session, error: _finish_stream(session, error, key, submit, plan),
            )
        result, call = await attempter.run(lambda call: _complete(call, call.chat))
    except errors.RouterError as exc:
        # An error response reports the router's own time too: for a 429 or a "cooling down" 503
        # that is all of it.
        upstream_s = attempter.upstream_s if attempter is not None else 0.0
        if ensemble is not None:
            upstream_s = ensembling.upstream_s(draft)
        exc.overhead_ms = draft.overhead_ms = (time.perf_counter() - started - upstream_s) * 1000
        if admitted:
            note_task(draft, request)
        record_failure(draft, exc, started, submit=submit)
        raise
    except asyncio.CancelledError:
        # The client went away while we waited on an upstream: still a request that reached us.
        draft.status, draft.http_status, draft.error_type = "cancelled", 499, "ClientDisconnected"
        draft.latency_ms = (time.perf_counter() - started) * 1000
        if admitted:
            note_task(draft, request)
        if submit:
            writer.submit(draft)
        raise
    return _finish_completion(request, result, call, attempter, draft, key, started, submit, plan)


def charge(key: KeyInfo, draft: RecordDraft) -> None:
    """Count what the request spent against the key's budget and token limit, noting the budget
    period it counted in for the history writer's period total."""
    budget.spend(key, draft.cost_usd)
    draft.budget_period_start = budget.current_period_start(key)
    limits.count_key_tokens(key, draft.prompt_tokens + draft.completion_tokens)


def _from_cache(
    request: ChatRequest, answer, draft: RecordDraft, key: KeyInfo | None, started: float, submit: bool
) -> Completion | CachedStream:
    """A cache hit: no deployment, no spend, a history record all the same."""
    if request.stream:
        return CachedStream(
            request, answer, draft, started, on_finish=writer.submit if submit else lambda draft: None
        )
    body, result = completion_body(request, answer)
    overhead_ms = settle_completion(draft, answer, started)
    if submit:
        writer.submit(draft)
    return Completion(
        body=body, result=result, deployment_label="cache", overhead_ms=overhead_ms, draft=draft
    )


async def _complete(call: Call, request: ChatRequest) -> ChatResult:
    return await call.within_timeout(
        call.adapter.complete(request, call.deployment.upstream_model, call.timeouts)
    )


def _finish_completion(
    request: ChatRequest,
    result: ChatResult,
    call: Call,
    attempter: Attempter,
    draft: RecordDraft,
    key: KeyInfo | None,
    started: float,
    submit: bool,
    plan: optimizer.Plan,
) -> Completion:
    deployment = call.deployment
    attempter.settle(deployment, result.usage.total_tokens)
    body = result.body
    body["model"] = request.model
    parts = cost_parts(deployment, result.usage)
    now = time.perf_counter()
    overhead_ms = (now - started - attempter.upstream_s) * 1000
    draft.deployment_id = deployment.id
    draft.latency_ms = (now - started) * 1000
    draft.overhead_ms = overhead_ms
    draft.spent(result.usage, parts)
    if key is not None:
        charge(key, draft)  # before the answer goes: the key's next request sees what this one spent

    def finish() -> None:
        """What only the record, the learned scores and the response cache need."""
        note_task(draft, request)
        draft.response_body = body_for_storage(result.content)
        learning.score_answer(
            draft,
            request,
            call.group,
            deployment.id,
            answer=result.content,
            finish_reason=result.finish_reason,
            latency_ms=call.latency_ms,
        )
        if not ((body.get("choices") or [{}])[0].get("message") or {}).get("tool_calls"):
            optimizer.remember(plan, result.content, result.finish_reason, result.usage, deployment.label)

    if submit:
        writer.defer(draft, finish, request.task_slot.get)  # after the answer is written (on the hot path)
    else:
        finish()  # the caller (an ensemble) reads the draft as soon as this returns
    return Completion(
        body=body, result=result, deployment_label=deployment.label, overhead_ms=overhead_ms, draft=draft
    )


def _finish_stream(
    session: StreamSession,
    error: errors.RouterError | None,
    key: KeyInfo | None,
    submit: bool,
    plan: optimizer.Plan,
) -> None:
    draft = session.draft
    draft.latency_ms = (time.perf_counter() - session.started) * 1000
    draft.overhead_ms = session.overhead_ms
    if error is not None:
        draft.fail(error)
    if key is not None:
        charge(key, draft)  # now: the key's next request sees what this one spent

    def finish() -> None:
        """What only the record, the learned scores and the response cache need: run once the
        stream's end has been written, not between its last chunk and [DONE] (while the other
        streams in flight wait for the loop)."""
        note_task(draft, session.request)
        text = "".join(session.text)
        draft.response_body = body_for_storage(text)
        if error is None and session.finished:
            usage = Usage(draft.prompt_tokens, draft.completion_tokens)
            optimizer.remember(plan, text, session.finish_reason, usage, session.deployment_label)
        if error is None:
            call = session.opened.call
            learning.score_answer(
                draft,
                session.request,
                call.group,
                call.deployment.id,
                answer=text,
                finish_reason=session.finish_reason,
                latency_ms=call.latency_ms,
            )

    if submit:
        writer.defer(draft, finish, session.request.task_slot.get)
    else:
        finish()


__all__ = [
    "Completion",
    "StreamSession",
    "admit",
    "new_draft",
    "note_task",
    "record_answered",
    "record_failure",
    "record_rejected",
    "route",
]
