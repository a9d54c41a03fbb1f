"""GET /metrics: Prometheus text format, for a bearer token (ROUTER["METRICS_TOKEN"]).

Without a configured token the endpoint does not exist (404), so a default install exposes no
traffic numbers. The metric objects live in routerapp.observability.metrics.
"""

from __future__ import annotations

import hmac
import os

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from routerapp.api.auth import presented_key
from routerapp.conf import router_settings


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = router_settings()["METRICS_TOKEN"]
    if not token:
        raise Http404("metrics are disabled: set ROUTER_METRICS_TOKEN")
    if not hmac.compare_digest(presented_key(request).encode(), token.encode()):
        return HttpResponse("unauthorized\n", status=401, headers={"WWW-Authenticate": "Bearer"})
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several server processes: report the sum of what each wrote to the shared directory.
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
