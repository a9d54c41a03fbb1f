"""The OpenAI-compatible endpoints under /v1: thin; routing happens in routerapp.routing.route()."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Router

from routerapp import errors
from routerapp.api.auth import client_key, request_started, v1_auth
from routerapp.api.gate import body_limit, too_large
from routerapp.api.openapi import (
    CHAT_COMPLETIONS_OPENAPI,
    EMBEDDINGS_OPENAPI,
    MODEL_OPENAPI,
    MODELS_OPENAPI,
)
from routerapp.ensembling import EnsembleStream
from routerapp.providers.base import ChatRequest, EmbeddingRequest, forwardable
from routerapp.routing import Completion, StreamSession, record_rejected, route
from routerapp.routing.cached import CachedStream
from routerapp.routing.embeddings import embed, response_body
from routerapp.routing.table import KeyInfo, tables
from routerapp.validation import chat_request, embedding_request, parse_body

router = Router(tags=["openai"], auth=v1_auth)

JSON = "application/json"
EVENT_STREAM = "text/event-stream"
CHAT = "/v1/chat/completions"
EMBEDDINGS = "/v1/embeddings"
T = TypeVar("T")


def json_response(data: dict, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), status=status, content_type=JSON, headers=headers)


def read_body(request: HttpRequest) -> bytes:
    """The body, within the limit for its path (checked before it was read, by the gate, and
    again here for callers outside it such as ninja's test client)."""
    return within_limit(request.body, request.path)


def within_limit(body: bytes, path: str) -> bytes:
    limit = body_limit(path)
    if len(body) > limit:
        raise too_large(limit)
    return body


def request_id_of(request: HttpRequest) -> str:
    """The id the gate gave this request (routerapp/api/gate.py), or a new one outside it."""
    return getattr(request, "scope", {}).get("request_id") or uuid.uuid4().hex


@dataclass(slots=True)
class Intake:
    """An authenticated /v1 request before routing: when it reached the router, whose it is, its id."""

    started: float
    key: KeyInfo
    request_id: str


@dataclass(slots=True)
class Incoming:
    """What an endpoint's core needs of an authenticated /v1 request: its intake, its body and its
    headers (looked up by lower-case name). Built from Django's HttpRequest by the ninja views and
    from the ASGI scope by the hot path (routerapp/api/hotpath.py): one implementation for both."""

    intake: Intake
    body: bytes
    headers: Mapping[str, str]


def incoming_of(request: HttpRequest) -> Incoming:
    intake = Intake(request_started(request), client_key(request), request_id_of(request))
    # HttpHeaders looks names up case-insensitively, as the hot path's lower-case dict does.
    return Incoming(intake, request.body, request.headers)


@dataclass(slots=True)
class Answer:
    """An endpoint's reply before it is written: by Django for the ninja views, straight to the
    ASGI server by the hot path. `stream`, when set, is the body (server-sent events)."""

    headers: dict[str, str]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    status: int = 200


def django_response(answer: Answer) -> HttpResponse | StreamingHttpResponse:
    if answer.stream is not None:
        return StreamingHttpResponse(answer.stream, content_type=EVENT_STREAM, headers=answer.headers)
    return HttpResponse(answer.body, status=answer.status, content_type=JSON, headers=answer.headers)


def streamed(headers: dict[str, str], events: AsyncIterator[bytes]) -> Answer:
    headers["cache-control"] = "no-cache"
    headers["x-accel-buffering"] = "no"
    return Answer(headers, stream=events)


async def take_in(
    incoming: Incoming, endpoint: str, build: Callable[[dict, Intake], Awaitable[T]]
) -> tuple[Intake, T]:
    """Parse the body and `build` the endpoint's request from it, for every /v1 endpoint that takes
    a body. A request refused here (an unusable body, an unknown field) still leaves its history
    record: it passed authentication, so it reached the router."""
    intake = incoming.intake
    data: dict = {}
    try:
        body = within_limit(incoming.body, endpoint)
        data = parse_body(body, incoming.headers.get("content-type"))
        return intake, await build(data, intake)
    except errors.RouterError as exc:
        record_rejected(
            exc,
            key=intake.key,
            started=intake.started,
            model=data.get("model"),
            request_id=intake.request_id,
            endpoint=endpoint,
        )
        raise


def routed_headers(request_id: str, outcome: Any) -> dict[str, str]:
    """The headers of every routed answer: its id, the router's own time and who answered; for chat
    also the upstream's headers passed on (x-ratelimit-*) and the fields dropped for it."""
    headers = {
        "x-request-id": request_id,
        "x-router-overhead-ms": f"{outcome.overhead_ms:.2f}",
        "x-router-deployment": outcome.deployment_label,
    }
    draft = getattr(outcome, "draft", None)
    headers.update(getattr(draft, "upstream_headers", {}))
    if dropped := getattr(draft, "dropped_params", ()):
        headers["x-router-dropped-params"] = ",".join(dropped)
    return headers


async def chat_completion(incoming: Incoming) -> Answer:
    """POST /v1/chat/completions: the one implementation, for the ninja view and the hot path."""

    async def build(data: dict, intake: Intake) -> ChatRequest:
        chat = chat_request(data, request_id=intake.request_id)
        chat.client_headers = forwardable(incoming.headers)
        if chat.optimize_spec is None:
            chat.optimize_spec = incoming.headers.get("x-router-optimize")
        return chat

    intake, chat = await take_in(incoming, CHAT, build)
    outcome = await route(chat, key=intake.key, started=intake.started)
    headers = routed_headers(chat.request_id, outcome)
    if isinstance(outcome, Completion):
        return Answer(headers, orjson.dumps(outcome.body))
    return streamed(headers, sse(outcome))


@router.post("/chat/completions", openapi_extra=CHAT_COMPLETIONS_OPENAPI)
async def chat_completions(request: HttpRequest):
    return django_response(await chat_completion(incoming_of(request)))


async def sse(session: StreamSession | EnsembleStream | CachedStream) -> AsyncIterator[bytes]:
    """Server-sent events exactly as OpenAI sends them; a broken stream ends with an error event."""
    try:
        async for chunk in session:
            yield b"data: " + orjson.dumps(chunk) + b"\n\n"
    except errors.RouterError as exc:
        yield b"data: " + orjson.dumps(exc.to_dict()) + b"\n\n"
        return
    yield b"data: [DONE]\n\n"


async def embedding(incoming: Incoming) -> Answer:
    """POST /v1/embeddings: the one implementation, for the ninja view and the hot path."""

    async def build(data: dict, intake: Intake) -> EmbeddingRequest:
        return embedding_request(data, request_id=intake.request_id)

    intake, wanted = await take_in(incoming, EMBEDDINGS, build)
    embedded = await embed(wanted, key=intake.key, started=intake.started)
    headers = routed_headers(intake.request_id, embedded)
    return Answer(headers, orjson.dumps(response_body(embedded, wanted)))


@router.post("/embeddings", openapi_extra=EMBEDDINGS_OPENAPI)
async def embeddings(request: HttpRequest):
    return django_response(await embedding(incoming_of(request)))


@router.get("/models", openapi_extra=MODELS_OPENAPI)
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


@router.get("/models/{name}", openapi_extra=MODEL_OPENAPI)
async def get_model(request: HttpRequest, name: str):
    key = client_key(request)
    table = await tables.get()
    if not table.has_model(name) or not key.may_use(name):
        raise errors.ModelNotFoundError.named(name, param=None)
    return json_response({"id": name, "object": "model", "created": 0, "owned_by": "router"})
