"""`strategy: learned`: per request, the deployment with the best quality for what it costs.

What "best" means is routerapp.optimizer.chooser's objective, with λ = the model's `cost_weight`
and μ = its `latency_weight`; what is known of each deployment is this process's pattern snapshot
(routerapp.optimizer.learning.live), for the request's prompt cluster backed off to its task type
(PatternStore.view). No database, no network.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from routerapp.optimizer.chooser import Option, rank
from routerapp.optimizer.learning import detection_of, live
from routerapp.optimizer.patterns import Arm, cluster_key, pattern_key
from routerapp.pricing import MTOK, price_per_mtok
from routerapp.routing.strategies.base import Selection, Strategy

if TYPE_CHECKING:  # the routing table imports the schema, which imports the strategies
    from routerapp.routing.table import DeploymentInfo

# Completion tokens to expect from a deployment that has not answered this kind of query yet.
DEFAULT_COMPLETION_TOKENS = 256


def expected_cost_usd(deployment: DeploymentInfo, selection: Selection, arm: Arm) -> float:
    """Prompt tokens at the input price plus the completion this deployment tends to give (capped
    by max_tokens) at the output price."""
    params = selection.request.params
    limit = params.get("max_completion_tokens") or params.get("max_tokens")
    completion = arm.mean_completion_tokens or DEFAULT_COMPLETION_TOKENS
    if limit:
        completion = min(completion, float(limit))
    inp, out = price_per_mtok(deployment)
    return (selection.prompt_tokens * inp + completion * out) / MTOK


class Learned(Strategy):
    name = "learned"

    def order(self, selection: Selection) -> list[DeploymentInfo]:
        candidates = selection.candidates
        if len(candidates) == 1:
            return candidates
        store = live.snapshot()
        detection = detection_of(selection.request)
        task = pattern_key(detection.task_type)
        pattern = cluster_key(detection.cluster) or task
        options = [
            Option(d.id, expected_cost_usd(d, selection, store.view(pattern, d.id, task))) for d in candidates
        ]
        group = selection.group
        ranked = rank(
            store,
            pattern,
            options,
            cost_weight=group.cost_weight,
            latency_weight=group.latency_weight,
            backoff=task,
        )
        by_id: dict[Hashable, DeploymentInfo] = {d.id: d for d in candidates}
        return [by_id[r.key] for r in ranked]
