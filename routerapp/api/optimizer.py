"""POST /api/optimizer/analyze: what the optimizer would make of a request, without sending it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from routerapp import errors
from routerapp.api.auth import ClientKey, StaffSession
from routerapp.optimizer.detect import as_messages, cluster_label, detect
from routerapp.optimizer.plan import prepare
from routerapp.providers.base import ChatRequest
from routerapp.routing.table import GroupInfo, KeyInfo, tables
from routerapp.validation import chat_request

# A client key first: a POST with a key must not be refused for the session's missing CSRF token.
router = Router(tags=["optimizer"], auth=[ClientKey(), StaffSession()])


class AnalyzeIn(Schema):
    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    model: str | None = None
    optimize: str | list[str] | None = None
    params: dict[str, Any] = {}


class AnalyzeOut(Schema):
    task_type: str
    confidence: float
    # The prompt cluster within the task type (learned routing's finer pattern) and its label.
    cluster: int | None
    cluster_label: str | None
    model: str | None
    strategies: list[str]
    optimizations: dict[str, Any]
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    cacheable: bool


@router.post("/optimizer/analyze", response=AnalyzeOut)
async def analyze(request: HttpRequest, payload: AnalyzeIn):
    """The task type, confidence and prompt cluster, the strategies in force for this key, model and switches, and
    the request as it would be sent (messages and parameters) after them."""
    item = payload.dict(exclude_none=True)
    try:
        messages = as_messages(item)
    except ValueError as exc:
        raise errors.InvalidRequestError(str(exc), param="messages") from None
    table = await tables.get()
    auth = getattr(request, "auth", None)  # set by django-ninja: a KeyInfo or a staff user
    key = auth if isinstance(auth, KeyInfo) else None
    group: GroupInfo | None = GroupInfo(name="", strategy="simple-shuffle", deployments=())
    if payload.model is not None:
        group = table.groups.get(payload.model)
        if group is None or (key is not None and not key.may_use(payload.model)):
            raise errors.ModelNotFoundError.named(payload.model, param=None)
    body = {**payload.params, "model": payload.model or "-", "messages": messages}
    if payload.optimize is not None:
        body["optimize"] = payload.optimize
    chat: ChatRequest = chat_request(body)  # the same validation as /v1
    chat.task = task = detect(chat.messages)
    assert group is not None
    plan = prepare(chat, group, key, table, lookup=False)
    return {
        "task_type": task.task_type,
        "confidence": task.confidence,
        "cluster": task.cluster,
        "cluster_label": None if task.cluster is None else cluster_label(task.cluster),
        "model": payload.model,
        "strategies": sorted(plan.strategies),
        "optimizations": plan.applied,
        "messages": chat.messages,
        "params": chat.params,
        "cacheable": plan.cache_key is not None,
    }
