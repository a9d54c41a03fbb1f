"""The group-commit writer for QueryRecord and Attempt rows.

Requests never write to the database themselves: they hand a finished `RecordDraft` to the
process's writer, whose thread bulk-inserts every ROUTER["HISTORY_FLUSH_S"] seconds or
ROUTER["HISTORY_FLUSH_ROWS"] rows, whichever comes first. A graceful shutdown (SIGTERM, Ctrl-C)
flushes what is queued; a hard kill loses at most one flush interval.

Each batch also carries the requests' spans, the hourly statistics and the upstream error groups
(observability.rollups) in the same transaction, and feeds the Prometheus counters (observability.metrics).

A batch that fails is retried row by row, so one bad row never takes its batch with it; a row that
still fails is quarantined (QuarantinedRecord: its draft as JSON and the error, logged) and stored
repaired, its numbers clamped into range, so the history still counts the request.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import logging
import math
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from routerapp import heap
from routerapp.conf import router_settings
from routerapp.models import ApiKey, Attempt, QuarantinedRecord, QueryRecord, QueryTag, Span
from routerapp.observability import metrics, otlp, rollups
from routerapp.observability.drafts import RecordDraft

logger = logging.getLogger(__name__)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# defer()'s batches: a record's bookkeeping waits at most DEFER_S (a fraction of the flush
# interval), and a batch holds the loop for at most DEFER_ROWS of them (~0.05 ms each, batched).
DEFER_S = 0.02
DEFER_ROWS = 64

# A deferred draft: (draft, finish, first).
Deferred = tuple[RecordDraft, Callable[[], None], Callable[[], object] | None]


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
        # Drafts handed to defer() whose bookkeeping has not run yet (guarded by _done).
        self._deferred = 0
        # Each loop's batch of deferred bookkeeping not yet run (guarded by _done).
        self._later: dict[asyncio.AbstractEventLoop, list[Deferred]] = {}
        # Requests the gate (routerapp/api/gate.py) is serving now: defer() batches while > 1.
        self.serving = 0

    def submit(self, draft: RecordDraft) -> None:
        with self._done:
            self._unwritten += 1
        self._queue.put(draft)
        if self._thread is None:
            self._start()
        elif self._queue.qsize() >= router_settings()["HISTORY_FLUSH_ROWS"]:
            self._full.set()

    def defer(
        self, draft: RecordDraft, finish: Callable[[], None], first: Callable[[], object] | None = None
    ) -> None:
        """Submit `draft` once `finish` (the rest of its bookkeeping) has run, a little later on the
        event loop: for a request whose answer is ready, so what only its record needs (its task
        type, answer score, stored body) does not hold the answer up. On the /v1 hot path that is
        after the answer was written to the client.

        While other requests are being served, the bookkeeping waits for company: the loop runs it
        in batches of up to DEFER_ROWS drafts, at most DEFER_S after the first, each batch running
        every draft's `first` (its task detection) back to back, then every `finish` (which must
        not need `first` to have run: outside a batch it does that work itself). Detection
        reads megabytes of vocabulary and weights; run between whole requests it found them out of
        the CPU's caches and cost ~3 times as much (bench/README.md). A request served alone has
        its bookkeeping on the loop's next turn, in the gap before the client's next request.
        flush() runs or waits for what is deferred."""
        loop = _running_loop()
        if loop is None:  # no loop (a stream's record made by the garbage collector): now
            self._finish(draft, finish, deferred=False)
            return
        with self._done:
            self._deferred += 1
            later = self._later.get(loop)
            if later is None:
                later = self._later[loop] = []
                if self.serving > 1:
                    loop.call_later(DEFER_S, self._drain, loop, later)
                else:
                    loop.call_soon(self._drain, loop, later)
            later.append((draft, finish, first))
            full = len(later) == DEFER_ROWS
        if full:
            loop.call_soon(self._drain, loop, later)

    def _drain(self, loop: asyncio.AbstractEventLoop, later: list[Deferred]) -> None:
        """Run one batch of deferred bookkeeping (once: its timer and a full batch both call)."""
        with self._done:
            if self._later.get(loop) is not later:
                return
            del self._later[loop]
        for _, _, first in later:
            if first is not None:
                with contextlib.suppress(Exception):  # finish() meets the same error, and logs it
                    first()
        for draft, finish, _ in later:
            self._finish(draft, finish)

    def _drain_stranded(self) -> None:
        """Run the batches of this thread's loop, and of loops that stopped before their timer
        fired (a test's asyncio.run, a server shutting down): no draft is left behind."""
        here = _running_loop()
        with self._done:
            stranded = [
                (loop, later)
                for loop, later in self._later.items()
                if loop is here or loop.is_closed() or not loop.is_running()
            ]
        for loop, later in stranded:
            self._drain(loop, later)

    def _finish(self, draft: RecordDraft, finish: Callable[[], None], deferred: bool = True) -> None:
        try:
            finish()
        except Exception:
            # Not the request's fault, and it was answered: it is recorded all the same.
            logger.exception("history: the bookkeeping of request %s failed", draft.request_id)
        finally:
            self.submit(draft)
            if deferred:
                with self._done:
                    self._deferred -= 1
                    if self._deferred == 0:
                        self._done.notify_all()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def _run(self) -> None:
        interval = router_settings()["HISTORY_FLUSH_S"]
        max_rows = router_settings()["HISTORY_FLUSH_ROWS"]
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
                self._pause(interval)
            self._full.clear()
            while len(batch) < max_rows:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            with self._flush_lock:
                self._write(batch)
            # The batch's drafts and rows are free now: their pages back to the system (heap.py).
            heap.release_now_and_then()

    def flush(self, timeout: float = 10.0) -> None:
        """Write everything submitted so far before returning (shutdown, tests, commands).

        Waits for drafts defer() holds (unless called on an event loop's own thread, which would
        have to turn to finish them), drains the queue in the calling thread, then waits for the
        batch the writer thread may be holding to land.
        """
        deadline = time.monotonic() + timeout
        self._drain_stranded()
        if _running_loop() is None:
            with self._done:
                self._done.wait_for(lambda: self._deferred == 0, timeout)
        with self._flush_lock:
            while True:
                batch: list[RecordDraft] = []
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
        return self._unwritten + self._deferred

    def _pause(self, seconds: float) -> None:
        """Wait for company: up to `seconds`, or until a full batch is queued (tests hold it)."""
        self._full.wait(seconds)

    def _write(self, batch: list[RecordDraft]) -> None:
        in_writer = threading.current_thread() is self._thread
        # A caller's connection may be inside its own transaction (a flush from within atomic()):
        # closing it there would leave that transaction on a closed database. Only a connection
        # with no transaction open is recycled.
        recycle = not in_writer and not connection.in_atomic_block
        if recycle:
            close_old_connections()
        try:
            metrics.observe(batch)
        except Exception:
            logger.exception("history writer: failed to update metrics")
        if otlp.enabled():
            try:
                otlp.export(batch)
            except Exception:
                logger.exception("history writer: failed to queue traces for OTLP export")
        let_requests_run()
        try:
            write_batch(batch)
            self.written += len(batch)
        except Exception:
            # Losing history is bad; taking the server down with it is worse. Log and go on.
            logger.exception(
                "history writer: a batch of %d records failed; writing them one by one", len(batch)
            )
            if in_writer:
                connection.close()  # it may be the connection that broke: start afresh
            try:
                self.written += write_one_by_one(batch)
            except Exception:
                logger.exception("history writer: failed to write %d records", len(batch))
                if in_writer:
                    connection.close()
        finally:
            # The writer thread keeps its connection while records keep coming (opening one is
            # ~2 ms of a flush, on the core that serves requests) and lets it go when it falls
            # idle, so a quiet server holds no connection.
            if recycle or (in_writer and self._queue.empty()):
                close_old_connections()
            with self._done:
                self._unwritten -= len(batch)
                self._done.notify_all()


def let_requests_run() -> None:
    """Let the event loop take the interpreter lock between the steps of a flush.

    It shares the lock with this thread (and the core too when the server is pinned to one, as in
    the benchmark); without a release a request arriving mid-flush often waits out a whole step.
    Measured at c=1 over 3,000 requests: overhead p99 ~0.8 ms lower (e.g. 4.9 → 4.1 ms).
    """
    time.sleep(0)


# The writer inserts its rows with plain SQL instead of bulk_create: Django building the INSERTs
# field by field from a model instance per row cost ~15 ms of CPU per batch of 200 requests, in
# the thread that shares the interpreter lock with the event loop (the c=1 p99 paid for it). The
# parameters are what Django would send for each backend (get_db_prep_save for datetimes; JSON
# text, see db_json), so what is stored is the same.

RECORD_FIELDS = [
    "request_id",
    "api_key",
    "model",
    "end_user",
    "deployment",
    "status",
    "http_status",
    "error_type",
    "error_message",
    "stream",
    "endpoint",
    "latency_ms",
    "ttft_ms",
    "overhead_ms",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_parts",
    "attempts_count",
    "skipped",
    "fallback_used",
    "task_type",
    "task_confidence",
    "task_cluster",
    "optimizations",
    "cache_hit",
    "request_body",
    "request_params",
    "response_body",
    "ensemble",
    "quality_score",
    "quality_problems",
    "judge_pending",
    "created_at",
]
ATTEMPT_FIELDS = [
    "query",
    "deployment",
    "retry",
    "status",
    "http_status",
    "error_type",
    "error_message",
    "start_ms",
    "latency_ms",
    "member",
    "created_at",
]


def insert_sql(model, names: list[str]) -> str:
    """`INSERT INTO <model's table> (<columns of names>) VALUES (%s, …)`, for executemany."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in names)
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"


def db_json(value: Any) -> str:
    """A JSONField value as a query parameter: JSON text, which SQLite stores and PostgreSQL casts
    to jsonb. orjson rather than Django's json.dumps (20 times faster; the same value, without the
    spaces); int keys become strings as with json.dumps."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def write_batch(batch: list[RecordDraft]) -> None:
    with transaction.atomic():
        db = transaction.get_connection()  # the wrapper itself: each `connection.x` is a lookup
        created_at = QueryRecord._meta.get_field("created_at")
        # SQLite: naive UTC text; PostgreSQL: the aware datetime. The same for the request's Attempts.
        created = [created_at.get_db_prep_save(d.created_at, db) for d in batch]
        ids = insert_records(db, batch, created)
        let_requests_run()
        attempts = [
            (  # in the order of ATTEMPT_FIELDS
                query_id,
                a.deployment_id,
                a.retry,
                a.status,
                a.http_status,
                a.error_type,
                a.error_message[:2000],
                a.start_ms,
                a.latency_ms,
                a.member,
                when,
            )
            for query_id, d, when in zip(ids, batch, created, strict=True)
            for a in d.attempts
        ]
        if attempts:
            with db.cursor() as cursor:
                cursor.executemany(insert_sql(Attempt, ATTEMPT_FIELDS), attempts)
        tags = [(query_id, tag) for query_id, d in zip(ids, batch, strict=True) for tag in d.tags]
        if tags:
            with db.cursor() as cursor:
                cursor.executemany(insert_sql(QueryTag, ["query", "tag"]), tags)
        let_requests_run()
        save_spans([(query_id, d) for query_id, d in zip(ids, batch, strict=True) if d.trace is not None])
        let_requests_run()
        rollups.save_rollups(rollups.rollup_batch(batch))
        let_requests_run()
        rollups.save_error_groups(rollups.error_occurrences(batch))
        spend: dict[int, float] = defaultdict(float)
        # Per key, the latest budget period a request of the batch counted in, and its spend there.
        period_spend: dict[int, tuple[float, float]] = {}
        for d in batch:
            if d.api_key_id is not None:
                spend[d.api_key_id] += d.cost_usd
            if d.api_key_id is not None and d.budget_period_start is not None and d.cost_usd > 0:
                start, amount = period_spend.get(d.api_key_id, (d.budget_period_start, 0.0))
                if d.budget_period_start > start:
                    start, amount = d.budget_period_start, 0.0
                if d.budget_period_start == start:
                    period_spend[d.api_key_id] = (start, amount + d.cost_usd)
        now = timezone.now()
        for key_id, amount in spend.items():
            ApiKey.objects.filter(pk=key_id).update(
                spent_usd=F("spent_usd") + Decimal(str(round(amount, 6))), last_used_at=now
            )
        for key_id, (start, amount) in period_spend.items():
            add_period_spend(key_id, start, amount)


def add_period_spend(key_id: int, start: float, amount: float) -> None:
    """Add to the key's spend in the budget period starting at `start`; a later period replaces
    the stored one (which then starts from this amount), an earlier one is over and ignored."""
    started = datetime.fromtimestamp(start, UTC)
    amount_d = Decimal(str(round(amount, 6)))
    keys = ApiKey.objects.filter(pk=key_id)
    if not keys.filter(period_started_at=started).update(period_spent_usd=F("period_spent_usd") + amount_d):
        keys.filter(Q(period_started_at__isnull=True) | Q(period_started_at__lt=started)).update(
            period_spent_usd=amount_d, period_started_at=started
        )


def write_one_by_one(batch: list[RecordDraft]) -> int:
    """Write each draft in a transaction of its own, quarantining those that fail; return how many
    QueryRecords were stored."""
    stored = 0
    for draft in batch:
        try:
            write_batch([draft])
            stored += 1
            continue
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        repaired = False
        try:
            write_batch([repaired_draft(draft)])
            repaired = True
            stored += 1
        except Exception:
            logger.exception("history writer: record %s could not be stored, even repaired", draft.request_id)
        QuarantinedRecord.objects.create(
            request_id=str(draft.request_id)[:64], draft=plain(draft), error=error[:5000], repaired=repaired
        )
        logger.error("history writer: record %s quarantined (%s)", draft.request_id, error[:500])
    return stored


# What the history's columns hold: PositiveIntegerField, PositiveSmallIntegerField.
MAX_COUNT = 2**31 - 1
MAX_STATUS = 32767


def _count(value: Any, top: int = MAX_COUNT) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return 0
    return min(max(number, 0), top)


def _finite_or_none(value: Any) -> float | None:
    """A finite, non-negative float, or None for anything else."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _finite(value: Any) -> float:
    number = _finite_or_none(value)
    return 0.0 if number is None else number


def repaired_draft(draft: RecordDraft) -> RecordDraft:
    """The draft with every number clamped into what its column holds and every text cut to size."""
    attempts = [
        dataclasses.replace(
            a,
            retry=_count(a.retry, MAX_STATUS),
            http_status=None if a.http_status is None else _count(a.http_status, MAX_STATUS),
            start_ms=_finite(a.start_ms),
            latency_ms=_finite(a.latency_ms),
            error_type=str(a.error_type)[:60],
            error_message=str(a.error_message)[:2000],
        )
        for a in draft.attempts
    ]
    return dataclasses.replace(
        draft,
        request_id=str(draft.request_id)[:40],
        model=str(draft.model)[:200],
        end_user=str(draft.end_user)[:200],
        tags=tuple(str(t)[:200] for t in draft.tags),
        status=str(draft.status)[:10],
        http_status=_count(draft.http_status, MAX_STATUS),
        error_type=str(draft.error_type)[:60],
        error_message=str(draft.error_message)[:2000],
        latency_ms=_finite(draft.latency_ms),
        ttft_ms=_finite_or_none(draft.ttft_ms),
        overhead_ms=_finite_or_none(draft.overhead_ms),
        prompt_tokens=_count(draft.prompt_tokens),
        completion_tokens=_count(draft.completion_tokens),
        cached_tokens=_count(draft.cached_tokens),
        cache_write_tokens=_count(draft.cache_write_tokens),
        reasoning_tokens=_count(draft.reasoning_tokens),
        cost_usd=_finite(draft.cost_usd),
        cost_parts={str(k): _finite(v) for k, v in dict(draft.cost_parts).items()},
        attempts=attempts,
        trace=None,  # spans are detail: a record without them beats no record
    )


def plain(value: Any) -> Any:
    """`value` as JSON-safe data for the quarantine: dataclasses as dicts, out-of-range numbers as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "trace"}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return str(value)


def insert_records(db, batch: list[RecordDraft], created: list[Any]) -> list[int]:
    """Insert a QueryRecord per draft; return their ids in the order of `batch`."""
    rows = [
        (  # in the order of RECORD_FIELDS
            d.request_id,
            d.api_key_id,
            d.model[:200],
            d.end_user[:200],
            d.deployment_id,
            d.status,
            d.http_status,
            d.error_type,
            d.error_message,
            d.stream,
            d.endpoint[:40],
            d.latency_ms,
            d.ttft_ms,
            d.overhead_ms,
            d.prompt_tokens,
            d.completion_tokens,
            d.cached_tokens,
            d.cache_write_tokens,
            d.reasoning_tokens,
            d.cost_usd,
            db_json(d.cost_parts),
            len(d.attempts),
            db_json(d.skipped),
            d.fallback_used,
            d.task_type,
            d.task_confidence,
            d.task_cluster,
            db_json(d.optimizations),
            d.cache_hit,
            d.request_body,
            db_json(d.request_params),
            d.response_body,
            None if d.ensemble is None else db_json(d.ensemble),
            d.quality_score,
            db_json(list(d.quality_problems)),
            d.judge_pending,
            when,
        )
        for d, when in zip(batch, created, strict=True)
    ]
    # One executemany, then the ids read back by request_id (unique). Cheaper than multi-row
    # INSERT … RETURNING on both backends: psycopg parses a statement of more than 50 parameters
    # anew each time (~5 ms for 200 records), SQLite takes only 999 parameters (47 records) per
    # statement; and any SQLite will do (RETURNING needs 3.35).
    with db.cursor() as cursor:
        cursor.executemany(insert_sql(QueryRecord, RECORD_FIELDS), rows)
    let_requests_run()
    wanted = [d.request_id for d in batch]
    step = db.features.max_query_params or max(len(wanted), 1)
    ids: dict[str, int] = {}
    for start in range(0, len(wanted), step):
        found = QueryRecord.objects.filter(request_id__in=wanted[start : start + step])
        ids.update(found.values_list("request_id", "id"))
    return [ids[d.request_id] for d in batch]


def save_spans(traced_records: list[tuple[int, Any]]) -> None:
    """Insert the spans of (QueryRecord id, RecordDraft) pairs: one executemany, in the caller's
    transaction (the history writer's batch).

    Not bulk_create: building a model instance per span cost ~50 µs per request in the writer
    thread, which shares the GIL with the event loop serving requests; this costs a tenth of it.
    """
    rows = []
    for query_id, draft in traced_records:
        for s in draft.trace.spans:
            duration = s.duration_ms if s.duration_ms is not None else draft.latency_ms - s.start_ms
            rows.append(
                (
                    query_id,
                    s.position,
                    s.parent,
                    s.name[:40],
                    s.start_ms,
                    duration,
                    s.status[:10],
                    db_json(s.attributes),
                )
            )
    if not rows:
        return
    names = ["query", "position", "parent", "name", "start_ms", "duration_ms", "status", "attributes"]
    with connection.cursor() as cursor:
        cursor.executemany(insert_sql(Span, names), rows)


writer = HistoryWriter()
