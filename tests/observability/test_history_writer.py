"""The group-commit writer: batches by time and by size, flushes on shutdown, stores spans."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, models, transaction

from routerapp.models import ApiKey, Attempt, Deployment, QueryRecord, Span
from routerapp.observability.drafts import AttemptDraft
from routerapp.observability.tracing import Trace
from routerapp.observability.writer import DEFER_ROWS, DEFER_S, HistoryWriter, write_batch
from tests.factories import create_key, create_model, create_provider, record_draft
from tests.helpers import flush_history, wait_for


class RecordingWriter(HistoryWriter):
    """The real writer, noting each batch's size and each pause it takes for company.

    A pause lasts until the test lets it end (`resume()`) or a full batch cuts it short, as the
    interval would: the test, not the wall clock, decides when the interval is over.
    """

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []
        self.pauses: list[float] = []
        self._resume = threading.Event()

    def _pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        while not (self._resume.is_set() or self._full.is_set() or self._stopping):
            time.sleep(0.001)
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def _write(self, batch):
        super()._write(batch)
        self.batches.append(len(batch))


@pytest.fixture
def history_writer(settings, transactional_db):
    made = []

    def make(*, flush_s: float, rows: int) -> RecordingWriter:
        settings.ROUTER = {**settings.ROUTER, "HISTORY_FLUSH_S": flush_s, "HISTORY_FLUSH_ROWS": rows}
        made.append(RecordingWriter())
        return made[-1]

    yield make
    for w in made:
        w.flush()
        w._stopping = True  # the thread leaves its loop within a second


def test_a_trickle_is_written_as_one_batch_after_the_flush_interval(history_writer):
    writer = history_writer(flush_s=0.25, rows=200)
    for _ in range(5):
        writer.submit(record_draft())
    wait_for(lambda: writer.pauses == [0.25])  # the writer waits the interval for company
    assert writer.batches == [] and QueryRecord.objects.count() == 0
    writer.resume()  # the interval is over
    wait_for(lambda: writer.batches == [5])
    assert QueryRecord.objects.count() == 5


def test_a_burst_is_written_in_batches_of_the_row_limit_without_waiting(history_writer):
    writer = history_writer(flush_s=30, rows=50)
    for _ in range(120):
        writer.submit(record_draft())
    # Nobody ends the 30 s pauses: only full batches cut them short.
    wait_for(lambda: len(writer.batches) >= 2)
    assert writer.batches[:2] == [50, 50]
    assert writer.pending() == 20


def test_flush_writes_everything_queued_before_returning(history_writer):
    writer = history_writer(flush_s=30, rows=200)
    for _ in range(30):
        writer.submit(record_draft())
    writer.flush()
    assert writer.pending() == 0
    assert QueryRecord.objects.count() == 30


def test_a_flush_inside_a_transaction_leaves_its_connection_usable(history_writer):
    # Feedback on an answer still in the queue flushed from inside its transaction, and the
    # flush's connection recycling closed that transaction's connection: the next query failed.
    writer = history_writer(flush_s=30, rows=200)
    writer._thread = threading.Thread(target=lambda: None)  # never started: flush() does the writing
    writer.submit(record_draft())
    with transaction.atomic():
        writer.flush()
        assert QueryRecord.objects.count() == 1


def as_stored(model, rows_of: str, value) -> list[dict]:
    """The rows' columns as the database holds them (JSON parsed; ids and request_id left out)."""
    fields = [f for f in model._meta.concrete_fields if f.name not in ("id", "query", "request_id")]
    quote = connection.ops.quote_name
    sql = "SELECT {} FROM {} WHERE {} = %s ORDER BY {}".format(
        ", ".join(quote(f.column) for f in fields),
        quote(model._meta.db_table),
        quote(model._meta.get_field(rows_of).column),
        quote(model._meta.pk.column),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value])
        rows = cursor.fetchall()
    return [
        {
            f.name: json.loads(v) if isinstance(f, models.JSONField) and isinstance(v, str) else v
            for f, v in zip(fields, row, strict=True)
        }
        for row in rows
    ]


def test_a_batch_is_stored_exactly_as_the_orm_stores_it(db):
    provider = create_provider()
    create_model("gpt-test", [(provider, "a"), (provider, "b")])
    first, second = Deployment.objects.order_by("id")
    key, _ = ApiKey.create_key("k")
    trace = Trace(started=0.0)
    trace.add("authenticate", 0.0001, 0.0004)
    select = trace.add("select", 0.0005, 0.0006, attributes={"model": "gpt-test", "eligible": 2})
    trace.add(  # still open when the request ended: lasts until its end
        "attempt",
        0.0007,
        status="error",
        parent=select.position,
        attributes={"deployment": "up/a", "error": "Überlastet ✗", "codes": [503], "x": {"ok": None}},
    )
    draft = record_draft(
        api_key_id=key.id,
        deployment_id=second.id,
        latency_ms=123.456,
        ttft_ms=None,
        overhead_ms=0.789,
        prompt_tokens=12,
        completion_tokens=34,
        cost_usd=1.5e-05,
        skipped=[{"deployment": first.id, "reason": "cooldown"}, {"deployment": 7, "reason": "rate_limited"}],
        fallback_used=True,
        request_body='{"messages": [{"content": "héllo — 你好 🚀"}]}',
        response_body='Grüße ✓\n"quoted" \\ 100%',
        attempts=[
            AttemptDraft(
                first.id, 0, "error", 0.7, 50.25, 503, "ProviderUnavailableError", "Überlastet: 503 ✗"
            ),
            AttemptDraft(second.id, 0, "ok", 60.0, 63.2),
        ],
        created_at=datetime(2026, 11, 25, 22, 29, 38, 123456, tzinfo=UTC),
        trace=trace,
    )
    write_batch([draft])

    # The same request saved through the ORM, as the writer did before it went around it.
    same = ["api_key_id", "model", "deployment_id", "status", "http_status", "error_type", "error_message"]
    same += ["stream", "latency_ms", "ttft_ms", "overhead_ms", "prompt_tokens", "completion_tokens"]
    same += ["cost_usd", "skipped", "fallback_used", "request_body", "response_body", "created_at"]
    reference = QueryRecord.objects.create(
        request_id="reference", attempts_count=2, **{name: getattr(draft, name) for name in same}
    )
    for a in draft.attempts:
        Attempt.objects.create(query=reference, created_at=draft.created_at, **asdict(a))
    for s in trace.spans:
        duration = s.duration_ms if s.duration_ms is not None else draft.latency_ms - s.start_ms
        Span.objects.create(
            query=reference,
            position=s.position,
            parent=s.parent,
            name=s.name,
            start_ms=s.start_ms,
            duration_ms=duration,
            status=s.status,
            attributes=s.attributes,
        )

    record = QueryRecord.objects.get(request_id=draft.request_id)
    assert as_stored(QueryRecord, "id", record.id) == as_stored(QueryRecord, "id", reference.id)
    assert as_stored(Attempt, "query", record.id) == as_stored(Attempt, "query", reference.id)
    assert as_stored(Span, "query", record.id) == as_stored(Span, "query", reference.id)
    assert len(as_stored(Span, "query", record.id)) == 3
    assert record.ttft_ms is None and record.request_body == draft.request_body
    assert record.skipped == draft.skipped and record.created_at == draft.created_at


def test_each_record_of_a_big_batch_gets_its_own_attempts_and_spans(db):
    drafts = []
    for i in range(120):  # more rows than one INSERT takes on SQLite
        trace = Trace(started=0.0)
        trace.add(f"span-{i}", 0.0, 0.001)
        attempts = [
            AttemptDraft(None, retry, "error", retry, 1.0, error_message=f"r{i}") for retry in range(i % 3)
        ]
        drafts.append(record_draft(request_id=f"req-{i}", attempts=attempts, trace=trace))
    write_batch(drafts)

    for record in QueryRecord.objects.prefetch_related("attempts", "spans"):
        i = int(record.request_id.removeprefix("req-"))
        assert record.attempts_count == len(record.attempts.all()) == i % 3
        assert {a.error_message for a in record.attempts.all()} <= {f"r{i}"}
        assert [s.name for s in record.spans.all()] == [f"span-{i}"]
    assert QueryRecord.objects.count() == 120


@pytest.fixture
def routed(upstream, live_url):
    provider = create_provider(name="up", kind="openai", base_url=upstream.base_url)
    create_model("gpt-test", [(provider, "ok")])
    create_model("flaky", [(provider, "err=500")], fallbacks=["gpt-test"], num_retries=1)
    return create_key()


def spans_of(request_id: str) -> list[Span]:
    return list(Span.objects.filter(query__request_id=request_id).order_by("position"))


def test_each_request_leaves_its_spans_with_the_record(routed, client_for):
    reply = client_for(routed).chat.completions.with_raw_response.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    )
    flush_history()
    spans = spans_of(reply.headers["x-request-id"])
    assert [s.name for s in spans] == ["authenticate", "select", "attempt"]
    record = QueryRecord.objects.get(request_id=reply.headers["x-request-id"])
    attempt = record.attempts.get()
    assert spans[2].attributes["deployment"] == "up/ok"
    assert spans[2].start_ms == pytest.approx(attempt.start_ms, abs=0.01)
    assert all(s.start_ms >= 0 and s.start_ms + s.duration_ms <= record.latency_ms + 0.01 for s in spans)


def test_failed_attempts_and_streams_are_spans_too(routed, client_for):
    stream = client_for(routed).chat.completions.with_raw_response.create(
        model="flaky", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    list(stream.parse())
    flush_history()
    spans = spans_of(stream.headers["x-request-id"])
    names = [(s.name, s.status) for s in spans]
    assert names[0] == ("authenticate", "ok")
    assert names.count(("attempt", "error")) == 2  # the first try and its one retry
    assert names[-2:] == [("attempt", "ok"), ("stream", "ok")]
    assert spans[-1].attributes["chunks"] > 0


# defer(): what only a record needs, run after its answer, in batches while the process is busy.


def test_a_busy_process_runs_deferred_bookkeeping_as_one_batch_detections_first(history_writer):
    writer = history_writer(flush_s=60, rows=1000)
    order: list[str] = []

    async def serve_three() -> None:
        writer.serving = 3  # as the gate counts them: three requests in flight
        for i in range(3):
            writer.defer(
                record_draft(request_id=f"batched-{i}"),
                lambda i=i: order.append(f"finish {i}"),
                lambda i=i: order.append(f"detect {i}"),
            )
        assert order == [] and writer.pending() == 3  # none runs on the loop's next turn
        await asyncio.sleep(0)
        assert order == []
        await asyncio.sleep(DEFER_S * 3)
        writer.serving = 0

    asyncio.run(serve_three())
    assert order == ["detect 0", "detect 1", "detect 2", "finish 0", "finish 1", "finish 2"]
    writer.flush()
    assert set(QueryRecord.objects.values_list("request_id", flat=True)) == {
        "batched-0",
        "batched-1",
        "batched-2",
    }


def test_a_full_batch_runs_without_waiting_for_its_timer(history_writer):
    writer = history_writer(flush_s=60, rows=1000)
    ran: list[int] = []

    async def serve_many() -> None:
        writer.serving = 2
        for i in range(DEFER_ROWS):
            writer.defer(record_draft(request_id=f"full-{i}"), lambda i=i: ran.append(i))
        await asyncio.sleep(0)
        assert ran == list(range(DEFER_ROWS))
        writer.serving = 0

    asyncio.run(serve_many())


def test_a_request_served_alone_has_its_bookkeeping_on_the_next_turn(history_writer):
    writer = history_writer(flush_s=60, rows=1000)
    ran: list[str] = []

    async def serve_one() -> None:
        writer.serving = 1  # the request itself
        writer.defer(
            record_draft(request_id="alone"), lambda: ran.append("finish"), lambda: ran.append("detect")
        )
        assert ran == []
        await asyncio.sleep(0)
        assert ran == ["detect", "finish"]
        writer.serving = 0

    asyncio.run(serve_one())


def test_bookkeeping_left_by_a_stopped_loop_is_run_by_flush(history_writer):
    """A loop that ends before a batch's timer fires (a test's asyncio.run, a server shutting
    down) leaves no record behind: flush() runs the batch itself."""
    writer = history_writer(flush_s=60, rows=1000)
    ran: list[str] = []

    async def answer_and_leave() -> None:
        writer.serving = 5
        writer.defer(
            record_draft(request_id="stranded"), lambda: ran.append("finish"), lambda: ran.append("detect")
        )
        writer.serving = 0

    asyncio.run(answer_and_leave())
    assert ran == [] and writer.pending() == 1
    writer.flush()
    assert ran == ["detect", "finish"]
    assert QueryRecord.objects.filter(request_id="stranded").exists()


def test_a_flush_on_the_loop_runs_its_batch_at_once(history_writer):
    writer = history_writer(flush_s=60, rows=1000)
    ran: list[str] = []

    async def answer_and_flush() -> None:
        writer.serving = 5
        writer.defer(record_draft(request_id="flushed"), lambda: ran.append("finish"))
        await sync_to_async(lambda: None)()  # the loop turns, the batch's timer has not fired
        assert ran == []
        writer.flush()
        assert ran == ["finish"]
        writer.serving = 0

    asyncio.run(answer_and_flush())


def test_a_failing_detection_is_logged_by_its_finish_and_the_request_still_recorded(history_writer, caplog):
    writer = history_writer(flush_s=60, rows=1000)

    def broken() -> None:
        raise ValueError("the detector broke")

    async def serve() -> None:
        writer.serving = 2
        writer.defer(record_draft(request_id="broken"), broken, broken)
        writer.defer(record_draft(request_id="fine"), lambda: None)
        await asyncio.sleep(DEFER_S * 3)
        writer.serving = 0

    asyncio.run(serve())
    writer.flush()
    assert set(QueryRecord.objects.values_list("request_id", flat=True)) == {"broken", "fine"}
    assert "the bookkeeping of request broken failed" in caplog.text
