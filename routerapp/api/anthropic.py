"""Anthropic's Messages API under /v1/messages: thin; translation lives in routerapp.anthropic_format,
routing in routerapp.routing.route(), as for /v1/chat/completions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from django.http import HttpRequest
from ninja import Router

from routerapp import anthropic_format, errors
from routerapp.api.auth import v1_auth
from routerapp.api.openai import (
    Answer,
    Incoming,
    Intake,
    django_response,
    incoming_of,
    json_response,
    routed_headers,
    streamed,
    take_in,
)
from routerapp.ensembling import EnsembleStream
from routerapp.providers.base import ChatRequest, NativeBody, forwardable
from routerapp.routing import Completion, StreamSession, record_answered, route
from routerapp.routing.cached import CachedStream
from routerapp.routing.table import tables
from routerapp.validation import ROUTER_OPTIONS, chat_request

router = Router(tags=["anthropic"], auth=v1_auth)

ENDPOINT = "/v1/messages"


async def message(incoming: Incoming) -> Answer:
    """POST /v1/messages: the one implementation, for the ninja view and the hot path."""
    data: dict = {}

    async def build(body: dict, intake: Intake) -> ChatRequest:
        data.update(body)
        chat = chat_request(anthropic_format.chat_body(body), request_id=intake.request_id)
        chat.client_headers = forwardable(incoming.headers)
        chat.endpoint = ENDPOINT
        native = {k: v for k, v in body.items() if k not in ROUTER_OPTIONS or k == "metadata"}
        chat.native = NativeBody("anthropic", native, chat.messages, chat.params)
        return chat

    intake, chat = await take_in(incoming, ENDPOINT, build)
    outcome = await route(chat, key=intake.key, started=intake.started)
    headers = routed_headers(chat.request_id, outcome)
    headers["request-id"] = chat.request_id  # the header the Anthropic SDK reads (`_request_id`)
    # What the deployment did not get: the fields the router dropped for it (drop_params), and the
    # Anthropic-only settings unless the client's own body went to an Anthropic deployment.
    dropped = set(getattr(getattr(outcome, "draft", None), "dropped_params", ()))
    if isinstance(outcome, Completion):
        served_natively = outcome.result.native is not None
    else:
        served_natively = (
            isinstance(outcome, StreamSession)
            and outcome.opened.call.chat.native_body(outcome.opened.call.adapter.kind) is not None
        )
    if not served_natively:
        dropped.update(anthropic_format.dropped_fields(data))
    if dropped:
        headers["x-router-dropped-params"] = ",".join(sorted(dropped))
    if isinstance(outcome, Completion):
        native_answer = outcome.result.native
        if native_answer is not None:
            body = {**native_answer, "model": chat.model}
        else:
            body = anthropic_format.message(outcome.body, chat.model)
        return Answer(headers, orjson.dumps(body))
    prompt_tokens = outcome.attempter.prompt_tokens if isinstance(outcome, StreamSession) else 0
    encoder = anthropic_format.StreamEncoder(chat.model, input_tokens=prompt_tokens)
    return streamed(headers, sse(outcome, encoder))


@router.post("/messages")
async def messages(request: HttpRequest):
    return django_response(await message(incoming_of(request)))


async def sse(
    session: StreamSession | EnsembleStream | CachedStream, encoder: anthropic_format.StreamEncoder
) -> AsyncIterator[bytes]:
    """Anthropic's event stream; a broken stream ends with an `error` event, never message_stop."""
    try:
        async for chunk in session:
            for event in encoder.feed(chunk):
                yield event
    except errors.RouterError as exc:
        yield encoder.error(exc)
        return
    for event in encoder.finish():
        yield event


@router.post("/messages/count_tokens")
async def count_tokens(request: HttpRequest):
    """The prompt's token count, estimated the way the router estimates prompts (~4 characters a
    token) for every kind of deployment: a budget check for clients, not a bill."""
    endpoint = ENDPOINT + "/count_tokens"

    async def build(data: dict, intake: Intake) -> dict:
        # count_tokens takes no max_tokens; the translation insists on one (Anthropic requires it).
        body = anthropic_format.chat_body({**data, "max_tokens": 1})
        table = await tables.get()
        if not table.has_model(body["model"]) or not intake.key.may_use(body["model"]):
            raise errors.ModelNotFoundError.named(body["model"])
        return body

    intake, body = await take_in(incoming_of(request), endpoint, build)
    request_id = intake.request_id
    record_answered(
        key=intake.key, started=intake.started, model=body["model"], request_id=request_id, endpoint=endpoint
    )
    return json_response(
        {"input_tokens": anthropic_format.count_tokens(body)}, headers={"request-id": request_id}
    )
