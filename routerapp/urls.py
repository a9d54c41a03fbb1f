from __future__ import annotations

from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from routerapp import errors
from routerapp.api import api, error_response, openai_api
from routerapp.api.metrics import metrics


def static_file(request: HttpRequest, path: str) -> HttpResponse:
    """The admin's and the dashboard's few small static files, straight from the apps: uvicorn
    serves none itself. (A reverse proxy or CDN may take them over after collectstatic.)"""
    response = serve_static(request, path, insecure=True)
    if not response.streaming:
        return response
    # Read the file here: under ASGI a FileResponse's sync iterator is consumed with a warning.
    plain = HttpResponse(b"".join(response.streaming_content), status=response.status_code)
    for header, value in response.items():
        plain[header] = value
    response.close()
    return plain


def v1_not_found(request: HttpRequest, rest: str):
    return error_response(
        errors.InvalidRequestError(
            f"Unknown endpoint: {request.method} /v1/{rest}", status=404, code="unknown_url"
        )
    )


urlpatterns = [
    path("v1/", openai_api.urls),
    re_path(r"^v1/(?P<rest>.*)$", v1_not_found),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("metrics", metrics, name="metrics"),
    path("dashboard/", include("dashboard.urls")),
    re_path(r"^static/(?P<path>.*)$", static_file),
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
]
