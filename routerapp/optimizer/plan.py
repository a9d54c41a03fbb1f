"""prepare(): the optimizer step route() runs before choosing deployments.

It resolves which strategies are on (model, key, request: routerapp.optimizer.switches), rewrites
the request with them (compress, instructions, params), marks it for task-aware model selection
(`select`, read by the learned routing strategy from `request.optimize` and `request.task`), and
looks the answer up in the response cache. What it did is returned for the history record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from routerapp import errors
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
        messages, info = rewrite.compress(messages)
        # Old turns go when the prompt is too long for every deployment of the model: it must fit
        # the largest, with room for the answer; smaller deployments are passed over as usual.
        windows = [d.settings.context_window for d in group.deployments if d.settings.context_window]
        if windows:
            answer = int(request.params.get("max_tokens") or request.params.get("max_completion_tokens") or 0)
            messages, dropped = rewrite.trim(messages, max(windows) - answer)
            if dropped:
                info["turns_dropped"] = dropped
        if info:
            plan.applied["compress"] = info
    template = table.templates.get(task.task_type) if task is not None else None
    if (
        "instructions" in plan.strategies
        and template is not None
        and template.instructions
        and task is not None
        and task.confidence >= settings.ROUTER["INSTRUCTIONS_MIN_CONFIDENCE"]
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


def remember(plan: Plan, content: str, finish_reason: str | None, usage, deployment: str) -> None:
    """Keep a finished answer for the next identical request."""
    if plan.cache_key is None or plan.hit is not None or finish_reason not in ("stop", "length"):
        return
    answer = cache.CachedAnswer(
        content, finish_reason, usage.prompt_tokens, usage.completion_tokens, deployment
    )
    cache.store(plan.cache_key, answer, plan.cache_ttl_s)
