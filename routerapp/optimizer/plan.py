"""prepare(): the optimizer step route() runs before choosing deployments.

It resolves which strategies are on (model, key, request: routerapp.optimizer.switches), rewrites
the request with them (compress, instructions, params; old turns are trimmed per deployment tried,
by `fit_context`), marks it for task-aware model selection
(`select`, read by the learned routing strategy from `request.optimize` and `request.task`), and
looks the answer up in the response cache. What it did is returned for the history record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from routerapp import errors
from routerapp.conf import router_settings
from routerapp.optimizer import cache, rewrite, switches
from routerapp.providers.base import ChatRequest

if TYPE_CHECKING:
    from routerapp.routing.table import GroupInfo, KeyInfo, RoutingTable


@dataclass(slots=True)
class Plan:
    strategies: frozenset[str] = frozenset()
    applied: dict[str, Any] = field(default_factory=dict)
    cache_key: str | None = None
    cache_ttl_s: float | None = None
    hit: cache.CachedAnswer | None = None


def strategies_for(request: ChatRequest, group: GroupInfo, key: KeyInfo | None) -> frozenset[str]:
    try:
        return switches.resolve(group.optimize, key.optimize if key else (), request.optimize_spec)
    except ValueError as exc:
        raise errors.InvalidRequestError(f"optimize: {exc}", param="optimize") from None


def prepare(
    request: ChatRequest, group: GroupInfo, key: KeyInfo | None, table: RoutingTable, *, lookup: bool = True
) -> Plan:
    """Rewrite `request` in place with the strategies in force; `lookup=False` skips the cache read
    (for /api/optimizer/analyze, which only reports)."""
    plan = Plan(strategies_for(request, group, key))
    request.optimize = plan.strategies
    if not plan.strategies:
        return plan
    task = request.task
    messages = request.messages
    if "compress" in plan.strategies:
        # Old turns are trimmed later, per deployment tried (fit_context): each gets what fits its
        # own context window, not the largest of the group.
        messages, info = rewrite.compress(messages)
        if info:
            plan.applied["compress"] = info
    template = table.templates.get(task.task_type) if task is not None else None
    if (
        "instructions" in plan.strategies
        and template is not None
        and template.instructions
        and task is not None
        and task.confidence >= router_settings()["INSTRUCTIONS_MIN_CONFIDENCE"]
    ):
        messages = rewrite.add_instructions(messages, template.instructions)
        plan.applied["instructions"] = {"task_type": task.task_type}
    if "params" in plan.strategies and template is not None and template.params:
        params, added = rewrite.tune_params(request.params, template.params)
        if added:
            request.params = params
            plan.applied["params"] = added
    if "select" in plan.strategies and task is not None:
        plan.applied["select"] = {"task_type": task.task_type}
    request.messages = messages
    if "cache" in plan.strategies and cache.cacheable(request, any_temperature=group.cache_any_temperature):
        plan.cache_key = cache.key_for(request)
        plan.cache_ttl_s = group.cache_ttl_s
        plan.applied["cache"] = {}
        if lookup:
            plan.hit = cache.lookup(plan.cache_key)
            plan.applied["cache"]["hit"] = plan.hit is not None
    return plan


def fit_context(request: ChatRequest, context_window: int | None) -> tuple[ChatRequest, int]:
    """The request as one deployment gets it with `compress` on: its oldest turns dropped until it
    fits `context_window` with room for the answer (the system prompt and the latest turns kept).
    Returns the request (a copy when trimmed) and how many messages were dropped.

    routing.fallback calls it for each deployment it tries, so a smaller deployment of the group
    gets a shorter history while a larger one keeps more.
    """
    if "compress" not in request.optimize or not context_window:
        return request, 0
    answer = int(request.params.get("max_tokens") or request.params.get("max_completion_tokens") or 0)
    messages, dropped = rewrite.trim(request.messages, context_window - answer)
    if not dropped:
        return request, 0
    return dataclasses.replace(request, messages=messages), dropped


def remember(plan: Plan, content: str, finish_reason: str | None, usage, deployment: str) -> None:
    """Keep a complete answer for the next identical request.

    Only one that ended by itself ("stop"): an answer cut at max_tokens ("length"), a stream that
    ended without a finish_reason or a tool call must not come back as if it were whole."""
    if plan.cache_key is None or plan.hit is not None or finish_reason != "stop":
        return
    answer = cache.CachedAnswer(
        content, finish_reason, usage.prompt_tokens, usage.completion_tokens, deployment
    )
    cache.store(plan.cache_key, answer, plan.cache_ttl_s)
