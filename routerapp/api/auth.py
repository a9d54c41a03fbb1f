"""Client authentication for the OpenAI-compatible API: bearer keys checked against their hashes."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import SessionAuthIsStaff
from ninja.security.base import AuthBase

from routerapp.errors import AuthenticationError, PermissionDeniedError
from routerapp.models import ApiKey, hash_key
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


class AdminKey(AuthBase):
    """/api's management endpoints: an admin key (`apikey create NAME --admin`); a client key gets 403.

    Looked up in the database rather than the routing table: these endpoints are sync and rare, and
    a key revoked a moment ago must not manage anything, in any process.
    """

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest) -> ApiKey | None:
        token = bearer_token(request)
        if not token:
            return None
        key = ApiKey.objects.filter(key_hash=hash_key(token), enabled=True).first()
        if key is None:
            # A key was presented and is wrong: say so, rather than fall through to the session check.
            raise AuthenticationError("Incorrect API key provided.")
        if not key.is_admin:
            raise PermissionDeniedError(
                "This endpoint needs an admin key or a staff session; client keys can only call /v1.",
                code="admin_required",
            )
        return key


# The management API: a staff user's session (the admin's and dashboard's users) or an admin key.
# The key first: the session check insists on a CSRF token, which API clients do not send.
admin_auth = [AdminKey(), SessionAuthIsStaff()]
