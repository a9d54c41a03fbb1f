"""The group-commit writer: batches by time and by size, flushes on shutdown, stores spans."""

from __future__ import annotations

import time

import pytest

from routerapp.history import HistoryWriter
from routerapp.models import QueryRecord, Span
from tests.conftest import flush_history
from tests.factories import create_key, create_model, create_provider, record_draft


class RecordingWriter(HistoryWriter):
    """The real writer, noting when each batch landed and how big it was."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[float, int]] = []

    def _write(self, batch):
        super()._write(batch)
        self.batches.append((time.monotonic(), len(batch)))


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


def wait_for(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_trickle_is_written_as_one_batch_after_the_flush_interval(history_writer):
    writer = history_writer(flush_s=0.25, rows=200)
    submitted = time.monotonic()
    for _ in range(5):
        writer.submit(record_draft())
    wait_for(lambda: writer.written == 5)
    landed, size = writer.batches[0]
    assert size == 5 and len(writer.batches) == 1
    assert 0.2 <= landed - submitted < 0.25 + 0.5  # waited for company, then no longer than that
    assert QueryRecord.objects.count() == 5


def test_a_burst_is_written_in_batches_of_the_row_limit_without_waiting(history_writer):
    writer = history_writer(flush_s=30, rows=50)
    submitted = time.monotonic()
    for _ in range(120):
        writer.submit(record_draft())
    wait_for(lambda: len(writer.batches) >= 2)  # `written` moves before RecordingWriter notes the batch
    assert [size for _, size in writer.batches[:2]] == [50, 50]
    assert writer.batches[1][0] - submitted < 2  # full batches do not wait for the 30 s interval
    assert writer.pending() == 20


def test_flush_writes_everything_queued_before_returning(history_writer):
    writer = history_writer(flush_s=30, rows=200)
    for _ in range(30):
        writer.submit(record_draft())
    writer.flush()
    assert writer.pending() == 0
    assert QueryRecord.objects.count() == 30


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
