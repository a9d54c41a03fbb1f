"""Choose per request: quality − λ × relative cost − μ × relative latency, by Thompson sampling.

Relative cost is an option's expected cost for this request over the most expensive option's, so
λ = 1 trades the whole price gap for one point of quality on the 0–1 scale; relative latency
likewise, over the slowest known option. Quality is not the arm's mean but a draw from its Beta
posterior (a uniform prior, plus the discounted scored answers of routerapp.optimizer.patterns):
an arm little is known about draws widely and gets tried now and then, one known well draws near
its mean. That is the exploration: no separate rate to tune, and it fades as evidence builds up.

The `learned` routing strategy and the offline replay both call `rank`.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from routerapp.optimizer.patterns import Arm, PatternStore


@dataclass(slots=True, frozen=True)
class Option:
    key: Hashable
    expected_cost_usd: float


@dataclass(slots=True, frozen=True)
class Ranked:
    key: Hashable
    objective: float  # with the sampled quality
    quality: float  # the sample
    relative_cost: float
    relative_latency: float


def rank(
    store: PatternStore,
    pattern: str,
    options: Sequence[Option],
    *,
    cost_weight: float,
    latency_weight: float = 0.0,
    rng: random.Random | None = None,
    backoff: str | None = None,
) -> list[Ranked]:
    """The options best first, by the objective with a posterior draw of each one's quality.

    `pattern` is the most specific kind the request is (its cluster), `backoff` the coarser one
    whose record fills in what the pattern does not know yet (its task type; PatternStore.view).
    """
    rng = rng or random.Random()
    arms = {o.key: store.view(pattern, o.key, backoff) for o in options}
    max_cost = max((o.expected_cost_usd for o in options), default=0.0)
    latencies = [a.mean_latency_ms for a in arms.values() if a.mean_latency_ms is not None]
    max_latency = max(latencies, default=0.0)
    ranked = []
    for o in options:
        arm = arms[o.key]
        quality = sample_quality(arm, rng)
        rel_cost = o.expected_cost_usd / max_cost if max_cost > 0 else 0.0
        latency = arm.mean_latency_ms
        rel_latency = latency / max_latency if latency is not None and max_latency > 0 else 0.0
        objective = quality - cost_weight * rel_cost - latency_weight * rel_latency
        ranked.append(Ranked(o.key, objective, quality, rel_cost, rel_latency))
    # Ties (equal draws are rare; equal objectives with λ = μ = 0 are not) keep the caller's order.
    ranked.sort(key=lambda r: r.objective, reverse=True)
    return ranked


def sample_quality(arm: Arm, rng: random.Random) -> float:
    good = max(arm.quality, 0.0)
    bad = max(arm.n - arm.quality, 0.0)
    return rng.betavariate(1.0 + good, 1.0 + bad)


def expected_quality(arm: Arm) -> float:
    """The posterior mean: what the dashboard shows as an arm's quality."""
    return (1.0 + max(arm.quality, 0.0)) / (2.0 + max(arm.n, 0.0))
