"""django-q2 entry points. Tasks are an interface: they take ids, call one core function, return a summary.

Scheduled work (health checks, resuming batches, statistics upkeep, pruning) is declared in SCHEDULES
and kept in the database by `ensure_schedules`, which runs after every `migrate`. An operator may
change a schedule in the admin (django-q2's Schedule): `ensure_schedules` only creates missing ones.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from routerapp.conf import router_settings

logger = logging.getLogger(__name__)


def run_health_checks(deployment_ids: list[int] | None = None) -> str:
    from routerapp.routing.health import check_deployments

    results = check_deployments(deployment_ids)
    unhealthy = [r for r in results if not r.ok]
    summary = f"{len(results)} checked, {len(unhealthy)} unhealthy"
    logger.info("health checks: %s", summary)  # `serve` shows the schedules working
    return summary


def prune_history(days: int | None = None) -> str:
    """Delete history older than ROUTER["HISTORY_RETENTION_DAYS"] (or `days`)."""
    from routerapp.retention import prune_history as prune

    keep_days: int = days or router_settings()["HISTORY_RETENTION_DAYS"]
    deleted = prune(older_than=timedelta(days=keep_days))
    return f"deleted {deleted} requests older than {keep_days} days"


def run_batch(batch_id: str) -> str:
    from routerapp.batches import runner

    return runner.run(batch_id)


def resume_batches() -> str:
    from routerapp.batches import runner

    resumed = runner.resume_stale()
    if resumed:
        logger.info("batches queued again: %s", ", ".join(resumed))
    return f"{len(resumed)} batches queued again"


def resume_batches_on_spawn(**kwargs) -> None:
    """A worker process started (after a restart, say): pick up batches whose worker died."""
    try:
        resume_batches()
    except Exception:  # a worker must start even when the database is briefly unavailable
        logger.exception("could not resume batches")


def compact_statistics(days: int | None = None) -> str:
    """Drop hourly statistics and error groups older than ROUTER["STATS_RETENTION_DAYS"]."""
    from routerapp.models import ErrorGroup, StatsRollup

    days = days or router_settings()["STATS_RETENTION_DAYS"]
    cutoff = timezone.now() - timedelta(days=days)
    hours = StatsRollup.objects.filter(hour__lt=cutoff).delete()[0]
    groups = ErrorGroup.objects.filter(last_seen__lt=cutoff).delete()[0]
    return f"deleted {hours} hourly rollups and {groups} error groups older than {days} days"


def learn_patterns() -> str:
    """Rebuild the learned-routing patterns from the latest scored answers."""
    from routerapp.optimizer.rebuild import rebuild_patterns

    return str(rebuild_patterns())


def judge_answers(limit: int = 50) -> str:
    """Grade the answers sampled for judge scoring (ModelGroup.judge_sample_rate)."""
    from routerapp.optimizer.judge import judge_pending

    return judge_pending(limit)


# name -> (function path, schedule type, minutes); schedule types are django_q Schedule constants.
SCHEDULES = {
    "router: health checks": ("routerapp.tasks.run_health_checks", "I", 1),
    "router: resume batches": ("routerapp.tasks.resume_batches", "I", 1),
    "router: statistics rollups": ("routerapp.tasks.compact_statistics", "D", None),
    "router: prune history": ("routerapp.tasks.prune_history", "H", None),
    "router: learn patterns": ("routerapp.tasks.learn_patterns", "I", 1),
    "router: judge answers": ("routerapp.tasks.judge_answers", "I", 1),
}


def describe_schedules() -> list[str]:
    """One line per schedule, for `serve` to show what the workers will run."""
    from django_q.models import Schedule

    return [
        f"{s.name}: {s.get_schedule_type_display().lower()}"
        + (f" ({s.minutes} min)" if s.schedule_type == Schedule.MINUTES else "")
        + (f", next {s.next_run:%H:%M:%S}" if s.next_run else "")
        for s in Schedule.objects.order_by("name")
    ]


def ensure_schedules(**kwargs) -> None:
    """Create the schedules that are missing; leave the ones an operator may have edited alone."""
    from django_q.models import Schedule

    for name, (func, schedule_type, minutes) in SCHEDULES.items():
        Schedule.objects.get_or_create(
            name=name,
            defaults={"func": func, "schedule_type": schedule_type, "minutes": minutes, "repeats": -1},
        )
