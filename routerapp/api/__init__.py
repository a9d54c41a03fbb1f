"""django-ninja APIs: `openai_api` at /v1 (OpenAI-compatible), `anthropic_api` at /v1/messages
(Anthropic-compatible) and `api` at /api (management JSON API).

Domain errors become HTTP in one place each: `install_error_handlers`, in each API's error shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError as NinjaAuthError
from ninja.errors import HttpError, ValidationError

from routerapp import anthropic_format, errors
from routerapp.api.anthropic import router as anthropic_router
from routerapp.api.batch_admin import router as batch_admin_router
from routerapp.api.batches import router as batches_router
from routerapp.api.catalog import router as catalog_router
from routerapp.api.config import router as config_router
from routerapp.api.health import router as health_router
from routerapp.api.keys import router as keys_router
from routerapp.api.openai import json_response
from routerapp.api.openai import router as openai_router
from routerapp.api.optimizer import router as optimizer_router
from routerapp.api.queries import router as queries_router
from routerapp.api.stats import router as stats_router

logger = logging.getLogger(__name__)


def error_response(error: errors.RouterError):
    return json_response(error.to_dict(), status=error.status, headers=error.headers())


def anthropic_error_response(error: errors.RouterError):
    return json_response(anthropic_format.error_body(error), status=error.status, headers=error.headers())


def install_error_handlers(
    api: NinjaAPI, error_response: Callable[[errors.RouterError], HttpResponse] = error_response
) -> None:
    @api.exception_handler(errors.RouterError)
    def router_error(request: HttpRequest, exc: errors.RouterError):
        return error_response(exc)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError):
        first = exc.errors[0] if exc.errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "payload"))
        message = f"{where}: {first.get('msg', 'invalid value')}" if where else "Invalid request."
        return error_response(errors.InvalidRequestError(message, param=where or None))

    @api.exception_handler(NinjaAuthError)
    def auth_error(request: HttpRequest, exc: NinjaAuthError):
        return error_response(errors.AuthenticationError("Missing or invalid credentials."))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError):
        return error_response(errors.InvalidRequestError(str(exc), status=exc.status_code))

    @api.exception_handler(MultiPartParserError)
    def bad_multipart(request: HttpRequest, exc: MultiPartParserError):
        # A client's broken upload (no boundary, truncated parts), found by tests/security/test_fuzz.py.
        return error_response(errors.InvalidRequestError(f"The multipart body cannot be parsed: {exc}"))

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception):
        # A bug must still answer in the shape clients parse, without a traceback.
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(errors.RouterError.unexpected())

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404):
        return error_response(
            errors.InvalidRequestError(str(exc) or "Not found.", status=404, code="not_found")
        )


openai_api = NinjaAPI(
    title="LLM router — OpenAI-compatible API",
    version="1",
    urls_namespace="openai",
    docs_url=None,
    # The schema clients and the fuzz tests (tests/security/test_fuzz.py) read; behind a key, like all of /v1.
    openapi_url="/openapi.json",
)
openai_api.add_router("/", openai_router)
openai_api.add_router("/", batches_router)
install_error_handlers(openai_api)

anthropic_api = NinjaAPI(
    title="LLM router — Anthropic-compatible API",
    version="1",
    urls_namespace="anthropic",
    docs_url=None,
    openapi_url=None,
)
anthropic_api.add_router("/", anthropic_router)
install_error_handlers(anthropic_api, anthropic_error_response)

api = NinjaAPI(
    title="LLM router — management API",
    version="1",
    urls_namespace="api",
    docs_decorator=staff_member_required,
)
api.add_router("/", stats_router)
for management_router in (
    keys_router,
    catalog_router,
    config_router,
    health_router,
    queries_router,
    batch_admin_router,
    optimizer_router,
):
    api.add_router("/", management_router)
install_error_handlers(api)
