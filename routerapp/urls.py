from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from routerapp import errors
from routerapp.api import anthropic_api, anthropic_error_response, api, error_response, openai_api
from routerapp.api.gate import ANTHROPIC_PATHS
from routerapp.api.metrics import metrics
from routerapp.api.probes import liveness, readiness_view


def v1_not_found(request: HttpRequest, rest: str):
    error = errors.InvalidRequestError(
        f"Unknown endpoint: {request.method} /v1/{rest}", status=404, code="unknown_url"
    )
    if request.path.startswith(ANTHROPIC_PATHS):
        return anthropic_error_response(error)
    return error_response(error)


urlpatterns = [
    path("v1/", anthropic_api.urls),  # /v1/messages first: Anthropic's error shape there
    path("v1/", openai_api.urls),
    re_path(r"^v1/(?P<rest>.*)$", v1_not_found),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("metrics", metrics, name="metrics"),
    path("health/liveness", liveness, name="liveness"),
    path("health/readiness", readiness_view, name="readiness"),
    path("dashboard/", include("dashboard.urls")),
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
]
