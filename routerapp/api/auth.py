"""Who a caller is, for /v1 and /api alike: one django-ninja authenticator.

A client key comes as `Authorization: Bearer KEY` or `x-api-key: KEY` and is resolved from the
in-memory routing table by its SHA-256, so authenticating costs no database query. /api also
accepts a staff user's Django session (the dashboard's audience); its management endpoints take an
admin key or a staff session (`admin_auth`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from ninja.security import SessionAuthIsStaff
from ninja.security.base import AuthBase

from routerapp.conf import router_settings
from routerapp.errors import AuthenticationError, PermissionDeniedError
from routerapp.observability.tracing import start_trace, traced
from routerapp.routing.table import KeyInfo, tables


def key_in_headers(headers: Mapping[str, str]) -> str:
    """The key from `Authorization: Bearer` or `x-api-key` (lower-case names; the gate passes the
    ASGI headers before Django has parsed the request)."""
    header = headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    # Some clients (Anthropic-style SDKs, curl users) send the key this way.
    return headers.get("x-api-key", "").strip()


def presented_key(request: HttpRequest) -> str:
    return key_in_headers(request.headers)


class ClientKey(AuthBase):
    """A client key from the routing table, or an OpenAI-shaped 401 naming what is wrong.

    With `starts_request`, authenticating is the request's first stage: its clock and its trace
    (when ROUTER["TRACING"] is on) start here, so the authenticate span is part of the waterfall.
    """

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, *, starts_request: bool = False) -> None:
        super().__init__()
        self.starts_request = starts_request

    def __call__(self, request: HttpRequest) -> Any:
        return self.authenticate(request)

    async def authenticate(self, request: HttpRequest) -> KeyInfo:
        if self.starts_request:
            started = time.perf_counter()
            request.router_started = started  # type: ignore[attr-defined]  # read by request_started()
            if router_settings()["TRACING"]:
                start_trace(started)  # the RecordDraft made for this request picks it up
        return await resolve_key(presented_key(request))


@traced("authenticate")
async def resolve_key(token: str) -> KeyInfo:
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


def client_key(request: HttpRequest) -> KeyInfo:
    """The key an authenticated /v1 request came with."""
    key = request.auth  # type: ignore[attr-defined]  # set by django-ninja
    assert isinstance(key, KeyInfo)
    return key


def request_started(request: HttpRequest) -> float:
    """When the request reached the router (a perf_counter value), as ClientKey noted it."""
    return getattr(request, "router_started", None) or time.perf_counter()


class AdminKey(AuthBase):
    """/api's management endpoints: an admin key (`apikey create NAME --admin`); a client key gets 403.

    Resolved from the same in-memory table as /v1's keys (`resolve_key`), so a call costs no
    database read; a revoked key leaves every process's table within ROUTER["CONFIG_CHECK_S"].
    """

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest) -> Any:
        return self.authenticate(request)

    async def authenticate(self, request: HttpRequest) -> KeyInfo | None:
        token = presented_key(request)
        if not token:
            return None  # no key: the session check (admin_auth's next) decides
        # A key was presented: a wrong one is a 401 here, rather than a fall-through to the session.
        key = await resolve_key(token)
        if not key.is_admin:
            raise PermissionDeniedError(
                "This endpoint needs an admin key or a staff session; client keys can only call /v1.",
                code="admin_required",
            )
        return key


class StaffSession(SessionAuthIsStaff):
    """A staff member's browser session, with ninja's CSRF check, but only when there is a session.

    ninja checks CSRF before it looks at the session, so a request with no credentials at all (an
    API client that forgot its key) was refused as "CSRF check Failed" (403) rather than as
    unauthenticated (401). Without a session cookie there is nothing a forged request could ride
    on: the check is skipped and the next authenticator (a key) decides.
    """

    def _get_key(self, request: HttpRequest) -> str | None:
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)


# /v1: keys only. /api/stats and /api/errors: a staff session, or a key (which then sees its own
# traffic only). The management API: an admin key or a staff session; the key first, because the
# session check insists on a CSRF token, which API clients do not send.
v1_auth = ClientKey(starts_request=True)
api_auth = [StaffSession(), ClientKey()]
admin_auth = [AdminKey(), StaffSession()]
