"""The pattern store: what is known of each deployment on each kind of query, as bandit arms.

Pure data, no I/O. Live routing keeps one store per process (routerapp.optimizer.learning), the
offline replay one per pass (routerapp.optimizer.replay); both feed it through `observe` and read
it through the chooser (routerapp.optimizer.chooser), so replay measures the code that routes.

A pattern is a kind of query: a task type (`task:code`) or a prompt cluster within one
(`cluster:3`, routerapp.optimizer.clusters); every answer teaches both. An arm is one choice for it (a deployment id live, a
model name in replay). The statistics are discounted: every answer scored for a pattern multiplies
what its arms knew before by GAMMA, so the store remembers about 1 / (1 − GAMMA) answers per
pattern. That is what lets it notice change: a deployment that got worse loses its record within
a few hundred answers, and one nobody picked for a while grows uncertain again and is tried.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field

# 0.995: a memory of ~200 answers per pattern.
GAMMA = 0.995
# How many answers the task type's record counts for in a cluster's (see PatternStore.view).
BACKOFF_ANSWERS = 8.0


def pattern_key(task_type: str) -> str:
    return f"task:{task_type or 'unknown'}"


def cluster_key(cluster: int | None) -> str | None:
    return None if cluster is None else f"cluster:{cluster}"


@functools.lru_cache(maxsize=4096)
def patterns_of(task_type: str, cluster: int | None) -> tuple[str, ...]:
    """The patterns an answer teaches: its task type's, and its cluster's when it has one.

    Remembered (a few task types times the clusters): the live store keeps the same tuple, not two
    new strings, for each of the answers it holds (routerapp.optimizer.learning.LiveStore)."""
    key = cluster_key(cluster)
    return (pattern_key(task_type),) if key is None else (pattern_key(task_type), key)


@dataclass(slots=True)
class Arm:
    """Discounted sums over the answers of one arm on one pattern."""

    n: float = 0.0
    quality: float = 0.0
    latency_ms: float = 0.0
    latency_n: float = 0.0
    cost_usd: float = 0.0
    completion_tokens: float = 0.0
    # The pattern's step the sums were last brought up to.
    step: int = 0

    def decay(self, factor: float) -> None:
        self.n *= factor
        self.quality *= factor
        self.latency_ms *= factor
        self.latency_n *= factor
        self.cost_usd *= factor
        self.completion_tokens *= factor

    @property
    def mean_quality(self) -> float | None:
        return self.quality / self.n if self.n > 1e-9 else None

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_ms / self.latency_n if self.latency_n > 1e-9 else None

    @property
    def mean_cost_usd(self) -> float | None:
        return self.cost_usd / self.n if self.n > 1e-9 else None

    @property
    def mean_completion_tokens(self) -> float | None:
        return self.completion_tokens / self.n if self.n > 1e-9 else None


@dataclass(slots=True)
class Pattern:
    step: int = 0
    arms: dict[Hashable, Arm] = field(default_factory=dict)


class PatternStore:
    def __init__(self, gamma: float = GAMMA) -> None:
        self.gamma = gamma
        self.patterns: dict[str, Pattern] = {}

    @property
    def memory(self) -> float:
        """How many answers per pattern the discounting remembers."""
        return 1.0 / (1.0 - self.gamma) if self.gamma < 1 else float("inf")

    def arm(self, pattern: str, key: Hashable) -> Arm:
        """The arm's statistics as of now (created empty if unknown)."""
        p = self.patterns.setdefault(pattern, Pattern())
        arm = p.arms.get(key)
        if arm is None:
            arm = p.arms[key] = Arm(step=p.step)
        elif arm.step != p.step:
            arm.decay(self.gamma ** (p.step - arm.step))
            arm.step = p.step
        return arm

    def observe(
        self,
        pattern: str,
        key: Hashable,
        *,
        quality: float,
        latency_ms: float | None = None,
        cost_usd: float = 0.0,
        completion_tokens: float = 0.0,
    ) -> None:
        """Count one scored answer: the pattern moves one step (everything it knew fades a little)."""
        self.patterns.setdefault(pattern, Pattern()).step += 1
        arm = self.arm(pattern, key)
        arm.n += 1
        arm.quality += _clamp(quality)
        arm.cost_usd += cost_usd
        arm.completion_tokens += completion_tokens
        if latency_ms is not None:
            arm.latency_ms += latency_ms
            arm.latency_n += 1

    def rescore(self, pattern: str, key: Hashable, *, quality_delta: float, count_delta: float = 0.0) -> None:
        """A later, better score for an answer (feedback, a judge): `quality_delta` replaces what it
        was scored before; `count_delta` 1 when the answer was not counted yet."""
        if count_delta:
            self.patterns.setdefault(pattern, Pattern()).step += 1
        arm = self.arm(pattern, key)
        arm.n += count_delta
        arm.quality = min(max(arm.quality + quality_delta, 0.0), arm.n)

    def seed(
        self,
        pattern: str,
        key: Hashable,
        *,
        count: int,
        quality_mean: float,
        latency_ms_mean: float | None = None,
        cost_usd_mean: float = 0.0,
        completion_tokens_mean: float = 0.0,
    ) -> None:
        """Start an arm from stored aggregates (OptimizerPattern rows), weighted as at most
        `memory` answers so stored history counts as much as the discounting would keep."""
        arm = self.arm(pattern, key)
        n = min(float(count), self.memory)
        arm.n = n
        arm.quality = _clamp(quality_mean) * n
        arm.cost_usd = cost_usd_mean * n
        arm.completion_tokens = completion_tokens_mean * n
        if latency_ms_mean is not None:
            arm.latency_ms, arm.latency_n = latency_ms_mean * n, n
        else:
            arm.latency_ms = arm.latency_n = 0.0

    def view(self, pattern: str, key: Hashable, backoff: str | None = None) -> Arm:
        """The arm the chooser reads: the pattern's own, plus, when `backoff` names a coarser
        pattern (the cluster's task type), that pattern's arm weighted as at most BACKOFF_ANSWERS
        answers.

        Why a blend rather than a switch at some count: a cluster nobody has routed yet starts from
        what its task type knows instead of from nothing (no blind exploration of every cluster),
        and as its own answers build up they outweigh the type's few pseudo-answers, so a cluster
        that differs from its type wins after about BACKOFF_ANSWERS of its own. A hard threshold
        would jump between two estimates at one count and explore again from zero above it.
        """
        own = self.arm(pattern, key)
        if backoff is None or backoff == pattern:
            return own
        coarse = self.arm(backoff, key)
        if coarse.n <= 1e-9:
            return own
        w = min(coarse.n, BACKOFF_ANSWERS) / coarse.n
        blended = Arm(
            n=own.n + coarse.n * w,
            quality=own.quality + coarse.quality * w,
            latency_ms=own.latency_ms + coarse.latency_ms * w,
            latency_n=own.latency_n + coarse.latency_n * w,
            cost_usd=own.cost_usd + coarse.cost_usd * w,
            completion_tokens=own.completion_tokens + coarse.completion_tokens * w,
            step=own.step,
        )
        return blended

    def items(self) -> Iterator[tuple[str, Hashable, Arm]]:
        for name, p in self.patterns.items():
            for key in list(p.arms):
                yield name, key, self.arm(name, key)


def _clamp(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)
