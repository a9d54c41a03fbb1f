"""/v1/files and /v1/batches: OpenAI's Batch API, thin over routerapp.batches.

A client key sees its own files and batches only: another key's ids answer 404, as unknown ids do.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import ValidationError

from routerapp import batches, errors
from routerapp.api.auth import client_key, v1_auth
from routerapp.api.gate import MULTIPART_SLACK_BYTES
from routerapp.api.openai import json_response, read_body
from routerapp.conf import router_settings
from routerapp.validation import parse_body

router = Router(tags=["batches"], auth=v1_auth)


def _core(func, *args, **kwargs):
    return sync_to_async(func, thread_sensitive=True)(*args, **kwargs)


def _page(objects: list[dict], has_more: bool) -> HttpResponse:
    return json_response(
        {
            "object": "list",
            "data": objects,
            "first_id": objects[0]["id"] if objects else None,
            "last_id": objects[-1]["id"] if objects else None,
            "has_more": has_more,
        }
    )


def _read_upload(request: HttpRequest) -> tuple[str, bytes, str]:
    limit = router_settings()["BATCH_MAX_FILE_BYTES"]
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_SLACK_BYTES:
        raise errors.RequestTooLargeError(
            f"The upload exceeds the file size limit of {limit} bytes.", param="file"
        )
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise errors.InvalidRequestError(
            "Upload the file as multipart/form-data with fields 'file' and 'purpose'."
        )
    upload = request.FILES.get("file")
    if upload is None:
        raise errors.InvalidRequestError("The 'file' field is required.", param="file")
    purpose = request.POST.get("purpose", "")
    if not purpose:
        raise errors.InvalidRequestError("The 'purpose' field is required.", param="purpose")
    if upload.size > limit:
        raise errors.RequestTooLargeError(
            f"The file is {upload.size} bytes; the limit is {limit} bytes.", param="file"
        )
    return upload.name or "upload.jsonl", upload.read(), purpose


@router.post("/files")
async def create_file(request: HttpRequest):
    key = client_key(request)
    filename, content, purpose = _read_upload(request)
    file = await _core(
        batches.create_file, api_key_id=key.id, filename=filename, content=content, purpose=purpose
    )
    return json_response(batches.file_object(file))


@router.get("/files")
async def list_files(
    request: HttpRequest,
    purpose: str | None = None,
    after: str | None = None,
    limit: int = 10_000,
    order: str = "desc",
):
    key = client_key(request)
    files, more = await _core(
        batches.list_files, api_key_id=key.id, purpose=purpose, after=after, limit=limit, order=order
    )
    return _page([batches.file_object(f) for f in files], more)


@router.get("/files/{file_id}")
async def get_file(request: HttpRequest, file_id: str):
    key = client_key(request)
    return json_response(batches.file_object(await _core(batches.get_file, file_id, api_key_id=key.id)))


@router.get("/files/{file_id}/content")
async def file_content(request: HttpRequest, file_id: str):
    key = client_key(request)
    file, content = await _core(batches.file_content, file_id, api_key_id=key.id)
    return HttpResponse(
        content,
        content_type="application/jsonl",
        headers={"content-disposition": f'attachment; filename="{file.filename}"'},
    )


@router.delete("/files/{file_id}")
async def delete_file(request: HttpRequest, file_id: str):
    key = client_key(request)
    await _core(batches.delete_file, file_id, api_key_id=key.id)
    return json_response({"id": file_id, "object": "file", "deleted": True})


class BatchIn(Schema):
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None


@router.post("/batches")
async def create_batch(request: HttpRequest):
    key = client_key(request)
    try:
        payload = BatchIn.model_validate(parse_body(read_body(request)))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise errors.InvalidRequestError(f"'{where}': {first['msg']}", param=where or None) from None
    batch = await _core(
        batches.submit,
        api_key_id=key.id,
        input_file_id=payload.input_file_id,
        endpoint=payload.endpoint,
        completion_window=payload.completion_window,
        metadata=payload.metadata,
    )
    return json_response(batches.batch_object(batch))


@router.get("/batches")
async def list_batches(request: HttpRequest, after: str | None = None, limit: int = 20):
    key = client_key(request)
    rows, more = await _core(batches.list_batches, api_key_id=key.id, after=after, limit=limit)
    return _page([batches.batch_object(b) for b in rows], more)


@router.get("/batches/{batch_id}")
async def get_batch(request: HttpRequest, batch_id: str):
    key = client_key(request)
    return json_response(batches.batch_object(await _core(batches.status, batch_id, api_key_id=key.id)))


@router.post("/batches/{batch_id}/cancel")
async def cancel_batch(request: HttpRequest, batch_id: str):
    key = client_key(request)
    return json_response(batches.batch_object(await _core(batches.cancel, batch_id, api_key_id=key.id)))
