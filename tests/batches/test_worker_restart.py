"""A real django-q2 cluster runs the batch; it is killed midway (SIGKILL, no goodbye) and started
again: the batch continues where it was, and no line is lost or answered twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone
from django_q.models import Schedule

from routerapp.models import Batch, BatchItem
from tests.batches.helpers import request_line, results, upload_and_create
from tests.factories import create_key, create_model, create_provider
from tests.helpers import database_url, wait_for

ROOT = Path(__file__).resolve().parents[2]


class Cluster:
    """`manage.py qcluster` in its own process group, so a kill takes its workers too."""

    def __init__(self, log: Path) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "Q_WORKERS": "1",
            "ROUTER_BATCH_LEASE_S": "2",
            "ROUTER_BATCH_CONCURRENCY": "4",
            "ROUTER_CONFIG_CHECK_S": "0",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def cluster_log(tmp_path):
    return tmp_path / "qcluster.log"


def test_a_worker_killed_mid_batch_is_replaced_and_the_batch_completes_exactly_once(
    upstream, live_url, client_for, cluster_log
):
    # Only the batch's traffic reaches the fake upstream: no scheduled health probes.
    Schedule.objects.all().delete()
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("good", [(provider, "ok;delay=100")])
    create_model("bad", [(provider, "err=500;delay=100")], num_retries=0)
    client = client_for(create_key(name="batcher"))
    lines = [request_line(f"req-{i}", "bad" if i % 5 == 0 else "good", f"q{i}") for i in range(50)]
    batch = upload_and_create(client, lines)

    first = Cluster(cluster_log)
    try:
        wait_for(
            lambda: client.batches.retrieve(batch.id).request_counts.completed >= 8, what="a few lines done"
        )
        first.kill()
    finally:
        first.stop()
    at_kill = client.batches.retrieve(batch.id)
    assert at_kill.status == "in_progress"
    assert at_kill.request_counts.completed + at_kill.request_counts.failed < 50
    # The dead worker's lease lapses; then a new cluster picks the batch up on its own.
    wait_for(lambda: Batch.objects.get(pk=batch.id).lease_until < timezone.now(), what="the lease to lapse")

    second = Cluster(cluster_log)
    try:
        done = wait_for(
            lambda: (b := client.batches.retrieve(batch.id)).status == "completed" and b,
            timeout=90,
            what="the batch to complete",
        )
    finally:
        second.stop()

    assert (done.request_counts.completed, done.request_counts.failed) == (40, 10)
    output, failed = results(client, done)
    ids = [r["custom_id"] for r in output + failed]
    assert sorted(ids) == sorted(f"req-{i}" for i in range(50))  # each exactly once
    assert {r["custom_id"] for r in failed} == {f"req-{i}" for i in range(0, 50, 5)}
    # Every upstream call is accounted for by an item's run count: a line in flight when the worker
    # died ran again, and says so (runs == 2); none ran twice without that record. (A line the dead
    # worker had started but not yet sent counts a run without a call, hence <=.)
    runs = {item.custom_id: item.runs for item in BatchItem.objects.filter(batch_id=batch.id)}
    good_runs = sum(n for cid, n in runs.items() if int(cid.split("-")[1]) % 5)
    bad_runs = sum(n for cid, n in runs.items() if int(cid.split("-")[1]) % 5 == 0)
    assert 40 <= upstream.hits["ok;delay=100"] <= good_runs
    assert 10 <= upstream.hits["err=500;delay=100"] <= bad_runs
    assert all(1 <= n <= 2 for n in runs.values())
    assert sum(n - 1 for n in runs.values()) <= 4  # at most the requests in flight at the kill
