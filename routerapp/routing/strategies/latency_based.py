from __future__ import annotations

import random
from typing import TYPE_CHECKING

from routerapp.routing.strategies.base import Selection, Strategy
from routerapp.sharedcache import cache

if TYPE_CHECKING:
    # Types only: the table imports the schema, which imports the strategy registry.
    from routerapp.routing.table import DeploymentInfo

# Weight of the newest sample in the moving average.
ALPHA = 0.3
# Share of requests sent to a random deployment, so a deployment that was slow (or down) and has
# recovered gets measured again.
EXPLORATION = 0.05
# How long one request has to bring back the first sample of an unmeasured deployment before
# another request may go and measure it.
SAMPLING_TTL_S = 10


def _key(dep_id: int) -> str:
    return f"latency:{dep_id}"


def _sampling_key(dep_id: int) -> str:
    return f"latency:sampling:{dep_id}"


class LatencyBased(Strategy):
    """Lowest recent latency (exponential moving average shared through the cache)."""

    name = "latency-based"

    def order(self, selection: Selection) -> list[DeploymentInfo]:
        candidates = selection.candidates
        if len(candidates) == 1:
            return candidates
        averages = cache().get_many([_key(d.id) for d in candidates])
        measured = sorted(
            (d for d in candidates if _key(d.id) in averages),
            key=lambda d: (averages[_key(d.id)], random.random()),
        )
        unmeasured = [d for d in candidates if _key(d.id) not in averages]
        random.shuffle(unmeasured)
        if not measured:
            return unmeasured  # nothing known yet: spread the first requests evenly
        # An unmeasured deployment (new, or its average expired) needs one sample before it can
        # compete. One request at a time takes it first, so a burst does not pile onto a deployment
        # nobody has seen answer yet (it may hang until the timeout); the rest keep to the measured.
        for d in unmeasured:
            if cache().add(_sampling_key(d.id), 1, timeout=SAMPLING_TTL_S):
                unmeasured.remove(d)
                return [d, *measured, *unmeasured]
        ordered = measured + unmeasured
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
        previous = cache().get(key)
        value = sample if previous is None else (1 - ALPHA) * previous + ALPHA * sample
        cache().set(key, value, timeout=3600)


def average_latency(dep_id: int) -> float | None:
    return cache().get(_key(dep_id))
