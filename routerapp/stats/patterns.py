"""The learned patterns as people read them: per model name, task type and prompt cluster, which
deployment wins, by how much, and how the router's choice moved over time (the dashboard's Patterns
page). A task type's board comes first, then those of its clusters, labelled by their top terms.

"Wins" uses the objective `strategy: learned` ranks by (routerapp.optimizer.chooser), on the
rows' means: quality − λ × cost / the dearest deployment's − μ × latency / the slowest's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from routerapp.models import OptimizerPattern
from routerapp.optimizer import detect


@dataclass
class PatternRow:
    pattern: OptimizerPattern
    objective: float
    shares: list[float | None] = field(default_factory=list)  # per hour of the board's timeline


@dataclass
class PatternBoard:
    model: str
    strategy: str
    pattern: str
    rows: list[PatternRow]  # best objective first
    hours: list[str]
    # (hour, label of the deployment that served most of the pattern's answers that hour), when it changed.
    changes: list[tuple[str, str]]

    @property
    def cluster(self) -> int | None:
        kind, _, name = self.pattern.partition(":")
        return int(name) if kind == "cluster" and name.isdigit() else None

    @property
    def task_type(self) -> str:
        """The task type the pattern is, or its cluster belongs to ('' for a cluster unknown to the
        shipped clusters: rows of an older clustering)."""
        if self.cluster is None:
            return self.pattern.removeprefix("task:")
        info = detect.clusters.info if detect.clusters is not None else ()
        return info[self.cluster].task_type if self.cluster < len(info) else ""

    @property
    def title(self) -> str:
        if self.cluster is None:
            return f"task type {self.task_type}"
        info = detect.clusters.info if detect.clusters is not None else ()
        if self.cluster >= len(info):
            return f"cluster {self.cluster} (not in the shipped clusters)"
        return f"{self.task_type} · cluster {self.cluster}: {info[self.cluster].label}"

    @property
    def winner(self) -> PatternRow:
        return self.rows[0]

    @property
    def margin(self) -> float | None:
        """How far ahead the winner is, in objective points (quality on the 0–1 scale)."""
        return self.rows[0].objective - self.rows[1].objective if len(self.rows) > 1 else None

    @property
    def answers(self) -> int:
        return sum(r.pattern.count for r in self.rows)


def pattern_boards(model: str | None = None) -> list[PatternBoard]:
    rows = OptimizerPattern.objects.select_related(
        "deployment__provider", "deployment__model_group"
    ).order_by("pattern", "deployment_id")
    if model:
        rows = rows.filter(deployment__model_group__name=model)
    grouped: dict[tuple[str, str], list[OptimizerPattern]] = defaultdict(list)
    for row in rows:
        grouped[(row.deployment.model_group.name, row.pattern)].append(row)
    boards = [_board(model_name, pattern, members) for (model_name, pattern), members in grouped.items()]
    # Per model: each task type, then its clusters in order.
    boards.sort(key=lambda b: (b.model, b.task_type, b.cluster is not None, b.cluster or 0))
    return boards


def _board(model: str, pattern: str, members: list[OptimizerPattern]) -> PatternBoard:
    group = members[0].deployment.model_group
    max_cost = max((m.cost_usd_mean for m in members), default=0.0)
    max_latency = max((m.latency_ms_mean for m in members), default=0.0)
    ranked = []
    for m in members:
        rel_cost = m.cost_usd_mean / max_cost if max_cost > 0 else 0.0
        rel_latency = m.latency_ms_mean / max_latency if max_latency > 0 else 0.0
        objective = m.quality_mean - group.cost_weight * rel_cost - group.latency_weight * rel_latency
        ranked.append(PatternRow(m, objective))
    ranked.sort(key=lambda r: r.objective, reverse=True)
    hours = sorted({point[0] for m in members for point in m.timeline or ()})
    for r in ranked:
        by_hour = {point[0]: point[2] for point in r.pattern.timeline or ()}
        r.shares = [by_hour.get(h) for h in hours]
    changes: list[tuple[str, str]] = []
    for i, hour in enumerate(hours):
        top = max(ranked, key=lambda r: r.shares[i] or 0.0)
        if not changes or changes[-1][1] != top.pattern.deployment.label:
            changes.append((hour, top.pattern.deployment.label))
    return PatternBoard(model, group.strategy, pattern, ranked, hours, changes)
