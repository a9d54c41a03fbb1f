"""django-q2 entry points. Tasks are an interface: they take ids, call one core function, return a summary.

Scheduled work (health checks, pruning) is declared in SCHEDULES and kept in the database by
`ensure_schedules`, which runs after every `migrate`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings

logger = logging.getLogger(__name__)


def run_health_checks(deployment_ids: list[int] | None = None) -> str:
    from routerapp.routing.health import check_deployments

    results = check_deployments(deployment_ids)
    unhealthy = [r for r in results if not r.ok]
    return f"{len(results)} checked, {len(unhealthy)} unhealthy"


def prune_history(days: int | None = None) -> str:
    """Delete history older than ROUTER["HISTORY_RETENTION_DAYS"] (or `days`)."""
    from routerapp.retention import prune_history as prune

    days = days or settings.ROUTER["HISTORY_RETENTION_DAYS"]
    deleted = prune(older_than=timedelta(days=days))
    return f"deleted {deleted} requests older than {days} days"


# name -> (function path, schedule type, minutes); schedule types are django_q Schedule constants.
SCHEDULES = {
    "router: health checks": ("routerapp.tasks.run_health_checks", "I", 1),
    "router: prune history": ("routerapp.tasks.prune_history", "H", None),
}


def ensure_schedules(**kwargs) -> None:
    from django_q.models import Schedule

    for name, (func, schedule_type, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": schedule_type, "minutes": minutes, "repeats": -1},
        )
