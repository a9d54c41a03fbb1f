"""`manage.py batch submit FILE.jsonl | status ID | results ID`, on the batches core."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError

from routerapp.models import ApiKey, Batch, File
from routerapp.tasks import run_batch
from tests.batches.helpers import jsonl, parse_jsonl, request_line, worker_thread
from tests.factories import create_key, create_model, create_provider
from tests.helpers import run_command as run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def models(upstream):
    provider = create_provider(name="up", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    create_model("broken", [(provider, "err=500")], num_retries=0)


def test_submit_run_status_and_results(models, tmp_path):
    source = tmp_path / "requests.jsonl"
    source.write_bytes(
        jsonl([request_line("a", "gpt-test"), request_line("b", "broken"), request_line("c", "gpt-test")])
    )
    create_key(name="team")
    out, err = run("batch", "submit", str(source), "--key", "team", "--metadata", "job=nightly")
    batch_id = out.strip().splitlines()[-1]
    assert f"as batch {batch_id}" in err
    batch = Batch.objects.get(pk=batch_id)
    assert batch.api_key == ApiKey.objects.get(name="team") and batch.metadata == {"job": "nightly"}
    assert File.objects.get(pk=batch.input_file_id).filename == "requests.jsonl"

    with pytest.raises(CommandError, match="still validating"):
        run("batch", "results", batch_id)
    run_batch(batch_id)  # what a django-q2 worker does with the queued task

    status, _ = run("batch", "status", batch_id)
    assert status.splitlines()[0] == f"{batch_id}: completed, 3/3 done (2 completed, 1 failed)"
    assert "output file" in status and "error file" in status
    as_json = json.loads(run("batch", "status", batch_id, "--json")[0])
    assert as_json["request_counts"] == {"total": 3, "completed": 2, "failed": 1}
    output = parse_jsonl(run("batch", "results", batch_id)[0])
    assert sorted(line["custom_id"] for line in output) == ["a", "c"]
    assert all(line["response"]["status_code"] == 200 for line in output)
    failed = parse_jsonl(run("batch", "results", batch_id, "--errors")[0])
    assert [line["custom_id"] for line in failed] == ["b"]


def test_bad_input_exits_with_a_reason(models, tmp_path):
    create_key(name="team")
    with pytest.raises(CommandError, match="cannot read it"):
        run("batch", "submit", str(tmp_path / "missing.jsonl"), "--key", "team")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(CommandError, match="The file is empty"):
        run("batch", "submit", str(empty), "--key", "team")
    with pytest.raises(CommandError, match="no active key named 'ghost'"):
        run("batch", "submit", str(empty), "--key", "ghost")
    with pytest.raises(CommandError, match="--metadata takes K=V"):
        run("batch", "submit", str(empty), "--key", "team", "--metadata", "oops")
    with pytest.raises(CommandError, match="No such batch|does not exist|not found|No batch"):
        run("batch", "status", "batch_nope")


def test_wait_shows_progress_until_a_worker_finishes_it(models, tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    source.write_bytes(
        jsonl([request_line(f"r{i}", "gpt-test") for i in range(5)] + [request_line("x", "broken")])
    )
    started = []

    def worker(batch_id: str) -> None:  # the queued task, picked up by a worker thread
        started.append(worker_thread(batch_id))

    monkeypatch.setattr("routerapp.batches.runner.enqueue", worker)
    create_key(name="team")
    out, err = run("batch", "submit", str(source), "--key", "team", "--wait")
    started[0].join(30)
    assert "6/6" in err and "completed, 6/6 done (5 completed, 1 failed)" in err
    assert Batch.objects.get(pk=out.strip()).status == "completed"


def test_batch_as_a_subprocess(shell, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl([request_line("r1", "gpt-test")]))
    assert shell("apikey", "create", "batch-team").returncode == 0
    done = shell("batch", "submit", str(source), "--key", "batch-team")
    assert done.returncode == 0, done.stderr
    batch_id = done.stdout.strip()
    status = shell("batch", "status", batch_id)
    assert status.returncode == 0 and status.stdout.startswith(f"{batch_id}: validating")
    early = shell("batch", "results", batch_id)
    assert early.returncode == 1 and early.stderr.strip().splitlines() == [
        f"CommandError: Batch '{batch_id}' is still validating; results come when it has finished."
    ]
