"""The group-commit writer for QueryRecord and Attempt rows.

Requests never write to the database themselves: they hand a finished `RecordDraft` to the
process's writer, whose thread bulk-inserts every ROUTER["HISTORY_FLUSH_S"] seconds or
ROUTER["HISTORY_FLUSH_ROWS"] rows, whichever comes first. A graceful shutdown (SIGTERM, Ctrl-C)
flushes what is queued; a hard kill loses at most one flush interval.

Each batch also carries the requests' spans, the hourly statistics and the upstream error groups
(routerapp.rollups) in the same transaction, and feeds the Prometheus counters (routerapp.metrics).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from routerapp import metrics, rollups
from routerapp.tracing import Trace, current_trace, save_spans

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class AttemptDraft:
    deployment_id: int | None
    retry: int
    status: str
    start_ms: float
    latency_ms: float
    http_status: int | None = None
    error_type: str = ""
    error_message: str = ""


@dataclass(slots=True)
class RecordDraft:
    """Everything one request leaves behind, collected while it runs."""

    request_id: str
    model: str
    api_key_id: int | None
    stream: bool = False
    status: str = "ok"
    http_status: int = 200
    error_type: str = ""
    error_message: str = ""
    deployment_id: int | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    overhead_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    fallback_used: bool = False
    request_body: str = ""
    response_body: str = ""
    attempts: list[AttemptDraft] = field(default_factory=list)
    created_at: Any = field(default_factory=timezone.now)
    # Extension point for later layers (spans, optimizer facts): callables run in the writer
    # thread with the saved QueryRecord, after the batch is inserted.
    extras: list[Any] = field(default_factory=list)
    # The request's spans (routerapp.tracing), stored as Span rows in the same batch.
    trace: Trace | None = field(default_factory=current_trace)

    def fail(self, error) -> None:
        self.status = "error"
        self.http_status = error.status
        self.error_type = error.error_type
        self.error_message = error.message[:2000]


def body_for_storage(text: str) -> str:
    mode = settings.ROUTER["STORE_BODIES"]
    if mode == "off":
        return ""
    if mode == "truncated":
        limit = settings.ROUTER["BODY_TRUNCATE_CHARS"]
        return text if len(text) <= limit else text[:limit] + "…"
    return text


class HistoryWriter:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[RecordDraft] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stopping = False
        self.written = 0
        # Submitted but not yet written, including a batch the thread is still collecting.
        self._unwritten = 0
        self._done = threading.Condition()
        # Set by submit() when a full batch is queued, so the writer need not wait out the interval.
        self._full = threading.Event()

    def submit(self, draft: RecordDraft) -> None:
        with self._done:
            self._unwritten += 1
        self._queue.put(draft)
        if self._thread is None:
            self._start()
        elif self._queue.qsize() >= settings.ROUTER["HISTORY_FLUSH_ROWS"]:
            self._full.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def _run(self) -> None:
        interval = settings.ROUTER["HISTORY_FLUSH_S"]
        max_rows = settings.ROUTER["HISTORY_FLUSH_ROWS"]
        while not self._stopping:
            batch: list[RecordDraft] = []
            try:
                batch.append(self._queue.get(timeout=1.0))
            except queue.Empty:
                continue
            # Sleep through the interval instead of waking for each record: every wake-up takes the
            # GIL from the event loop serving requests (measured: a few % of CPU per request and the
            # c=1 p99). submit() cuts the sleep short once a full batch is waiting.
            if self._queue.qsize() < max_rows - 1:
                self._full.wait(interval)
            self._full.clear()
            while len(batch) < max_rows:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            with self._flush_lock:
                self._write(batch)

    def flush(self, timeout: float = 10.0) -> None:
        """Write everything submitted so far before returning (shutdown, tests, commands).

        Drains the queue in the calling thread, then waits for the batch the writer thread may be
        holding to land.
        """
        with self._flush_lock:
            while True:
                batch = []
                while len(batch) < 1000:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if not batch:
                    break
                self._write(batch)
        # The writer thread may be sleeping on a batch it already took: wake it to write it now.
        self._full.set()
        deadline = time.monotonic() + timeout
        with self._done:
            while self._unwritten > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    logger.warning(
                        "history writer: %d records still unwritten at flush timeout", self._unwritten
                    )
                    return
                self._done.wait(remaining)

    def pending(self) -> int:
        return self._unwritten

    def _write(self, batch: list[RecordDraft]) -> None:
        close_old_connections()
        try:
            metrics.observe(batch)
        except Exception:
            logger.exception("history writer: failed to update metrics")
        try:
            write_batch(batch)
            self.written += len(batch)
        except Exception:
            # Losing history is bad; taking the server down with it is worse. Log and go on.
            logger.exception("history writer: failed to write %d records", len(batch))
        finally:
            close_old_connections()
            with self._done:
                self._unwritten -= len(batch)
                self._done.notify_all()


def write_batch(batch: list[RecordDraft]) -> None:
    from routerapp.models import ApiKey, Attempt, QueryRecord

    with transaction.atomic():
        records = QueryRecord.objects.bulk_create(
            [
                QueryRecord(
                    request_id=d.request_id,
                    api_key_id=d.api_key_id,
                    model=d.model[:200],
                    deployment_id=d.deployment_id,
                    status=d.status,
                    http_status=d.http_status,
                    error_type=d.error_type,
                    error_message=d.error_message,
                    stream=d.stream,
                    latency_ms=d.latency_ms,
                    ttft_ms=d.ttft_ms,
                    overhead_ms=d.overhead_ms,
                    prompt_tokens=d.prompt_tokens,
                    completion_tokens=d.completion_tokens,
                    cost_usd=d.cost_usd,
                    attempts_count=len(d.attempts),
                    skipped=d.skipped,
                    fallback_used=d.fallback_used,
                    request_body=d.request_body,
                    response_body=d.response_body,
                    created_at=d.created_at,
                )
                for d in batch
            ],
            ignore_conflicts=False,
        )
        Attempt.objects.bulk_create(
            [
                Attempt(
                    query_id=record.pk,
                    deployment_id=a.deployment_id,
                    retry=a.retry,
                    status=a.status,
                    http_status=a.http_status,
                    error_type=a.error_type,
                    error_message=a.error_message[:2000],
                    start_ms=a.start_ms,
                    latency_ms=a.latency_ms,
                    created_at=d.created_at,
                )
                for record, d in zip(records, batch, strict=True)
                for a in d.attempts
            ]
        )
        save_spans([(record.pk, d) for record, d in zip(records, batch, strict=True) if d.trace is not None])
        rollups.save_rollups(rollups.rollup_batch(batch))
        rollups.save_error_groups(rollups.error_occurrences(batch))
        spend: dict[int, float] = defaultdict(float)
        for d in batch:
            if d.api_key_id is not None:
                spend[d.api_key_id] += d.cost_usd
        now = timezone.now()
        for key_id, amount in spend.items():
            ApiKey.objects.filter(pk=key_id).update(
                spent_usd=F("spent_usd") + Decimal(str(round(amount, 6))), last_used_at=now
            )
        for record, d in zip(records, batch, strict=True):
            for extra in d.extras:
                extra(record)


writer = HistoryWriter()
