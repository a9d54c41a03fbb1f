"""ASGI entry point: Django plus the lifespan events Django does not handle itself.

On shutdown (SIGTERM, Ctrl-C) the history writer flushes what is queued and the pooled upstream
clients close, so a graceful stop loses no history.

Requests under /v1/ (the OpenAI-compatible API) go through the `Gate` (request id, authentication
and size checks before the body is read; routerapp/api/gate.py). POST /v1/chat/completions,
/v1/embeddings and /v1/messages then go to the hot path (routerapp/api/hotpath.py), which calls
the endpoints' core functions without Django's request handling; the rest of /v1 goes to
`ApiHandler`: the same Django, URLs and views, without the middleware the API does not use. Everything else
(admin, dashboard, /api) gets Django's full stack; /api's responses carry x-request-id too.
"""

from __future__ import annotations

import gc
import os
from importlib import import_module

import genai_prices

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routerapp.settings")

from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402

django_application = get_asgi_application()


class ApiHandler(ASGIHandler):
    """Django for /v1/ without the per-request threads (bench/README.md has the numbers).

    Django's built-in middleware (security, sessions, common, CSRF, auth, messages, X-Frame) are
    MiddlewareMixin classes: under ASGI each runs its process_request and process_response through
    sync_to_async, and ASGIHandler starts a fresh thread per request for those calls. That was
    about 14 thread hops and one thread start per request, most of the router's CPU. The API
    authenticates with bearer keys and sets no cookies, renders no templates and needs no CSRF,
    so it runs with no middleware; and without a per-request ThreadSensitiveContext the few sync
    calls left (Django's request_started/finished signals) share one long-lived thread.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list = []
        self._template_response_middleware: list = []
        self._exception_middleware: list = []
        # BaseHandler's own async view runner, which django-stubs does not declare.
        self._middleware_chain = convert_exception_to_response(self._get_response_async)  # type: ignore[attr-defined]

    async def __call__(self, scope, receive, send):
        await self.handle(scope, receive, send)


from routerapp import heap, production  # noqa: E402
from routerapp.api.gate import Gate, RequestIds  # noqa: E402  (needs the settings configured above)
from routerapp.api.hotpath import HOT_PATHS  # noqa: E402
from routerapp.optimizer import detect  # noqa: E402

api_application = Gate(ApiHandler(), hot=HOT_PATHS)
management_application = RequestIds(django_application)


GC_YOUNG_THRESHOLD = 5000


def freeze_startup_objects() -> None:
    """Keep the garbage collector's full passes off the objects that live as long as the process.

    A loaded Django process holds ~130k objects (modules, URL patterns, models); without this every
    full collection walks them all: pauses of ~60 ms, several per 10k requests, measured as the
    router's max latency. Frozen, they are skipped and a full pass only sees recent objects.
    """
    import_module(settings.ROOT_URLCONF)  # the URLconf imports the API and the router: freeze them too
    genai_prices.data_snapshot.get_snapshot()  # the price catalogue (~20k objects), loaded by the first bill
    detect.model()  # the task detector's tables (~0.5 s to build): before the first request, not in it
    gc.collect()
    gc.freeze()
    # The youngest generation is collected after 5,000 net new containers, not Python's 700. A
    # request in flight holds a few hundred (its draft, spans, messages, aiohttp's objects), so at
    # 700 a collection came every few requests and walked those of all 32 in flight each time,
    # before they died by refcount anyway: measured at 32 in flight (8,300 requests), 0.45-0.53 s
    # of collections at 700 against 0.15-0.20 s at 5,000, each pass then 2-5 ms.
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    # What startup built and dropped (the detector's full vocabulary, for its clusters) goes back
    # to the system, and the threads to come share two malloc arenas (routerapp/heap.py).
    heap.limit_arenas()
    heap.release()


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith("/v1/"):
        return await api_application(scope, receive, send)
    if scope["type"] == "http" and scope["path"].startswith("/api/"):
        return await management_application(scope, receive, send)
    if scope["type"] != "lifespan":
        return await django_application(scope, receive, send)
    from routerapp.observability.writer import writer
    from routerapp.providers import close_clients

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            refusals = production.problems()
            if refusals:  # `serve` says so before starting; this is for other ASGI servers
                await send({"type": "lifespan.startup.failed", "message": "; ".join(refusals)})
                return
            freeze_startup_objects()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await close_clients()
            await sync_to_async(writer.flush, thread_sensitive=False)()
            await send({"type": "lifespan.shutdown.complete"})
            return
