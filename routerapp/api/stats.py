"""GET /api/stats and GET /api/errors: the statistics the dashboard shows, as JSON.

Who may ask: a staff user's Django session sees everything (the dashboard's audience); a client
API key (Authorization: Bearer sk-rt-… or x-api-key) sees the totals of its own traffic only, never another
tenant's requests or spend.
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from routerapp import stats
from routerapp.api.auth import api_auth
from routerapp.routing.table import KeyInfo

router = Router(tags=["stats"], auth=api_auth)


def _key_scope(request: HttpRequest) -> int | None:
    """The key whose traffic the caller may see; None for staff (everything)."""
    auth = getattr(request, "auth", None)  # set by django-ninja: a staff user or a KeyInfo
    return auth.id if isinstance(auth, KeyInfo) else None


@router.get("/stats")
def get_stats(
    request: HttpRequest,
    window: stats.WindowName = "1h",
    by: stats.GroupingName | None = None,
    series: bool = False,
):
    """Requests, RPS, error rates by type, p50/p95/p99 latency and time to first token, tokens, cost
    and the slowest requests over the window, overall and per group."""
    key_id = _key_scope(request)
    if key_id is not None and by is not None:
        raise HttpError(
            403, "An API key sees the totals of its own traffic only; grouping needs a staff session."
        )
    numbers = stats.WindowStats(window, by, key_id=key_id)
    body = numbers.report().as_dict()
    if series and key_id is None:
        body["series"] = numbers.series().as_dict()
    return body


@router.get("/errors")
def get_errors(
    request: HttpRequest, window: stats.WindowName = "24h", order: Literal["recent", "count"] = "recent"
):
    """Failures grouped by error type, provider, deployment and normalised message."""
    if _key_scope(request) is not None:
        raise HttpError(403, "Error groups span every client; they need a staff session.")
    return {
        "window": window,
        "order": order,
        "groups": [g.as_dict() for g in stats.error_groups(window, order=order)],
    }
