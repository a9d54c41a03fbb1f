"""The ASGI front of /v1: what must happen before Django reads a request, and to every response.

Before the body is read: a request id is assigned (scope["request_id"], the id the history
record is stored under), the client is authenticated and the declared Content-Length is checked,
so a 300 MB upload without credentials costs a header parse, not a spooled temporary file. The
body is then read here, at most the limit (a body without Content-Length, or lying about it, is
cut off at the limit with a 413), and handed to Django in one piece.

Every response gets the `x-request-id` header, and an error Django or ninja answers in HTML or
plain text (405 Method Not Allowed, for one) is rewritten in OpenAI's error shape. /api gets the
same two (`RequestIds`), through Django's full stack.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from routerapp import anthropic_format, errors
from routerapp.api.auth import key_in_headers, resolve_key
from routerapp.conf import router_settings
from routerapp.observability.tracing import start_trace
from routerapp.observability.writer import writer
from routerapp.routing import record_rejected
from routerapp.routing.table import KeyInfo

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# A hot path's handler (routerapp/api/hotpath.py): receive, send, request id, key, start, body, headers.
HotPath = Callable[[Receive, Send, str, KeyInfo, float, bytes, dict[str, str]], Awaitable[None]]

BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Room for the multipart framing around an uploaded batch file: field names, boundaries, part headers.
MULTIPART_SLACK_BYTES = 64 * 1024


def body_limit(path: str) -> int:
    """The largest body accepted on `path`, in bytes: batch files have their own limit."""
    if path.startswith("/v1/files"):
        return router_settings()["BATCH_MAX_FILE_BYTES"] + MULTIPART_SLACK_BYTES
    return router_settings()["MAX_BODY_BYTES"]


# Anthropic's endpoints answer errors in Anthropic's shape, the one its SDK parses.
ANTHROPIC_PATHS = ("/v1/messages",)


def error_dict(path: str, error: errors.RouterError) -> dict[str, Any]:
    if path.startswith(ANTHROPIC_PATHS):
        return anthropic_format.error_body(error)
    return error.to_dict()


def too_large(limit: int) -> errors.RequestTooLargeError:
    return errors.RequestTooLargeError(f"The request body exceeds the limit of {limit} bytes.")


class Gate:
    """`app` (Django) serves what passed the gate, except the paths in `hot`: those are answered by
    the hot path (routerapp/api/hotpath.py) without Django, from the request as read here."""

    def __init__(self, app: ASGIApp, hot: Mapping[str, HotPath] | None = None) -> None:
        self.app = app
        self.hot = hot or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # How busy the process is: the history writer batches its deferred bookkeeping while
        # others are being served, and runs it at once for a request served alone.
        writer.serving += 1
        try:
            await self._serve(scope, receive, send)
        finally:
            writer.serving -= 1

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id, path = new_request_id(scope), scope["path"]
        tagged = with_request_id(send, request_id, path)
        headers = header_dict(scope["headers"])
        hot = self.hot.get(path) if scope["method"] == "POST" else None
        if hot is not None and router_settings()["TRACING"]:
            # The request's trace starts here (in Django, ClientKey starts it): the gate's
            # authentication is its first span.
            start_trace(started)
        try:
            # Every /v1 path needs a key (the OpenAPI schema included); views authenticate again,
            # which costs a hash and a dict lookup, and keeps them correct outside the gate.
            key = await resolve_key(key_in_headers(headers))
        except errors.AuthenticationError as exc:
            return await send_error(tagged, exc, path)
        if scope["method"] in BODYLESS_METHODS:
            return await self.app(scope, receive, tagged)
        limit = body_limit(path)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return await reject(tagged, too_large(limit), request_id, key, started, path)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body: nothing to answer
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return await reject(tagged, too_large(limit), request_id, key, started, path)
            if not message.get("more_body", False):
                break
        # Most bodies come in one message, used as it is; a batch file in thousands is joined once
        # (adding each chunk to the bytes so far copied the whole body again per chunk).
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if hot is not None:
            return await hot(receive, send, request_id, key, started, body, headers)
        await self.app(scope, replay(body, receive), tagged)


def header_dict(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request's headers by lower-case name; a repeated one joined with commas, as Django does."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    return headers


class RequestIds:
    """/api over Django's full stack: the request id and error shape of /v1, without the gate
    (the management API also takes a staff session, and its bodies are small)."""

    # Django's ASGIHandler types its scope more narrowly than this module's ASGIApp.
    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, tag(scope, send))


def tag(scope: Scope, send: Send) -> Send:
    """Give the request its id and every response the x-request-id header, for /api."""
    return with_request_id(send, new_request_id(scope), scope["path"])


# The request ids' own generator: seeded from the kernel once, and again in a forked worker (which
# would otherwise repeat its parent's sequence). Not the `random` module's shared one: whatever
# calls random.seed() (a library, a test framework such as hypothesis) would make ids repeat, and
# the history writer then refused their records as duplicates.
_ids = random.Random()
os.register_at_fork(after_in_child=_ids.seed)


def new_request_id(scope: Scope) -> str:
    """The request's id, in scope["request_id"]: the id its history record is stored under.

    128 random bits as uuid4 has them, from a PRNG seeded by the kernel (`_ids`) rather than the
    kernel itself: uuid4's getrandom() call was ~40 us a request under load. The id is no secret
    (it is in the response, and looking a record up by it takes the key that made it or a staff
    session); it only has to be unique.
    """
    request_id = f"{_ids.getrandbits(128):032x}"
    scope["request_id"] = request_id
    return request_id


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that yields the body already read, then waits for what the client does next."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


OWN_HEADERS = (b"x-request-id", b"x-content-type-options")


def with_own_headers(headers: list[tuple[bytes, bytes]], request_id: str) -> list[tuple[bytes, bytes]]:
    """A response's headers with the router's own set last, whatever the answer set for them:
    x-request-id, and nosniff (/v1 runs without Django's SecurityMiddleware, asgi.ApiHandler)."""
    kept = [(k, v) for k, v in headers if k.lower() not in OWN_HEADERS]
    return [*kept, (b"x-request-id", request_id.encode()), (b"x-content-type-options", b"nosniff")]


def with_request_id(send: Send, request_id: str, path: str) -> Send:
    """Add x-request-id to the response; turn a non-JSON error response into an OpenAI-shaped one
    (Anthropic-shaped on Anthropic's endpoints)."""
    held: Message | None = None

    async def send_with_id(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start":
            headers = with_own_headers(message.get("headers", ()), request_id)
            message = {**message, "headers": headers}
            if message["status"] >= 400 and not is_json(headers):
                held = message  # its body is replaced once Django has finished sending it
                return
            await send(message)
        elif held is not None:
            if not message.get("more_body", False):
                await send_replacement(send, held, path)
        else:
            await send(message)

    return send_with_id


def is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and b"json" in v.lower() for k, v in headers)


async def send_replacement(send: Send, start: Message, path: str) -> None:
    status = start["status"]
    error: errors.RouterError
    if status == 405:
        error = errors.InvalidRequestError(
            "Method not allowed on this endpoint.", status=405, code="method_not_allowed"
        )
    elif status == 404:
        error = errors.InvalidRequestError("Not found.", status=404, code="not_found")
    elif status < 500:
        error = errors.InvalidRequestError("The request could not be processed.", status=status)
    else:
        error = errors.RouterError.unexpected()
    kept = [(k, v) for k, v in start["headers"] if k.lower() not in (b"content-type", b"content-length")]
    await send_json(send, status, error_dict(path, error), kept)


async def send_json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]]) -> None:
    payload = orjson.dumps(body)
    headers = [
        *headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def send_error(send: Send, error: errors.RouterError, path: str) -> None:
    headers = [(k.encode(), v.encode()) for k, v in error.headers().items()]
    # The client may still be sending a body we will not read: tell it the connection ends here.
    headers.append((b"connection", b"close"))
    await send_json(send, error.status, error_dict(path, error), headers)


async def reject(
    send: Send, error: errors.RouterError, request_id: str, key: KeyInfo, started: float, path: str
) -> None:
    """Answer an authenticated request refused here, leaving its history record."""
    record_rejected(error, key=key, started=started, request_id=request_id, endpoint=path[:40])
    await send_error(send, error, path)
