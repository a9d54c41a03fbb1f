"""`manage.py prune [--keep N] [--older-than D]`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from routerapp.models import Attempt, QueryRecord
from tests.helpers import run_command as run

pytestmark = pytest.mark.django_db


def create_record(age: timedelta, **fields) -> QueryRecord:
    fields.setdefault("request_id", f"req-{QueryRecord.objects.count()}-{age.total_seconds():.0f}")
    return QueryRecord.objects.create(model="m", status="ok", created_at=timezone.now() - age, **fields)


@pytest.fixture
def history():
    # Ages 1 h, 2 d, 10 d and 40 d, the oldest with an attempt.
    records = [
        create_record(timedelta(hours=1)),
        create_record(timedelta(days=2)),
        create_record(timedelta(days=10)),
        create_record(timedelta(days=40)),
    ]
    Attempt.objects.create(query=records[-1], status="ok")
    return records


def ages() -> list[int]:
    return sorted(
        round((timezone.now() - r.created_at) / timedelta(hours=1)) for r in QueryRecord.objects.all()
    )


def test_default_is_the_retention_setting(history, settings):
    settings.ROUTER["HISTORY_RETENTION_DAYS"] = 30
    out, _ = run("prune")
    assert out.startswith("deleted 1 requests")
    assert ages() == [1, 48, 240]
    assert not Attempt.objects.exists()


def test_older_than_takes_days_hours_or_minutes(history):
    run("prune", "--older-than", "5d")
    assert ages() == [1, 48]
    run("prune", "--older-than", "30m")
    assert ages() == []


def test_keep_keeps_the_newest_and_both_rules_must_agree(history):
    run("prune", "--keep", "3")
    assert ages() == [1, 48, 240]
    # Older than 1 day and not among the newest 1: the 2 d and 10 d records.
    out, _ = run("prune", "--keep", "1", "--older-than", "1d")
    assert "deleted 2 requests" in out
    assert ages() == [1]
    out, _ = run("prune", "--keep", "5")
    assert "deleted 0 requests" in out


def test_bad_arguments_exit_with_a_reason():
    with pytest.raises(CommandError, match="--older-than must look like 30d"):
        run("prune", "--older-than", "soon")
    with pytest.raises(CommandError, match="--keep must be zero or a positive"):
        run("prune", "--keep", "-1")


def test_prune_as_a_subprocess(shell):
    done = shell("prune", "--keep", "0")
    assert done.returncode == 0 and done.stdout.startswith("deleted ")
    bad = shell("prune", "--older-than", "yesterday")
    assert (
        bad.returncode == 1
        and bad.stderr.strip() == "CommandError: --older-than must look like 30d, 12h or 90m, got 'yesterday'"
    )
