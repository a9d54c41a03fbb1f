"""The playground: try a prompt on one model (or 2–4 side by side) and see how the router served it.

The page is one form; a small script (static/dashboard/playground.js) POSTs each model's request to
`playground_stream` and reads the answer as server-sent events: `text` events while it streams,
then one `summary` event carrying the rendered summary panel. Requests go through route() via
routerapp.routing.interactive.converse, like `manage.py ask`, and leave history records like any.
The optimizer toggles send the request's `optimize` switches (routerapp.optimizer.switches), and
the thumbs under an answer POST to the JSON API's `POST /api/queries/{request_id}/feedback` with the
staff session (django-ninja checks its CSRF token).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import orjson
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from routerapp import errors
from routerapp.optimizer.switches import STRATEGIES
from routerapp.routing import record_rejected
from routerapp.routing.interactive import Summary, converse
from routerapp.routing.table import load_table
from routerapp.validation import chat_request

MAX_COMPARE = 4
ROLES = ("user", "assistant")
STRATEGY_LABELS = {
    "compress": "Compress prompt",
    "instructions": "Task instructions",
    "params": "Parameter defaults",
    "select": "Learned model selection",
    "cache": "Response cache",
}
assert set(STRATEGY_LABELS) == set(STRATEGIES)


@require_GET
@staff_member_required
def playground(request: HttpRequest) -> HttpResponse:
    # Sync on purpose: the page renders `user` (a lazy ORM lookup). One table load per page view.
    names = load_table().model_names()
    strategies = [(name, STRATEGY_LABELS[name]) for name in STRATEGIES]
    return render(
        request,
        "dashboard/playground.html",
        {"models": names, "max_compare": MAX_COMPARE, "strategies": strategies},
    )


def request_body(form: dict) -> dict:
    """The OpenAI request body for the playground's form: validated by chat_request like /v1's."""
    messages = [{"role": "system", "content": form["system"]}] if form.get("system") else []
    for message in form.get("messages") or ():
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise errors.InvalidRequestError(
                "Each message needs a role: user or assistant.", param="messages"
            )
        if str(message.get("content") or "").strip():
            messages.append({"role": message["role"], "content": str(message["content"])})
    body: dict = {"model": form.get("model"), "messages": messages, "stream": True}
    # The toggles: `["compress", "-cache"]`, each left at "model default" absent; checked by route().
    for name in ("temperature", "max_tokens", "optimize"):
        if form.get(name) not in (None, ""):
            body[name] = form[name]
    return body


@require_POST
@staff_member_required
async def playground_stream(request: HttpRequest) -> HttpResponseBase:
    started = time.perf_counter()
    form: dict = {}
    try:
        form = orjson.loads(request.body)
        if not isinstance(form, dict):
            raise errors.InvalidRequestError("The playground sends a JSON object.")
        chat = chat_request(request_body(form))
    except (orjson.JSONDecodeError, errors.RouterError) as exc:
        error = (
            exc if isinstance(exc, errors.RouterError) else errors.InvalidRequestError("Body is not JSON.")
        )
        record_rejected(error, key=None, started=started, model=form.get("model"))
        return JsonResponse(error.to_dict(), status=error.status)
    return StreamingHttpResponse(
        _events(chat),
        content_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no", "x-request-id": chat.request_id},
    )


def _event(name: str, data: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _events(chat) -> AsyncIterator[bytes]:
    async for piece in converse(chat):
        if isinstance(piece, Summary):
            # Rendered by the template (escaped); the script inserts it as it is.
            html = render_to_string("dashboard/partials/playground_summary.html", {"s": piece})
            yield _event("summary", {"html": html, "request_id": piece.request_id, "status": piece.status})
        else:
            yield _event("text", {"text": piece})
