"""The Batch API through the official openai SDK against the real server; the worker's task run here.

(tests/batches/test_worker_restart.py runs it in a real qcluster instead, and kills it midway.)
"""

from __future__ import annotations

from datetime import timedelta

import openai
import pytest
from django.conf import settings
from django.utils import timezone

from routerapp.models import Batch, BatchItem, QueryRecord
from routerapp.tasks import run_batch
from tests.batches.helpers import jsonl, request_line, results, upload_and_create, worker_thread
from tests.factories import create_key, create_model, create_provider
from tests.helpers import flush_history, fresh_minute, wait_for


@pytest.fixture
def models(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("good", [(provider, "ok")])
    create_model("bad", [(provider, "err=500")], num_retries=0)
    return provider


@pytest.fixture
def client(models, client_for):
    return client_for(create_key(name="batcher"))


def fifty_lines() -> list[dict]:
    # Every fifth request goes to a model whose upstream answers 500.
    return [request_line(f"req-{i}", "bad" if i % 5 == 0 else "good", f"question {i}") for i in range(50)]


def test_a_batch_runs_every_line_and_returns_results_and_errors(client, upstream):
    batch = upload_and_create(client, fifty_lines(), metadata={"job": "nightly"})
    assert batch.status == "validating"
    assert batch.metadata == {"job": "nightly"}

    assert run_batch(batch.id).endswith("completed")

    done = client.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.request_counts.total == 50
    assert (done.request_counts.completed, done.request_counts.failed) == (40, 10)
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    output, failed = results(client, done)
    assert sorted(r["custom_id"] for r in output) == sorted(f"req-{i}" for i in range(50) if i % 5)
    assert sorted(r["custom_id"] for r in failed) == sorted(f"req-{i}" for i in range(0, 50, 5))
    first = output[0]
    assert first["id"].startswith("batch_req_")
    assert first["error"] is None
    assert first["response"]["status_code"] == 200
    assert first["response"]["body"]["object"] == "chat.completion"
    assert first["response"]["body"]["model"] == "good"
    assert failed[0]["response"]["status_code"] == 502
    assert failed[0]["response"]["body"]["error"]["code"] == "provider_unavailable"
    # Each line went upstream once, through route(), and left a history record under its request id.
    assert upstream.hits["ok"] == 40 and upstream.hits["err=500"] == 10
    flush_history()
    request_ids = {r["response"]["request_id"] for r in output + failed}
    assert QueryRecord.objects.filter(request_id__in=request_ids).count() == 50
    # The output file is a file of the key's like any other.
    listed = {f.id for f in client.files.list()}
    assert {done.input_file_id, done.output_file_id, done.error_file_id} <= listed
    assert client.files.retrieve(done.output_file_id).purpose == "batch_output"
    assert [b.id for b in client.batches.list()] == [batch.id]


def test_an_invalid_line_fails_validation_naming_the_line(client):
    lines = [request_line("a", "good"), request_line("b", "good"), request_line("a", "good")]
    lines[1]["body"]["messages"] = "not a list"
    batch = upload_and_create(client, lines)
    run_batch(batch.id)
    failed = client.batches.retrieve(batch.id)
    assert failed.status == "failed" and failed.failed_at
    assert [(e.line, e.param) for e in failed.errors.data] == [(2, "body.messages"), (3, "custom_id")]
    assert "Line 2" in failed.errors.data[0].message
    assert "duplicate custom_id 'a'" in failed.errors.data[1].message
    assert not BatchItem.objects.exists()


def test_a_line_that_is_not_json_is_named(client):
    file = client.files.create(
        file=("x.jsonl", jsonl([request_line("a", "good")]) + b"{oops\n"), purpose="batch"
    )
    batch = client.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    run_batch(batch.id)
    errors = client.batches.retrieve(batch.id).errors.data
    assert [(e.line, e.message) for e in errors] == [(2, "Line 2: not valid JSON.")]


def test_files_over_the_limits_are_refused_with_a_clear_error(client):
    settings.ROUTER["BATCH_MAX_LINES"], lines_before = 5, settings.ROUTER["BATCH_MAX_LINES"]
    settings.ROUTER["BATCH_MAX_FILE_BYTES"], bytes_before = 2000, settings.ROUTER["BATCH_MAX_FILE_BYTES"]
    try:
        with pytest.raises(openai.BadRequestError) as too_many:
            client.files.create(
                file=("x.jsonl", jsonl([request_line(str(i), "good") for i in range(6)])), purpose="batch"
            )
        assert "6 requests; a batch may have at most 5" in too_many.value.message
        with pytest.raises(openai.APIStatusError) as too_big:
            client.files.create(file=("x.jsonl", b"x" * 3000), purpose="batch")
        assert too_big.value.status_code == 413
        assert "limit is 2000 bytes" in too_big.value.message
    finally:
        settings.ROUTER["BATCH_MAX_LINES"], settings.ROUTER["BATCH_MAX_FILE_BYTES"] = (
            lines_before,
            bytes_before,
        )


def test_bad_batch_parameters_are_refused(client):
    file = client.files.create(file=("x.jsonl", jsonl([request_line("a", "good")])), purpose="batch")
    with pytest.raises(openai.BadRequestError) as window:
        client.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="1h")
    assert window.value.body["param"] == "completion_window"
    with pytest.raises(openai.BadRequestError) as endpoint:
        client.batches.create(input_file_id=file.id, endpoint="/v1/embeddings", completion_window="24h")
    assert endpoint.value.body["param"] == "endpoint"
    with pytest.raises(openai.BadRequestError):
        client.files.create(file=("x.jsonl", b'{"a": 1}\n'), purpose="fine-tune")


def test_a_key_sees_only_its_own_files_and_batches(client, client_for):
    batch = upload_and_create(client, [request_line("a", "good")])
    other = client_for(create_key(name="other"))
    assert list(other.files.list()) == [] and list(other.batches.list()) == []
    with pytest.raises(openai.NotFoundError):
        other.batches.retrieve(batch.id)
    with pytest.raises(openai.NotFoundError):
        other.files.content(batch.input_file_id)
    with pytest.raises(openai.NotFoundError):
        other.batches.cancel(batch.id)
    with pytest.raises(openai.NotFoundError):
        other.files.delete(batch.input_file_id)
    assert client.files.delete(batch.input_file_id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(batch.input_file_id)


def test_an_id_with_a_nul_in_it_is_not_found_rather_than_a_server_error(client):
    # PostgreSQL refuses NUL in a text parameter (the fuzz suite found it as a 500 on ?after=).
    batch = upload_and_create(client, [request_line("a", "good")])
    assert [b.id for b in client.batches.list(after="b\x00\x9e")] == [batch.id]
    assert [f.id for f in client.files.list(after="f\x00")] == [batch.input_file_id]
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_\x00")
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve("file-\x00")


def test_cancel_stops_the_lines_not_yet_started(client, upstream, models):
    create_model("slow", [(models, "ok;delay=50")])
    settings.ROUTER["BATCH_CONCURRENCY"], before = 1, settings.ROUTER["BATCH_CONCURRENCY"]
    try:
        batch = upload_and_create(client, [request_line(f"r{i}", "slow") for i in range(30)])
        worker = worker_thread(batch.id)
        wait_for(
            lambda: client.batches.retrieve(batch.id).request_counts.completed >= 2, what="two lines done"
        )
        assert client.batches.cancel(batch.id).status in ("cancelling", "cancelled")
        worker.join(30)
    finally:
        settings.ROUTER["BATCH_CONCURRENCY"] = before
    done = client.batches.retrieve(batch.id)
    assert done.status == "cancelled" and done.cancelled_at
    output, failed = results(client, done)
    assert len(output) == done.request_counts.completed < 30
    assert len(output) + len(failed) == 30
    assert {r["error"]["code"] for r in failed} == {"batch_cancelled"}
    # What was cancelled never went upstream.
    assert upstream.hits["ok;delay=50"] == len(output)


def test_cancelling_a_batch_no_worker_has_started_cancels_it_at_once(client):
    batch = upload_and_create(client, [request_line("a", "good")])
    cancelled = client.batches.cancel(batch.id)
    assert cancelled.status == "cancelled"
    assert run_batch(batch.id).endswith("finished or held by another worker")
    with pytest.raises(openai.APIStatusError) as again:
        client.batches.cancel(batch.id)
    assert again.value.status_code == 409


def test_a_batch_that_runs_out_of_budget_stops_with_the_rest_marked_failed(models, client_for, upstream):
    create_model("pricey", [(models, "ok", {"input_cost_per_mtok": 1_000_000, "output_cost_per_mtok": 0})])
    client = client_for(create_key(name="thrifty", budget_usd=1))
    settings.ROUTER["BATCH_CONCURRENCY"], before = 1, settings.ROUTER["BATCH_CONCURRENCY"]
    try:
        batch = upload_and_create(client, [request_line(f"r{i}", "pricey") for i in range(10)])
        run_batch(batch.id)
    finally:
        settings.ROUTER["BATCH_CONCURRENCY"] = before
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 9)
    output, failed = results(client, done)
    assert [r["custom_id"] for r in output] == ["r0"]
    # The line refused by the budget has its 429; the ones after it never ran, and say why.
    assert failed[0]["response"]["status_code"] == 429
    assert [r["error"]["code"] for r in failed[1:]] == ["budget_exceeded"] * 8
    assert upstream.hits["ok"] == 1
    assert any(e.code == "budget_exceeded" for e in done.errors.data)
    assert Batch.objects.get(pk=batch.id).items.filter(status="pending").count() == 0


def test_a_line_over_the_keys_rate_limit_waits_instead_of_failing(models, client_for):
    fresh_minute()  # the key's limit counts within one minute window
    client = client_for(create_key(name="metered", rpm_limit=3))
    settings.ROUTER["BATCH_CONCURRENCY"], before = 1, settings.ROUTER["BATCH_CONCURRENCY"]
    try:
        batch = upload_and_create(client, [request_line(f"r{i}", "good") for i in range(5)])
        worker = worker_thread(batch.id)

        def refused_by_the_limit():
            flush_history()
            return QueryRecord.objects.filter(error_type="KeyRateLimitError").exists()

        # Three lines fill the key's minute; the fourth is refused by the limit and waits for the
        # next minute rather than failing.
        wait_for(refused_by_the_limit, what="the fourth line to meet the rate limit")
        waiting = client.batches.retrieve(batch.id)
        assert (waiting.status, waiting.request_counts.completed, waiting.request_counts.failed) == (
            "in_progress",
            3,
            0,
        )
        # A cancel does not wait out the limit: the waiting line is simply not run.
        client.batches.cancel(batch.id)
        worker.join(30)
        assert not worker.is_alive()
    finally:
        settings.ROUTER["BATCH_CONCURRENCY"] = before
    done = client.batches.retrieve(batch.id)
    output, failed = results(client, done)
    assert done.status == "cancelled" and len(output) == 3
    assert [r["error"]["code"] for r in failed] == ["batch_cancelled", "batch_cancelled"]


def test_a_batch_past_its_window_expires_with_the_lines_not_run(client, upstream):
    batch = upload_and_create(client, [request_line(f"r{i}", "good") for i in range(3)])
    Batch.objects.filter(pk=batch.id).update(expires_at=timezone.now() - timedelta(minutes=1))
    run_batch(batch.id)
    expired = client.batches.retrieve(batch.id)
    assert expired.status == "expired" and expired.expired_at
    output, failed = results(client, expired)
    assert output == [] and [r["error"]["code"] for r in failed] == ["batch_expired"] * 3
    assert upstream.hits["ok"] == 0


def test_a_long_batch_goes_on_in_new_tasks_until_every_line_is_done(client, upstream):
    settings.ROUTER["BATCH_SLICE_S"], slice_before = 0, settings.ROUTER["BATCH_SLICE_S"]
    settings.ROUTER["BATCH_CONCURRENCY"], before = 1, settings.ROUTER["BATCH_CONCURRENCY"]
    try:
        batch = upload_and_create(client, [request_line(f"r{i}", "good") for i in range(3)])
        outcomes = [run_batch(batch.id) for _ in range(4)]
    finally:
        settings.ROUTER["BATCH_SLICE_S"], settings.ROUTER["BATCH_CONCURRENCY"] = slice_before, before
    # Each task did at least one line and queued the rest; the one with the last line finished the
    # batch, and a task queued after that finds nothing to do.
    assert [o.split(": ", 1)[1] for o in outcomes] == [
        "continues in a new task",
        "continues in a new task",
        "completed",
        "finished or held by another worker",
    ]
    assert client.batches.retrieve(batch.id).request_counts.completed == 3
    assert upstream.hits["ok"] == 3
