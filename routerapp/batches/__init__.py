"""Batches: OpenAI's Batch API on our own workers. The core every interface calls.

/v1/files and /v1/batches (routerapp.api.batches), `manage.py batch`, the dashboard's Batches page
and the django-q2 task (routerapp.tasks.run_batch → runner.run) all go through these functions.
`api_key_id` scopes a call to one client's files and batches; None (operators: commands, the
dashboard) sees all of them.

Lifecycle: submit() stores the batch as `validating` and queues it; a worker validates the input
file (a bad line fails the batch naming the line), stores one BatchItem per line (`in_progress`),
runs them through route(), then writes the output and error files (`finalizing` → `completed`).
cancel() moves it to `cancelling`; what has not started is not started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from routerapp import errors
from routerapp.batches import jsonl, runner
from routerapp.conf import router_settings
from routerapp.models import Batch, File

COMPLETION_WINDOWS = {"24h": timedelta(hours=24)}
MAX_METADATA_PAIRS = 16
PAGE_LIMIT = 10_000


def not_found(kind: str, ident: str) -> errors.InvalidRequestError:
    return errors.InvalidRequestError(f"No such {kind}: '{ident}'", status=404, code="not_found")


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def _owned(queryset, api_key_id: int | None):
    return queryset if api_key_id is None else queryset.filter(api_key_id=api_key_id)


def _one(queryset, object_id: str):
    """The row with this client-given id, or None. An id with a NUL in it names nothing: PostgreSQL
    refuses the character in a text parameter (a DataError, so a 500), SQLite would just not find it."""
    return None if "\x00" in object_id else queryset.filter(pk=object_id).first()


# Files


def create_file(*, api_key_id: int | None, filename: str, content: bytes, purpose: str) -> File:
    if purpose != File.Purpose.BATCH:
        raise errors.InvalidRequestError(
            f"'purpose' must be \"batch\" here (got {purpose!r}).", param="purpose"
        )
    limit = router_settings()["BATCH_MAX_FILE_BYTES"]
    if len(content) > limit:
        raise errors.RequestTooLargeError(
            f"The file is {len(content)} bytes; the limit is {limit} bytes.", param="file"
        )
    if not content.strip():
        raise errors.InvalidRequestError("The file is empty.", param="file")
    max_lines = router_settings()["BATCH_MAX_LINES"]
    lines = jsonl.count_lines(content)
    if lines > max_lines:
        raise errors.InvalidRequestError(
            f"The file has {lines} requests; a batch may have at most {max_lines}.",
            param="file",
            code="too_many_requests",
        )
    return File.objects.create(
        api_key_id=api_key_id,
        filename=clean_filename(filename),
        purpose=purpose,
        bytes=len(content),
        content=content,
    )


def clean_filename(name: str) -> str:
    """The uploaded name without its directories, quotes or control characters (it goes into a
    Content-Disposition header when the file is downloaded)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c for c in base if c.isprintable() and c not in "\"';")
    return kept.strip()[:255] or "upload.jsonl"


def file_object(file: File) -> dict:
    return {
        "id": file.id,
        "object": "file",
        "bytes": file.bytes,
        "created_at": _epoch(file.created_at),
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


def get_file(file_id: str, *, api_key_id: int | None) -> File:
    file = _one(_owned(File.objects.defer("content"), api_key_id), file_id)
    if file is None:
        raise not_found("file", file_id)
    return file


def file_content(file_id: str, *, api_key_id: int | None) -> tuple[File, bytes]:
    file = _one(_owned(File.objects, api_key_id), file_id)
    if file is None:
        raise not_found("file", file_id)
    return file, bytes(file.content)


def delete_file(file_id: str, *, api_key_id: int | None) -> None:
    get_file(file_id, api_key_id=api_key_id).delete()


def list_files(
    *,
    api_key_id: int | None,
    purpose: str | None = None,
    after: str | None = None,
    limit: int = PAGE_LIMIT,
    order: str = "desc",
) -> tuple[list[File], bool]:
    files = _owned(File.objects.defer("content"), api_key_id)
    if purpose:
        files = files.filter(purpose=purpose)
    return _page(files, after=after, limit=limit, order=order)


def _page(queryset, *, after: str | None, limit: int, order: str = "desc") -> tuple[list, bool]:
    """One page of a cursor-paginated list (OpenAI's `after` + `limit`), and whether more follow."""
    newest_first = order != "asc"
    queryset = queryset.order_by(*(("-created_at", "-pk") if newest_first else ("created_at", "pk")))
    if after:
        cursor = _one(queryset.model.objects.values_list("created_at", flat=True), after)
        if cursor is not None:
            before = {"created_at__lt": cursor} if newest_first else {"created_at__gt": cursor}
            queryset = queryset.filter(**before)
    limit = max(1, min(limit, PAGE_LIMIT))
    rows = list(queryset[: limit + 1])
    return rows[:limit], len(rows) > limit


# Batches


def submit(
    *,
    api_key_id: int | None,
    input_file_id: str,
    endpoint: str = "/v1/chat/completions",
    completion_window: str = "24h",
    metadata: dict[str, str] | None = None,
) -> Batch:
    """Create a batch of the requests in an uploaded file and queue it for the workers."""
    if endpoint not in jsonl.ENDPOINTS:
        raise errors.InvalidRequestError(
            f"'endpoint' must be one of {', '.join(jsonl.ENDPOINTS)}; got {endpoint!r}.", param="endpoint"
        )
    window = COMPLETION_WINDOWS.get(completion_window)
    if window is None:
        raise errors.InvalidRequestError(
            f"'completion_window' must be one of {', '.join(COMPLETION_WINDOWS)}; got {completion_window!r}.",
            param="completion_window",
        )
    metadata = metadata or {}
    if len(metadata) > MAX_METADATA_PAIRS or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 512
        for k, v in metadata.items()
    ):
        raise errors.InvalidRequestError(
            f"'metadata' takes at most {MAX_METADATA_PAIRS} string pairs (keys up to 64 characters, values up to 512).",
            param="metadata",
        )
    file = get_file(input_file_id, api_key_id=api_key_id)
    if file.purpose != File.Purpose.BATCH:
        raise errors.InvalidRequestError(
            f"File '{input_file_id}' was not uploaded with purpose \"batch\".", param="input_file_id"
        )
    now = timezone.now()
    with transaction.atomic():
        batch = Batch.objects.create(
            api_key_id=file.api_key_id,
            input_file_id=file.id,
            endpoint=endpoint,
            completion_window=completion_window,
            metadata=metadata,
            created_at=now,
            expires_at=now + window,
        )
        transaction.on_commit(lambda: runner.enqueue(batch.id))
    return batch


def status(batch_id: str, *, api_key_id: int | None = None) -> Batch:
    batch = _one(_owned(Batch.objects, api_key_id), batch_id)
    if batch is None:
        raise not_found("batch", batch_id)
    return batch


def list_batches(
    *, api_key_id: int | None, after: str | None = None, limit: int = 20, status: str | None = None
) -> tuple[list[Batch], bool]:
    rows = _owned(Batch.objects.select_related("api_key"), api_key_id)
    if status:
        rows = rows.filter(status=status)
    return _page(rows, after=after, limit=limit)


def cancel(batch_id: str, *, api_key_id: int | None = None) -> Batch:
    """Stop a batch: requests not yet started are not started, the rest finish and are kept."""
    batch = status(batch_id, api_key_id=api_key_id)
    if batch.status in (Batch.Status.VALIDATING, Batch.Status.IN_PROGRESS):
        Batch.objects.filter(pk=batch.pk, status=batch.status).update(
            status=Batch.Status.CANCELLING, cancelling_at=timezone.now()
        )
        # No worker holding it (queued, or its worker died): finish the cancellation here.
        runner.finish_if_idle(batch.pk)
        batch.refresh_from_db()
    elif batch.status != Batch.Status.CANCELLING:
        raise errors.InvalidRequestError(
            f"Batch '{batch_id}' is {batch.status} and cannot be cancelled.", status=409, code="invalid_state"
        )
    return batch


def batch_object(batch: Batch) -> dict:
    batch_errors = None
    if batch.errors:
        batch_errors = {"object": "list", "data": batch.errors}
    return {
        "id": batch.id,
        "object": "batch",
        "endpoint": batch.endpoint,
        "errors": batch_errors,
        "input_file_id": batch.input_file_id,
        "completion_window": batch.completion_window,
        "status": batch.status,
        "output_file_id": batch.output_file_id,
        "error_file_id": batch.error_file_id,
        "created_at": _epoch(batch.created_at),
        "in_progress_at": _epoch(batch.in_progress_at),
        "expires_at": _epoch(batch.expires_at),
        "finalizing_at": _epoch(batch.finalizing_at),
        "completed_at": _epoch(batch.completed_at),
        "failed_at": _epoch(batch.failed_at),
        "expired_at": _epoch(batch.expired_at),
        "cancelling_at": _epoch(batch.cancelling_at),
        "cancelled_at": _epoch(batch.cancelled_at),
        "request_counts": {"total": batch.total, "completed": batch.completed, "failed": batch.failed},
        "metadata": batch.metadata or None,
    }


@dataclass(slots=True)
class Results:
    """A finished batch's two files as text (JSONL); empty when the batch wrote none."""

    batch: Batch
    output: str
    errors: str


def results(batch_id: str, *, api_key_id: int | None = None) -> Results:
    batch = status(batch_id, api_key_id=api_key_id)
    if batch.is_active:
        raise errors.InvalidRequestError(
            f"Batch '{batch_id}' is still {batch.status}; results come when it has finished.",
            status=409,
            code="invalid_state",
        )

    def text(file_id: str | None) -> str:
        if file_id is None:
            return ""
        file = _one(File.objects, file_id)
        return bytes(file.content).decode() if file else ""

    return Results(batch=batch, output=text(batch.output_file_id), errors=text(batch.error_file_id))


__all__ = [
    "Results",
    "batch_object",
    "cancel",
    "create_file",
    "delete_file",
    "file_content",
    "file_object",
    "get_file",
    "list_batches",
    "list_files",
    "results",
    "status",
    "submit",
]
