"""Error groups over a window, and failed upstream attempts per deployment."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from routerapp.models import Attempt, Deployment, ErrorGroup
from routerapp.observability.rollups import hour_of
from routerapp.stats.windows import RAW_UP_TO, WINDOWS


@dataclass(slots=True)
class ErrorGroupView:
    group: ErrorGroup
    window_count: int
    trend: list[int]  # per hour, oldest first

    def as_dict(self) -> dict[str, Any]:
        g = self.group
        return {
            "id": g.id,
            "error_type": g.error_type,
            "provider": g.provider.name if g.provider else None,
            "deployment": g.deployment.label if g.deployment else None,
            "message": g.message,
            "count": g.count,
            "window_count": self.window_count,
            "first_seen": g.first_seen.isoformat(),
            "last_seen": g.last_seen.isoformat(),
            "sample_request_id": g.sample_request_id,
            "trend": self.trend,
        }


def error_groups(
    window: str = "24h", *, order: str = "recent", limit: int = 50, now: datetime | None = None
) -> list[ErrorGroupView]:
    """Error groups seen in the window: newest first (`recent`) or loudest in the window (`count`)."""
    until = now or timezone.now()
    since = until - WINDOWS[window]
    groups = (
        ErrorGroup.objects.seen_since(since)
        .select_related("provider", "deployment__provider")
        .order_by("-last_seen")[:500]
    )
    hours = 168 if WINDOWS[window] > timedelta(days=1) else 24
    last_hour = int(hour_of(until).timestamp())
    views = []
    for g in groups:
        trend = [g.hourly.get(str(last_hour - 3600 * i), 0) for i in range(hours - 1, -1, -1)]
        in_window = sum(v for k, v in g.hourly.items() if int(k) >= int(hour_of(since).timestamp()))
        views.append(ErrorGroupView(g, in_window, trend))
    if order == "count":
        views.sort(key=lambda v: (-v.window_count, -v.group.last_seen.timestamp()))
    return views[:limit]


def upstream_failures(window: str = "1h", *, now: datetime | None = None) -> dict[int, int]:
    """Failed upstream attempts per deployment id over the window (retries and fallbacks included).

    Short windows count Attempt rows through the (deployment, created_at) index; long ones add up
    the hourly counts of the error groups.
    """
    until = now or timezone.now()
    since = until - WINDOWS[window]
    if WINDOWS[window] <= RAW_UP_TO:
        ids = list(Deployment.objects.values_list("id", flat=True))
        rows = (
            Attempt.objects.filter(
                deployment_id__in=ids, created_at__gte=since, created_at__lt=until, status="error"
            )
            .values("deployment_id")
            .annotate(n=Count("id"))
        )
        return {r["deployment_id"]: r["n"] for r in rows}
    first = int(hour_of(since).timestamp())
    failures: Counter = Counter()
    for deployment_id, hourly in (
        ErrorGroup.objects.seen_since(since).exclude(deployment=None).values_list("deployment_id", "hourly")
    ):
        failures[deployment_id] += sum(n for hour, n in hourly.items() if int(hour) >= first)
    return dict(failures)
