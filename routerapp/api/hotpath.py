"""The /v1 hot path: POST /v1/chat/completions, /v1/embeddings and /v1/messages without Django.

The gate (routerapp/api/gate.py) has already given the request its id, authenticated it and read
its body; this module calls the endpoint's core function (the same one the ninja view calls:
`chat_completion`, `embedding`, `message`) and writes its `Answer` straight to the ASGI server.
What it leaves out is Django's request handling: HttpRequest, URL resolving, ninja's operation and
second authentication, HttpResponse, and the request_started/request_finished signals with their
two thread hops (bench/README.md has the profile). Nothing of ours listens to those signals; the
receivers Django connects do nothing for these requests, which never touch the database on the
request's thread (the routing table and health reads run in pool threads that clean up after
themselves, the history writer in its own): tests/api/test_hot_path.py pins that list.

What it keeps, as Django did: a client that disconnects cancels the request (route() then records
it as cancelled and closes the upstream), errors are answered in the endpoint's shape with the
status the error carries, and every response has x-request-id and nosniff.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from email.header import Header

import orjson

from routerapp import errors
from routerapp.api.anthropic import ENDPOINT as MESSAGES
from routerapp.api.anthropic import message
from routerapp.api.coalesce import relay
from routerapp.api.gate import HotPath, Receive, Send, error_dict, with_own_headers
from routerapp.api.openai import CHAT, EMBEDDINGS, Answer, Incoming, Intake, chat_completion, embedding
from routerapp.routing.table import KeyInfo

logger = logging.getLogger(__name__)

Core = Callable[[Incoming], Awaitable[Answer]]

JSON = b"application/json"
EVENT_STREAM = b"text/event-stream"


async def serve(
    core: Core,
    path: str,
    receive: Receive,
    send: Send,
    request_id: str,
    key: KeyInfo,
    started: float,
    body: bytes,
    headers: dict[str, str],
) -> None:
    """Answer one admitted request with `core`, cancelling it if the client goes away."""
    incoming = Incoming(Intake(started, key, request_id), body, headers)
    task = asyncio.current_task()
    assert task is not None
    left = False

    async def cancel_on_disconnect() -> None:
        # The body has been read: the next message can only be the client leaving.
        nonlocal left
        if (await receive())["type"] == "http.disconnect":
            left = True
            task.cancel()

    watcher = asyncio.get_running_loop().create_task(cancel_on_disconnect())
    try:
        answer = await answer_of(core, path, incoming)
        await write(answer, send, request_id, path)
    except asyncio.CancelledError:
        if not left:
            raise  # the server is stopping, not the client leaving
        task.uncancel()  # handled: the client is gone, route() has recorded it
    finally:
        watcher.cancel()


async def answer_of(core: Core, path: str, incoming: Incoming) -> Answer:
    """The core's answer, or its error in the endpoint's shape (what the ninja error handlers do)."""
    try:
        return await core(incoming)
    except errors.RouterError as exc:
        return error_answer(path, exc)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("unhandled error on POST %s", path)
        return error_answer(path, errors.RouterError.unexpected())


def error_answer(path: str, error: errors.RouterError) -> Answer:
    return Answer(error.headers(), orjson.dumps(error_dict(path, error)), status=error.status)


async def write(answer: Answer, send: Send, request_id: str, path: str) -> None:
    try:
        start = response_start(answer, request_id)
    except errors.RouterError as exc:  # a header Django would refuse too: a bug of ours
        logger.error("refused a response header on POST %s: %s", path, exc)
        answer = error_answer(path, exc)
        start = response_start(answer, request_id)
    await send(start)
    stream = answer.stream
    if stream is None:
        await send({"type": "http.response.body", "body": answer.body})
        return

    async def write_body(part: bytes, more: bool) -> None:
        await send({"type": "http.response.body", "body": part, "more_body": more})

    try:
        await relay(stream, write_body)  # the events that arrived together, in one write
    finally:
        await stream.aclose()  # type: ignore[attr-defined]  # an async generator: its cleanup runs now


def response_start(answer: Answer, request_id: str) -> dict:
    stream = answer.stream
    raw = [(b"content-type", JSON if stream is None else EVENT_STREAM)]
    if stream is None:
        raw.append((b"content-length", str(len(answer.body)).encode()))
    raw += [(name.lower().encode("latin-1"), header_value(value)) for name, value in answer.headers.items()]
    return {
        "type": "http.response.start",
        "status": answer.status,
        "headers": with_own_headers(raw, request_id),
    }


def header_value(value: str) -> bytes:
    """A header value as Django's HttpResponse encodes it: latin-1, else MIME-encoded UTF-8; a line
    break is refused (a header injection), as Django refuses it."""
    if "\n" in value or "\r" in value:
        raise errors.RouterError.unexpected()
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return Header(value, "utf-8", maxlinelen=sys.maxsize).encode().encode("ascii")


# The paths served here, each by its endpoint's one core function; everything else under /v1 goes
# through Django (asgi.ApiHandler) and ninja.
HOT_PATHS: dict[str, HotPath] = {
    path: functools.partial(serve, core, path)
    for path, core in ((CHAT, chat_completion), (EMBEDDINGS, embedding), (MESSAGES, message))
}
