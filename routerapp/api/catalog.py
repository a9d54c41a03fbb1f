"""/api/providers and /api/models: the routing config, one entry at a time.

Every write goes through routerapp.config.import_config, the importer `manage.py importconfig`
uses, so an entry the importer would refuse is refused here with the same message, and nothing
changes. Reads are entries of export_config(): the same shape you write, with stored secrets left
out (a provider says only whether it has one).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Body, Router, Status

from routerapp import errors
from routerapp.api.auth import admin_auth
from routerapp.config import ConfigError, export_config, import_config, stored_ensemble_uses
from routerapp.models import Ensemble, ModelGroup, Provider
from routerapp.schema import EnsembleSpec, ModelGroupSpec, ProviderSpec

router = Router(tags=["config"], auth=admin_auth)

PROVIDER_EXAMPLE = {
    "name": "openai",
    "kind": "openai",
    "base_url": "https://api.openai.com/v1",
    "api_key": "env:OPENAI_API_KEY",
}
MODEL_EXAMPLE = {
    "name": "gpt-4o-mini",
    "strategy": "simple-shuffle",
    "fallbacks": [],
    "deployments": [{"provider": "openai", "model": "gpt-4o-mini"}],
}

PROVIDER_BODY = Body(..., openapi_examples={"provider": {"value": PROVIDER_EXAMPLE}})
MODEL_BODY = Body(..., openapi_examples={"model": {"value": MODEL_EXAMPLE}})


def documented_as(spec) -> dict:
    """The request body's schema in the OpenAPI document: routerapp.schema's, the one definition."""
    schema = spec.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:  # nested specs (a model's deployments) in place of "$defs" refs
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    body = {"content": {"application/json": {"schema": inline(schema)}}, "required": True}
    return {"requestBody": body}


def not_found(kind: str, name: str) -> errors.InvalidRequestError:
    return errors.InvalidRequestError(f"No {kind} named '{name}'.", status=404, code="not_found")


def apply(section: str, entry: dict[str, Any], *, source: str) -> None:
    try:
        import_config({section: [entry]}, source=source)
    except ConfigError as exc:
        raise errors.InvalidRequestError(f"{exc.entry}: {exc.problem}", code="invalid_config") from None


def create_entry(section: str, model: Any, payload: Any) -> str:
    """POST /api/<section>: import one new named entry (409 if the name is taken); return its name."""
    name = payload.get("name") if isinstance(payload, dict) else None
    if not isinstance(name, str) or not name:
        raise errors.InvalidRequestError("'name' is required.", param="name")
    if model.objects.filter(name=name).exists():
        kind = section.removesuffix("s")
        article = "An" if kind[0] in "aeiou" else "A"
        raise errors.InvalidRequestError(
            f"{article} {kind} named '{name}' already exists; PUT /api/{section}/{name} changes it.",
            status=409,
            code="already_exists",
        )
    apply(section, payload, source=f"POST /api/{section}")
    return name


def _entry(section: str, name: str) -> dict[str, Any] | None:
    return next((e for e in export_config().get(section, []) if e["name"] == name), None)


def _provider_out(entry: dict[str, Any] | None) -> dict[str, Any]:
    assert entry is not None, "the provider was just applied"
    row = Provider.objects.get(name=entry["name"])
    return {**entry, "has_api_key": bool(row.api_key_ref or row.api_key_encrypted)}


def _named(payload: dict[str, Any], name: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise errors.InvalidRequestError("The body must be a JSON object.")
    if payload.get("name", name) != name:
        raise errors.InvalidRequestError(
            f"The body names '{payload['name']}' but the URL names '{name}'.", param="name"
        )
    return {**payload, "name": name}


# Providers


@router.get("/providers")
def list_providers(request: HttpRequest):
    return [_provider_out(p) for p in export_config().get("providers", [])]


@router.post("/providers", response={201: dict}, openapi_extra=documented_as(ProviderSpec))
def create_provider(request: HttpRequest, payload: dict = PROVIDER_BODY):
    name = create_entry("providers", Provider, payload)
    return Status(201, _provider_out(_entry("providers", name)))


@router.get("/providers/{name}")
def get_provider(request: HttpRequest, name: str):
    entry = _entry("providers", name)
    if entry is None:
        raise not_found("provider", name)
    return _provider_out(entry)


@router.put("/providers/{name}", openapi_extra=documented_as(ProviderSpec))
def put_provider(
    request: HttpRequest,
    name: str,
    payload: dict = PROVIDER_BODY,
):
    """Create or replace the provider. Leave `api_key` out to keep the stored one."""
    apply("providers", _named(payload, name), source=f"PUT /api/providers/{name}")
    return _provider_out(_entry("providers", name))


@router.delete("/providers/{name}", response={204: None})
def delete_provider(request: HttpRequest, name: str):
    provider = Provider.objects.filter(name=name).first()
    if provider is None:
        raise not_found("provider", name)
    used_by = sorted(set(provider.deployments.values_list("model_group__name", flat=True)))
    if used_by:
        raise errors.InvalidRequestError(
            f"Provider '{name}' still serves model(s) {', '.join(used_by)}; remove those deployments first.",
            status=409,
            code="in_use",
        )
    provider.delete()
    return Status(204, None)


# Models (a model name with its routing settings and its deployments)


@router.get("/models")
def list_models(request: HttpRequest):
    return export_config().get("models", [])


@router.post("/models", response={201: dict}, openapi_extra=documented_as(ModelGroupSpec))
def create_model(request: HttpRequest, payload: dict = MODEL_BODY):
    name = create_entry("models", ModelGroup, payload)
    return Status(201, _entry("models", name))


@router.get("/models/{name}")
def get_model(request: HttpRequest, name: str):
    entry = _entry("models", name)
    if entry is None:
        raise not_found("model", name)
    return entry


@router.put("/models/{name}", openapi_extra=documented_as(ModelGroupSpec))
def put_model(
    request: HttpRequest,
    name: str,
    payload: dict = MODEL_BODY,
):
    """Create or replace the model; its deployments become exactly the ones listed."""
    apply("models", _named(payload, name), source=f"PUT /api/models/{name}")
    return _entry("models", name)


@router.delete("/models/{name}", response={204: None})
def delete_model(request: HttpRequest, name: str):
    with transaction.atomic():
        group = ModelGroup.objects.filter(name=name).first()
        if group is None:
            raise not_found("model", name)
        referring = sorted(
            g.name
            for g in ModelGroup.objects.exclude(pk=group.pk)
            if name
            in (g.fallbacks or []) + (g.context_window_fallbacks or []) + (g.content_policy_fallbacks or [])
        )
        if referring:
            raise errors.InvalidRequestError(
                f"Model '{name}' is a fallback of {', '.join(referring)}; change those first.",
                status=409,
                code="in_use",
            )
        _refuse_if_an_ensemble_uses(name, "Model")
        group.delete()
    return Status(204, None)


def _refuse_if_an_ensemble_uses(name: str, what: str) -> None:
    users = sorted(e for e, uses in stored_ensemble_uses().items() if e != name and name in uses)
    if users:
        raise errors.InvalidRequestError(
            f"{what} '{name}' is a member or judge of ensemble(s) {', '.join(users)}; change those first.",
            status=409,
            code="in_use",
        )


# Ensembles (a model name answered by several models, their answers merged)

ENSEMBLE_EXAMPLE = {"name": "council", "members": ["fast", "smart"], "merge": "vote", "min_members": 2}
ENSEMBLE_BODY = Body(..., openapi_examples={"ensemble": {"value": ENSEMBLE_EXAMPLE}})


@router.get("/ensembles")
def list_ensembles(request: HttpRequest):
    return export_config().get("ensembles", [])


@router.post("/ensembles", response={201: dict}, openapi_extra=documented_as(EnsembleSpec))
def create_ensemble(request: HttpRequest, payload: dict = ENSEMBLE_BODY):
    name = create_entry("ensembles", Ensemble, payload)
    return Status(201, _entry("ensembles", name))


@router.get("/ensembles/{name}")
def get_ensemble(request: HttpRequest, name: str):
    entry = _entry("ensembles", name)
    if entry is None:
        raise not_found("ensemble", name)
    return entry


@router.put("/ensembles/{name}", openapi_extra=documented_as(EnsembleSpec))
def put_ensemble(request: HttpRequest, name: str, payload: dict = ENSEMBLE_BODY):
    """Create or replace the ensemble."""
    apply("ensembles", _named(payload, name), source=f"PUT /api/ensembles/{name}")
    return _entry("ensembles", name)


@router.delete("/ensembles/{name}", response={204: None})
def delete_ensemble(request: HttpRequest, name: str):
    with transaction.atomic():
        ensemble = Ensemble.objects.filter(name=name).first()
        if ensemble is None:
            raise not_found("ensemble", name)
        _refuse_if_an_ensemble_uses(name, "Ensemble")
        ensemble.delete()
    return Status(204, None)
