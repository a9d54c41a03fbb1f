"""ASGI entry point: Django plus the lifespan events Django does not handle itself.

On shutdown (SIGTERM, Ctrl-C) the history writer flushes what is queued and the pooled upstream
clients close, so a graceful stop loses no history.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routerapp.settings")

from asgiref.sync import sync_to_async  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()


async def application(scope, receive, send):
    if scope["type"] != "lifespan":
        return await django_application(scope, receive, send)
    from routerapp.history import writer
    from routerapp.providers import close_clients

    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await close_clients()
            await sync_to_async(writer.flush, thread_sensitive=False)()
            await send({"type": "lifespan.shutdown.complete"})
            return
