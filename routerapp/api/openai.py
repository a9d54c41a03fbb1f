"""The OpenAI-compatible endpoints under /v1: thin; routing happens in routerapp.routing.route()."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Router

from routerapp import errors
from routerapp.api.auth import client_key, request_started, v1_auth
from routerapp.ensembling import EnsembleStream
from routerapp.routing import Completion, StreamSession, record_rejected, route
from routerapp.routing.cached import CachedStream
from routerapp.routing.table import tables
from routerapp.validation import chat_request, parse_body

router = Router(tags=["openai"], auth=v1_auth)

JSON = "application/json"


def json_response(data: dict, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), status=status, content_type=JSON, headers=headers)


def read_body(request: HttpRequest) -> bytes:
    limit = settings.ROUTER["MAX_BODY_BYTES"]
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.RequestTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
    body = request.body
    if len(body) > limit:
        raise errors.RequestTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
    return body


@router.post("/chat/completions")
async def chat_completions(request: HttpRequest):
    started = request_started(request)
    key = client_key(request)
    data: dict = {}
    try:
        data = parse_body(read_body(request))
        chat = chat_request(data)
        if chat.optimize_spec is None:
            chat.optimize_spec = request.headers.get("x-router-optimize")
    except errors.RouterError as exc:
        # Authenticated requests leave a record even when their body is unusable.
        record_rejected(exc, key=key, started=started, model=data.get("model"))
        raise
    outcome = await route(chat, key=key, started=started)
    headers = {
        "x-request-id": chat.request_id,
        "x-router-overhead-ms": f"{outcome.overhead_ms:.2f}",
        "x-router-deployment": outcome.deployment_label,
    }
    if isinstance(outcome, Completion):
        return json_response(outcome.body, headers=headers)
    headers["cache-control"] = "no-cache"
    headers["x-accel-buffering"] = "no"
    return StreamingHttpResponse(sse(outcome), content_type="text/event-stream", headers=headers)


async def sse(session: StreamSession | EnsembleStream | CachedStream) -> AsyncIterator[bytes]:
    """Server-sent events exactly as OpenAI sends them; a broken stream ends with an error event."""
    try:
        async for chunk in session:
            yield b"data: " + orjson.dumps(chunk) + b"\n\n"
    except errors.RouterError as exc:
        yield b"data: " + orjson.dumps(exc.to_dict()) + b"\n\n"
        return
    yield b"data: [DONE]\n\n"


@router.get("/models")
async def list_models(request: HttpRequest):
    key = client_key(request)
    table = await tables.get()
    names = [name for name in table.model_names() if key.may_use(name)]
    return json_response(
        {
            "object": "list",
            "data": [{"id": n, "object": "model", "created": 0, "owned_by": "router"} for n in names],
        }
    )


@router.get("/models/{name}")
async def get_model(request: HttpRequest, name: str):
    key = client_key(request)
    table = await tables.get()
    if not table.has_model(name) or not key.may_use(name):
        raise errors.ModelNotFoundError(f"The model '{name}' does not exist or you do not have access to it.")
    return json_response({"id": name, "object": "model", "created": 0, "owned_by": "router"})
