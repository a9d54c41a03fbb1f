"""Client authentication for the OpenAI-compatible API: bearer keys checked against their hashes."""

from __future__ import annotations

from django.http import HttpRequest

from routerapp.errors import AuthenticationError
from routerapp.observability.tracing import traced
from routerapp.routing.table import KeyInfo, tables


def bearer_token(request: HttpRequest) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    # Some clients (Anthropic-style SDKs, curl users) send the key this way.
    return request.headers.get("x-api-key", "").strip()


@traced("authenticate")
async def authenticate(request: HttpRequest) -> KeyInfo:
    token = bearer_token(request)
    if not token:
        raise AuthenticationError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'.",
            code="missing_api_key",
        )
    table = await tables.get()
    key = table.key_for(token)
    if key is None:
        # Maybe the key was created a moment ago in another process: look once more, fresh.
        key = (await tables.get(force_check=True)).key_for(token)
    if key is None:
        # Never echo the key back, not even in part.
        raise AuthenticationError("Incorrect API key provided.")
    return key
