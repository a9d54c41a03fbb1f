"""/api/config: the whole routing config out (YAML or JSON, by Accept) and in (all or nothing).

The same importer and exporter as `manage.py importconfig` / `exportconfig`.
"""

from __future__ import annotations

import orjson
import yaml
from django.http import HttpRequest, HttpResponse
from ninja import Router

from routerapp import errors
from routerapp.api.auth import admin_auth
from routerapp.config import ConfigError, dump_yaml, export_config, import_config

router = Router(tags=["config"], auth=admin_auth)

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


def wants_yaml(request: HttpRequest) -> bool:
    accept = request.headers.get("accept", "")
    return any(t in accept for t in YAML_TYPES)


@router.get("/config")
def get_config(request: HttpRequest):
    """Export providers and models (stored secrets left out): YAML if Accept asks for it, else JSON."""
    data = export_config()
    if wants_yaml(request):
        return HttpResponse(dump_yaml(data), content_type="application/yaml")
    return HttpResponse(orjson.dumps(data), content_type="application/json")


@router.post("/config")
def post_config(request: HttpRequest, prune: bool = False):
    """Import a config (YAML or JSON body): validated whole, applied in one transaction or not at all.

    With `?prune=true`, providers and models missing from the body are deleted.
    """
    try:
        data = yaml.safe_load(request.body or b"")  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise errors.InvalidRequestError(f"The body is neither valid YAML nor JSON: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise errors.InvalidRequestError("The body must be a mapping with 'providers' and 'models'.")
    try:
        summary = import_config(data, source="POST /api/config", prune=prune)
    except ConfigError as exc:
        raise errors.InvalidRequestError(f"{exc.entry}: {exc.problem}", code="invalid_config") from None
    return {"created": summary.created, "updated": summary.updated, "deleted": summary.deleted}
