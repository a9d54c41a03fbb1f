from __future__ import annotations

import random

from django.core.cache import cache

from routerapp.routing.strategies.base import Selection, Strategy
from routerapp.routing.table import DeploymentInfo

# Weight of the newest sample in the moving average.
ALPHA = 0.3
# Share of requests sent to a random deployment, so a deployment that was slow (or down) and has
# recovered gets measured again.
EXPLORATION = 0.05


def _key(dep_id: int) -> str:
    return f"latency:{dep_id}"


class LatencyBased(Strategy):
    """Lowest recent latency (exponential moving average shared through the cache)."""

    name = "latency-based"

    def order(self, selection: Selection) -> list[DeploymentInfo]:
        candidates = selection.candidates
        if len(candidates) == 1:
            return candidates
        averages = cache.get_many([_key(d.id) for d in candidates])
        # Unmeasured deployments sort first: they need one sample before they can compete.
        ordered = sorted(candidates, key=lambda d: (averages.get(_key(d.id), -1.0), random.random()))
        if random.random() < EXPLORATION:
            pick = random.choice(ordered[1:])
            ordered.remove(pick)
            ordered.insert(0, pick)
        return ordered

    def finished(self, deployment: DeploymentInfo, *, latency_ms: float | None, ok: bool) -> None:
        if latency_ms is None:
            return
        key = _key(deployment.id)
        # A failure counts as slow, so a failing deployment drifts to the back.
        sample = latency_ms if ok else max(latency_ms, 10_000.0)
        previous = cache.get(key)
        value = sample if previous is None else (1 - ALPHA) * previous + ALPHA * sample
        cache.set(key, value, timeout=3600)


def average_latency(dep_id: int) -> float | None:
    return cache.get(_key(dep_id))
