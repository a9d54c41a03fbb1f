"""/api/batches: every client's batches, for operators (clients use /v1/batches for their own)."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Router

from routerapp import batches
from routerapp.api.auth import admin_auth
from routerapp.models import ApiKey, Batch

router = Router(tags=["batches"], auth=admin_auth)

Status = Literal[
    "validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"
]


def _out(batch: Batch) -> dict:
    return {**batches.batch_object(batch), "key": batch.api_key.name if batch.api_key else None}


@router.get("/batches")
def list_batches(
    request: HttpRequest,
    key: str | None = None,
    status: Status | None = None,
    after: str | None = None,
    limit: int = 100,
):
    """Newest first, OpenAI's list shape (`after` = the last id of the previous page)."""
    key_id = None
    if key:
        key_id = ApiKey.objects.filter(name=key).values_list("id", flat=True).first()
        if key_id is None:
            return {"object": "list", "data": [], "has_more": False}
    rows, more = batches.list_batches(api_key_id=key_id, after=after, limit=limit, status=status)
    return {"object": "list", "data": [_out(b) for b in rows], "has_more": more}


@router.get("/batches/{batch_id}")
def get_batch(request: HttpRequest, batch_id: str):
    return _out(batches.status(batch_id))


@router.post("/batches/{batch_id}/cancel")
def cancel_batch(request: HttpRequest, batch_id: str):
    return _out(batches.cancel(batch_id))
