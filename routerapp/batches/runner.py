"""The worker side of batches: validate the input, run every line through route(), write the files.

`run(batch_id)` is what the django-q2 task calls. It first takes the batch's lease (a row update
that only one worker can win), renews it while it works, and stores each line's outcome as soon as
it has it. A worker that dies leaves a lapsed lease: `resume_stale()` (on a schedule, and whenever
a worker process starts) queues the batch again, and the next run continues with the lines not yet
done. A line that was in flight when its worker died is run again, and its `runs` count says so.

One task runs a batch for at most ROUTER["BATCH_SLICE_S"] and then queues the rest, so a long
batch never hits the task timeout. At most ROUTER["BATCH_CONCURRENCY"] requests are in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from routerapp import errors
from routerapp.batches import jsonl
from routerapp.conf import router_settings
from routerapp.models import Batch, BatchItem, File
from routerapp.providers import close_clients
from routerapp.routing import Completion, route
from routerapp.routing.table import KeyInfo, tables
from routerapp.validation import chat_request

logger = logging.getLogger(__name__)

S = Batch.Status
# How often a running batch looks at its own row (for a cancel) and renews its lease.
STATUS_CHECK_S = 0.5
# A line refused by a rate limit waits (Retry-After) and tries again this many times.
RATE_LIMIT_WAITS = 5
MAX_RATE_LIMIT_WAIT_S = 30.0


def _lease_s() -> float:
    return router_settings()["BATCH_LEASE_S"]


def claim(batch_id: str, owner: str) -> bool:
    """Take the batch's lease if it is unfinished and nobody holds a live one."""
    now = timezone.now()
    return bool(
        Batch.objects.filter(pk=batch_id, status__in=Batch.ACTIVE)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_owner=owner, lease_until=now + timedelta(seconds=_lease_s()))
    )


def renew(batch_id: str, owner: str) -> bool:
    until = timezone.now() + timedelta(seconds=_lease_s())
    return bool(Batch.objects.filter(pk=batch_id, lease_owner=owner).update(lease_until=until))


def release(batch_id: str, owner: str) -> None:
    Batch.objects.filter(pk=batch_id, lease_owner=owner).update(lease_owner="", lease_until=None)


def enqueue(batch_id: str) -> None:
    from django_q.tasks import async_task

    async_task("routerapp.tasks.run_batch", batch_id, task_name=f"batch {batch_id}", group="batches")


def resume_stale() -> list[str]:
    """Queue every unfinished batch that no live worker holds (its worker died, or it was never run)."""
    ids = list(
        Batch.objects.unfinished()
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now()))
        .values_list("pk", flat=True)
    )
    for batch_id in ids:
        enqueue(batch_id)
    return ids


def finish_if_idle(batch_id: str) -> bool:
    """Finalize a cancelling batch right away when no worker is running it."""
    owner = uuid.uuid4().hex
    if not claim(batch_id, owner):
        return False
    try:
        finalize(batch_id)
    finally:
        release(batch_id, owner)
    return True


def run(batch_id: str) -> str:
    owner = uuid.uuid4().hex
    if not claim(batch_id, owner):
        return f"{batch_id}: finished or held by another worker"
    more = False
    try:
        batch = Batch.objects.get(pk=batch_id)
        if batch.status == S.VALIDATING and not validate(batch):
            return f"{batch_id}: failed validation"
        batch.refresh_from_db()
        if batch.status in (S.IN_PROGRESS, S.CANCELLING):
            # We hold the lease, so a line still marked running was left by a worker that died.
            BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.RUNNING).update(
                status=BatchItem.Status.PENDING
            )
            outcome = asyncio.run(Run(batch, owner).execute())
            if outcome == "lost":
                return f"{batch_id}: lease lost to another worker"
            if outcome == "slice":
                more = True
                return f"{batch_id}: continues in a new task"
        finalize(batch_id)
        return f"{batch_id}: {Batch.objects.get(pk=batch_id).status}"
    finally:
        release(batch_id, owner)
        if more:
            enqueue(batch_id)


def validate(batch: Batch) -> bool:
    """Turn the input file into BatchItems (in_progress), or fail the batch naming the bad lines."""
    file = File.objects.filter(pk=batch.input_file_id).first()
    lines: list[Any]
    problems: list[dict[str, Any]]
    if file is None:
        lines, problems = (
            [],
            [{"code": "invalid_file", "message": "The input file was deleted.", "line": None}],
        )
    else:
        lines, problems = jsonl.parse_input(bytes(file.content), batch.endpoint)
    now = timezone.now()
    if problems:
        shown = problems[: jsonl.MAX_REPORTED_ERRORS]
        if len(problems) > len(shown):
            shown.append(
                {
                    "code": "too_many_errors",
                    "message": f"{len(problems) - len(shown)} more lines are invalid.",
                }
            )
        Batch.objects.filter(pk=batch.pk, status=S.VALIDATING).update(
            status=S.FAILED, failed_at=now, errors=shown
        )
        return False
    with transaction.atomic():
        BatchItem.objects.bulk_create(
            (
                BatchItem(
                    batch_id=batch.pk,
                    line=line.line,
                    custom_id=line.custom_id,
                    item_id=jsonl.new_item_id(),
                    model=line.model,
                    body=line.body,
                )
                for line in lines
            ),
            batch_size=1000,
        )
        Batch.objects.filter(pk=batch.pk).update(total=len(lines))
        # Conditional: a cancel that came in meanwhile stays a cancel.
        Batch.objects.filter(pk=batch.pk, status=S.VALIDATING).update(
            status=S.IN_PROGRESS, in_progress_at=now
        )
    return True


@dataclass(slots=True)
class Stop:
    """Why no further line starts (the first reason wins)."""

    reason: str = ""
    code: str = ""
    message: str = ""
    # Wakes the lines waiting out a rate limit, so a cancel does not wait for them.
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    def set(self, reason: str, code: str = "", message: str = "") -> None:
        if not self.reason:
            self.reason, self.code, self.message = reason, code, message
            self.stopped.set()

    async def wait(self, seconds: float) -> bool:
        """Sleep `seconds` unless told to stop first; True if told to stop."""
        try:
            await asyncio.wait_for(self.stopped.wait(), seconds)
        except TimeoutError:
            return False
        return True


@dataclass
class Run:
    batch: Batch
    owner: str
    stop: Stop = field(default_factory=Stop)
    _checked: float = 0.0
    started: int = 0

    async def execute(self) -> str:
        """Run pending lines until none is left or something says stop; return why it ended."""
        key = await self._key()
        if key is None:
            self.stop.set("key", "invalid_api_key", "The batch's API key was revoked.")
        deadline = time.monotonic() + router_settings()["BATCH_SLICE_S"]
        gate = asyncio.Semaphore(router_settings()["BATCH_CONCURRENCY"])
        in_flight: set[asyncio.Task] = set()
        heartbeat = asyncio.create_task(self._heartbeat(deadline))
        try:
            while not self.stop.reason:
                chunk = await db(_next_pending, self.batch.pk, router_settings()["BATCH_CONCURRENCY"] * 4)
                if not chunk:
                    break
                for item in chunk:
                    await gate.acquire()
                    await self._check(deadline)
                    if self.stop.reason or not await db(_mark_running, item.pk):
                        gate.release()
                        break
                    self.started += 1
                    task = asyncio.create_task(self._run_item(item, key))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    task.add_done_callback(lambda _: gate.release())
            if in_flight:
                await asyncio.gather(*in_flight)
        finally:
            heartbeat.cancel()
            await close_clients()  # this loop ends here; its pooled client must not outlive it
            await db(close_old_connections)
        if self.stop.reason in ("budget", "key", "expired"):
            await db(_fail_pending, self.batch.pk, self.stop.code, self.stop.message)
        if self.stop.reason == "expired":
            await db(_mark_expiring, self.batch.pk)
        return {"slice": "slice", "lost": "lost"}.get(self.stop.reason, "done")

    async def _key(self) -> KeyInfo | None:
        if self.batch.api_key_id is None:
            return None
        table = await tables.get(force_check=True)
        return next((k for k in table.keys.values() if k.id == self.batch.api_key_id), None)

    async def _heartbeat(self, deadline: float) -> None:
        """Renew the lease and notice a cancel even while every slot waits on a slow upstream."""
        while True:
            await asyncio.sleep(STATUS_CHECK_S)
            await self._check(deadline)

    async def _check(self, deadline: float) -> None:
        now = time.monotonic()
        if now >= deadline and self.started:  # every slice gets at least one line done
            self.stop.set("slice")
        if now - self._checked < STATUS_CHECK_S:
            return
        self._checked = now
        status, expires_at, held = await db(_look, self.batch.pk, self.owner)
        if not held:
            self.stop.set("lost")
        elif status == S.CANCELLING:
            self.stop.set("cancelled")
        elif expires_at and timezone.now() >= expires_at:
            self.stop.set("expired", "batch_expired", "The batch expired before this request could be run.")

    async def _run_item(self, item: BatchItem, key: KeyInfo | None) -> None:
        request_id, status_code, body = "", 500, None
        try:
            for wait in range(RATE_LIMIT_WAITS + 1):
                request = chat_request(dict(item.body))
                request_id = request.request_id
                try:
                    outcome = await route(request, key=key)
                except errors.RateLimitError as exc:
                    # The key's (or every deployment's) rate limit: wait as told, then try again.
                    if wait == RATE_LIMIT_WAITS:
                        raise
                    if await self.stop.wait(min(exc.retry_after or 1.0, MAX_RATE_LIMIT_WAIT_S)):
                        # Stopped while waiting: the line never got an answer, so it is not done.
                        await db(_unstart, item.pk)
                        return
                    continue
                assert isinstance(outcome, Completion)  # validation refuses streamed lines
                status_code, body = 200, outcome.body
                break
        except errors.BudgetExceededError as exc:
            status_code, body = exc.status, exc.to_dict()
            self.stop.set("budget", "budget_exceeded", exc.message)
        except errors.RouterError as exc:
            status_code, body = exc.status, exc.to_dict()
        except Exception:
            logger.exception("batch %s line %s: unexpected error", self.batch.pk, item.line)
            body = errors.RouterError(
                "The router failed to process this request; it has been logged."
            ).to_dict()
        await db(_save_outcome, item.pk, self.batch.pk, request_id, status_code, body)


async def db(func, *args):
    return await sync_to_async(func, thread_sensitive=True)(*args)


def _next_pending(batch_id: str, limit: int) -> list[BatchItem]:
    return list(
        BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.PENDING)
        .only("pk", "line", "body")
        .order_by("line")[:limit]
    )


def _mark_running(item_id: int) -> bool:
    return bool(
        BatchItem.objects.filter(pk=item_id, status=BatchItem.Status.PENDING).update(
            status=BatchItem.Status.RUNNING, runs=F("runs") + 1, started_at=timezone.now()
        )
    )


def _unstart(item_id: int) -> None:
    BatchItem.objects.filter(pk=item_id, status=BatchItem.Status.RUNNING).update(
        status=BatchItem.Status.PENDING
    )


def _look(batch_id: str, owner: str):
    """The batch's status and expiry, and whether we still hold it (renewing the lease as we look)."""
    row = Batch.objects.filter(pk=batch_id).values_list("status", "expires_at").first()
    if row is None:
        return "", None, False  # deleted meanwhile: nothing left to hold
    return row[0], row[1], renew(batch_id, owner)


def _save_outcome(item_id: int, batch_id: str, request_id: str, status_code: int, body) -> None:
    ok = 200 <= status_code < 300
    with transaction.atomic():
        saved = BatchItem.objects.filter(pk=item_id, status=BatchItem.Status.RUNNING).update(
            status=BatchItem.Status.SUCCEEDED if ok else BatchItem.Status.FAILED,
            request_id=request_id,
            status_code=status_code,
            response=body,
            finished_at=timezone.now(),
        )
        if saved:
            counter = "completed" if ok else "failed"
            Batch.objects.filter(pk=batch_id).update(**{counter: F(counter) + 1})


def _fail_pending(batch_id: str, code: str, message: str) -> None:
    """Lines that will not run, kept as failures with the reason (they go to the error file)."""
    with transaction.atomic():
        count = BatchItem.objects.filter(batch_id=batch_id, status=BatchItem.Status.PENDING).update(
            status=BatchItem.Status.FAILED,
            error={"code": code, "message": message},
            finished_at=timezone.now(),
        )
        if count:
            Batch.objects.filter(pk=batch_id).update(failed=F("failed") + count)
        if code == "budget_exceeded":
            batch = Batch.objects.get(pk=batch_id)
            batch.errors = [*batch.errors, {"code": code, "message": f"{message}; {count} requests not run."}]
            batch.save(update_fields=["errors"])


def _mark_expiring(batch_id: str) -> None:
    Batch.objects.filter(pk=batch_id).update(expired_at=timezone.now())


def finalize(batch_id: str) -> None:
    """Write the output and error files and give the batch its final status (caller holds the lease)."""
    batch = Batch.objects.get(pk=batch_id)
    if batch.status == S.CANCELLING:
        _fail_pending(batch_id, "batch_cancelled", "The batch was cancelled before this request was run.")
        final, stamp = S.CANCELLED, "cancelled_at"
    elif batch.expired_at is not None:
        final, stamp = S.EXPIRED, "expired_at"
    else:
        final, stamp = S.COMPLETED, "completed_at"
    now = timezone.now()
    if batch.status != S.FINALIZING:
        Batch.objects.filter(pk=batch_id).update(status=S.FINALIZING, finalizing_at=now)
    output: list[Any] = []
    failures: list[Any] = []
    items = (
        BatchItem.objects.filter(batch_id=batch_id)
        .order_by("line")
        .only("item_id", "custom_id", "status", "status_code", "request_id", "response", "error")
    )
    for item in items.iterator(chunk_size=1000):
        line = jsonl.output_line(
            item_id=item.item_id,
            custom_id=item.custom_id,
            status_code=item.status_code,
            request_id=item.request_id,
            body=item.response,
            error=item.error,
        )
        (output if item.status == BatchItem.Status.SUCCEEDED else failures).append(line)
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch_id)
        batch.output_file = _output_file(batch, "output", output)
        batch.error_file = _output_file(batch, "error", failures)
        batch.status = final
        setattr(batch, stamp, getattr(batch, stamp) or timezone.now())
        batch.save()


def _output_file(batch: Batch, kind: str, lines: list[bytes]) -> File | None:
    if not lines:
        return None
    content = b"\n".join(lines) + b"\n"
    return File.objects.create(
        api_key_id=batch.api_key_id,
        filename=f"{batch.pk}_{kind}.jsonl",
        purpose=File.Purpose.BATCH_OUTPUT,
        bytes=len(content),
        content=content,
    )
