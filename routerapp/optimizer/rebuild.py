"""The learning task: OptimizerPattern rows from the latest ROUTER_LEARNING_WINDOW scored answers.

Run by the django-q2 schedule "router: learn patterns" (routerapp.tasks.learn_patterns). Each run
rewrites the rows of every (pattern, deployment) seen in the window, appends the hour's point to
their timeline, and stamps a new snapshot version so server processes reload. Rows of pairs no
longer in the window are kept as they are: learned patterns outlive the history they came from.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from routerapp.conf import router_settings
from routerapp.models import Attempt, Deployment, OptimizerPattern, QueryRecord
from routerapp.optimizer.learning import publish_snapshot
from routerapp.optimizer.patterns import patterns_of

# Hourly points kept per row: two weeks.
TIMELINE_POINTS = 24 * 14


@dataclass
class _Sums:
    count: int = 0
    quality: float = 0.0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    completion_tokens: float = 0.0
    feedback: int = 0


@dataclass
class RebuildSummary:
    records: int = 0
    patterns: set[str] = field(default_factory=set)
    rows: int = 0

    def __str__(self) -> str:
        return (
            f"{self.rows} pattern rows for {len(self.patterns)} patterns from {self.records} scored answers"
        )


def rebuild_patterns(window: int | None = None) -> RebuildSummary:
    window = window or router_settings()["LEARNING_WINDOW"]
    built_at = time.time()
    scored = (
        QueryRecord.objects.filter(quality_score__isnull=False, deployment__isnull=False)
        .exclude(task_type="")
        .order_by("-id")
        .values_list(
            "id",
            "task_type",
            "task_cluster",
            "deployment_id",
            "quality_score",
            "judge_score",
            "feedback_score",
            "latency_ms",
            "cost_usd",
            "completion_tokens",
        )[:window]
    )
    sums: dict[tuple[str, int], _Sums] = defaultdict(_Sums)
    per_pattern: dict[str, int] = defaultdict(int)
    first_id = None
    records = 0
    for rid, task, cluster, dep, q, judge, fb, latency, cost, tokens in scored:
        first_id = rid
        records += 1
        # Each answer counts for its task type and for its cluster (a finer pattern within it).
        for pattern in patterns_of(task, cluster):
            s = sums[(pattern, dep)]
            s.count += 1
            s.quality += next(v for v in (fb, judge, q) if v is not None)
            s.latency_ms += latency
            s.cost_usd += cost
            s.completion_tokens += tokens
            s.feedback += fb is not None
            per_pattern[pattern] += 1
    summary = RebuildSummary(records=records, patterns=set(per_pattern))
    if first_id is None:
        return summary
    success = _success_rates(first_id)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0).isoformat()
    live_deployments = set(Deployment.objects.values_list("id", flat=True))
    with transaction.atomic():
        existing = {
            (r.pattern, r.deployment_id): r
            for r in OptimizerPattern.objects.select_for_update().filter(pattern__in=per_pattern)
        }
        changed, created = [], []
        for (pattern, dep), s in sums.items():
            if dep not in live_deployments:
                continue
            row = existing.get((pattern, dep))
            if row is None:
                row = OptimizerPattern(pattern=pattern, deployment_id=dep)
                created.append(row)
            else:
                changed.append(row)
            row.count = s.count
            row.quality_mean = s.quality / s.count
            row.latency_ms_mean = s.latency_ms / s.count
            row.cost_usd_mean = s.cost_usd / s.count
            row.completion_tokens_mean = s.completion_tokens / s.count
            row.feedback_count = s.feedback
            row.success_rate = success.get((pattern, dep), 1.0)
            row.share = s.count / per_pattern[pattern]
            row.timeline = _with_point(
                row.timeline, [hour, round(row.quality_mean, 4), round(row.share, 4), s.count]
            )
        fields = [
            "count",
            "quality_mean",
            "latency_ms_mean",
            "cost_usd_mean",
            "completion_tokens_mean",
            "feedback_count",
            "success_rate",
            "share",
            "timeline",
            "updated_at",
            "rebuilt_at",
        ]
        now = timezone.now()
        rebuilt = datetime.fromtimestamp(built_at, tz=UTC)
        for row in changed:
            row.updated_at = now
        for row in (*changed, *created):
            row.rebuilt_at = rebuilt
        OptimizerPattern.objects.bulk_update(changed, fields)
        OptimizerPattern.objects.bulk_create(created)
        summary.rows = len(changed) + len(created)
    publish_snapshot(built_at)
    return summary


def _success_rates(first_id: int) -> dict[tuple[str, int], float]:
    """Share of upstream attempts that answered, per (pattern, deployment), over the window."""
    counts = (
        Attempt.objects.filter(query_id__gte=first_id, deployment__isnull=False)
        .exclude(query__task_type="")
        .values_list("query__task_type", "query__task_cluster", "deployment_id")
        .annotate(total=Count("id"), ok=Count("id", filter=Q(status="ok")))
    )
    totals: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for task, cluster, dep, total, ok in counts:
        for pattern in patterns_of(task, cluster):
            totals[(pattern, dep)][0] += total
            totals[(pattern, dep)][1] += ok
    return {key: ok / total for key, (total, ok) in totals.items() if total}


def _with_point(timeline: list, point: list) -> list:
    points = [p for p in (timeline or []) if p and p[0] != point[0]]
    points.append(point)
    return points[-TIMELINE_POINTS:]
