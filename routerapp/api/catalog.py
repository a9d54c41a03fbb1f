"""/api/providers and /api/models: the routing config, one entry at a time.

Every write goes through routerapp.config.import_config, the importer `manage.py importconfig`
uses, so an entry the importer would refuse is refused here with the same message, and nothing
changes. Reads are entries of export_config(): the same shape you write, with stored secrets left
out (a provider says only whether it has one).
"""

from __future__ import annotations

from collections.abc import Callable
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


# The model each config section's entries are stored in (a name is unique within a section).
ROWS: dict[str, Any] = {"providers": Provider, "models": ModelGroup, "ensembles": Ensemble}


def kind_of(section: str) -> str:
    return section.removesuffix("s")


def not_found(section: str, name: str) -> errors.InvalidRequestError:
    return errors.InvalidRequestError(f"No {kind_of(section)} named '{name}'.", status=404, code="not_found")


def apply(section: str, entry: dict[str, Any], *, source: str) -> None:
    try:
        import_config({section: [entry]}, source=source)
    except ConfigError as exc:
        raise errors.InvalidRequestError(f"{exc.entry}: {exc.problem}", code="invalid_config") from None


def create_entry(section: str, payload: Any) -> dict[str, Any]:
    """POST /api/<section>: import one new named entry (409 if the name is taken); return it as stored."""
    name = payload.get("name") if isinstance(payload, dict) else None
    if not isinstance(name, str) or not name:
        raise errors.InvalidRequestError("'name' is required.", param="name")
    if ROWS[section].objects.filter(name=name).exists():
        kind = kind_of(section)
        article = "An" if kind[0] in "aeiou" else "A"
        raise errors.InvalidRequestError(
            f"{article} {kind} named '{name}' already exists; PUT /api/{section}/{name} changes it.",
            status=409,
            code="already_exists",
        )
    apply(section, payload, source=f"POST /api/{section}")
    return read_entry(section, name)


def read_entry(section: str, name: str) -> dict[str, Any]:
    """GET /api/<section>/<name>: the entry as export_config() writes it, or a 404."""
    entry = next((e for e in export_config().get(section, []) if e["name"] == name), None)
    if entry is None:
        raise not_found(section, name)
    return entry


def replace_entry(section: str, name: str, payload: Any) -> dict[str, Any]:
    """PUT /api/<section>/<name>: create or replace the entry the URL names; return it as stored."""
    if not isinstance(payload, dict):
        raise errors.InvalidRequestError("The body must be a JSON object.")
    if payload.get("name", name) != name:
        raise errors.InvalidRequestError(
            f"The body names '{payload['name']}' but the URL names '{name}'.", param="name"
        )
    apply(section, {**payload, "name": name}, source=f"PUT /api/{section}/{name}")
    return read_entry(section, name)


def delete_entry(section: str, name: str, refuse_if_used: Callable[[Any], None]) -> None:
    """DELETE /api/<section>/<name>: 404 if absent; `refuse_if_used(row)` raises the 409 that
    keeps the config whole (what still refers to the entry). One transaction, so nothing starts
    referring to it between the check and the delete."""
    with transaction.atomic():
        row = ROWS[section].objects.filter(name=name).first()
        if row is None:
            raise not_found(section, name)
        refuse_if_used(row)
        row.delete()


def _provider_out(entry: dict[str, Any]) -> dict[str, Any]:
    row = Provider.objects.get(name=entry["name"])
    return {**entry, "has_api_key": bool(row.api_key_ref or row.api_key_encrypted)}


# Providers


@router.get("/providers")
def list_providers(request: HttpRequest):
    return [_provider_out(p) for p in export_config().get("providers", [])]


@router.post("/providers", response={201: dict}, openapi_extra=documented_as(ProviderSpec))
def create_provider(request: HttpRequest, payload: dict = PROVIDER_BODY):
    return Status(201, _provider_out(create_entry("providers", payload)))


@router.get("/providers/{name}")
def get_provider(request: HttpRequest, name: str):
    return _provider_out(read_entry("providers", name))


@router.put("/providers/{name}", openapi_extra=documented_as(ProviderSpec))
def put_provider(request: HttpRequest, name: str, payload: dict = PROVIDER_BODY):
    """Create or replace the provider. Leave `api_key` out to keep the stored one."""
    return _provider_out(replace_entry("providers", name, payload))


@router.delete("/providers/{name}", response={204: None})
def delete_provider(request: HttpRequest, name: str):
    delete_entry("providers", name, _refuse_if_it_serves_a_model)
    return Status(204, None)


def _refuse_if_it_serves_a_model(provider: Provider) -> None:
    used_by = sorted(set(provider.deployments.values_list("model_group__name", flat=True)))
    if used_by:
        raise errors.InvalidRequestError(
            f"Provider '{provider.name}' still serves model(s) {', '.join(used_by)}; "
            "remove those deployments first.",
            status=409,
            code="in_use",
        )


# Models (a model name with its routing settings and its deployments)


@router.get("/models")
def list_models(request: HttpRequest):
    return export_config().get("models", [])


@router.post("/models", response={201: dict}, openapi_extra=documented_as(ModelGroupSpec))
def create_model(request: HttpRequest, payload: dict = MODEL_BODY):
    return Status(201, create_entry("models", payload))


@router.get("/models/{name}")
def get_model(request: HttpRequest, name: str):
    return read_entry("models", name)


@router.put("/models/{name}", openapi_extra=documented_as(ModelGroupSpec))
def put_model(request: HttpRequest, name: str, payload: dict = MODEL_BODY):
    """Create or replace the model; its deployments become exactly the ones listed."""
    return replace_entry("models", name, payload)


@router.delete("/models/{name}", response={204: None})
def delete_model(request: HttpRequest, name: str):
    delete_entry("models", name, _refuse_if_a_fallback_or_member)
    return Status(204, None)


def _refuse_if_a_fallback_or_member(group: ModelGroup) -> None:
    name = group.name
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
    return Status(201, create_entry("ensembles", payload))


@router.get("/ensembles/{name}")
def get_ensemble(request: HttpRequest, name: str):
    return read_entry("ensembles", name)


@router.put("/ensembles/{name}", openapi_extra=documented_as(EnsembleSpec))
def put_ensemble(request: HttpRequest, name: str, payload: dict = ENSEMBLE_BODY):
    """Create or replace the ensemble."""
    return replace_entry("ensembles", name, payload)


@router.delete("/ensembles/{name}", response={204: None})
def delete_ensemble(request: HttpRequest, name: str):
    delete_entry("ensembles", name, lambda ensemble: _refuse_if_an_ensemble_uses(name, "Ensemble"))
    return Status(204, None)
