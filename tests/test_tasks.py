"""django-q2 tasks: scheduled after migrate, and each runs its core function through the queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, result

from routerapp.models import Deployment, QueryRecord
from routerapp.tasks import SCHEDULES, ensure_schedules
from tests.factories import create_model, create_provider

pytestmark = pytest.mark.django_db


def run_task(func: str, *args):
    # sync=True runs the task through django-q2's own machinery in this process and saves its result.
    task_id = async_task(func, *args, sync=True)
    return result(task_id)


def test_schedules_exist_and_are_idempotent():
    ensure_schedules()
    ensure_schedules()
    assert set(Schedule.objects.values_list("name", flat=True)) >= set(SCHEDULES)
    assert Schedule.objects.filter(name="router: health checks").count() == 1


def test_health_check_task_records_each_deployments_health():
    healthy = create_provider(name="sim", kind="simulated", options={"latency_ms": 1})
    broken = create_provider(name="down", kind="simulated", options={"latency_ms": 1, "fail_rate": 1.0})
    create_model("m", [(healthy, "a"), (broken, "b")])
    assert run_task("routerapp.tasks.run_health_checks") == "2 checked, 1 unhealthy"
    status = dict(Deployment.objects.values_list("upstream_model", "health_status"))
    assert status == {"a": "healthy", "b": "unhealthy"}


def test_prune_task_deletes_only_history_older_than_the_retention():
    old = QueryRecord.objects.create(request_id="old", model="m", status="ok")
    QueryRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    QueryRecord.objects.create(request_id="new", model="m", status="ok")
    assert run_task("routerapp.tasks.prune_history", 30) == "deleted 1 requests older than 30 days"
    assert list(QueryRecord.objects.values_list("request_id", flat=True)) == ["new"]


def test_an_operators_edit_to_a_schedule_survives_the_next_migrate():
    ensure_schedules()
    Schedule.objects.filter(name="router: health checks").update(minutes=5)
    ensure_schedules()
    assert Schedule.objects.get(name="router: health checks").minutes == 5


def test_serve_lists_the_schedules_the_workers_run():
    from routerapp.tasks import describe_schedules

    ensure_schedules()
    lines = describe_schedules()
    assert any(line.startswith("router: health checks: minutes (1 min)") for line in lines)
    assert any(line.startswith("router: resume batches") for line in lines)
    assert any(line.startswith("router: statistics rollups: daily") for line in lines)


def test_the_statistics_task_drops_only_rollups_past_the_retention():
    from routerapp.models import StatsRollup

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    StatsRollup.objects.create(dimension="all", value="", hour=now - timedelta(days=500))
    StatsRollup.objects.create(dimension="all", value="", hour=now)
    assert run_task("routerapp.tasks.compact_statistics", 400).startswith("deleted 1 hourly rollups")
    assert StatsRollup.objects.get().hour == now


def test_a_task_may_run_a_whole_batch_slice_and_its_last_requests_deadline():
    # The django-q2 timeout kills a task mid-flight: it must outlast a slice plus the deadline of a
    # request started at the slice's last moment, and a task is handed on only after it (retry).
    from routerapp import settings as router_settings

    q, router = router_settings.Q_CLUSTER, router_settings.ROUTER
    assert q["timeout"] >= router["BATCH_SLICE_S"] + router["REQUEST_DEADLINE_S"]
    assert q["retry"] > q["timeout"]
