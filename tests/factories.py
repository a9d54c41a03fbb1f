"""Small factories for test data: `create_x(*, field=default)`, nothing clever."""

from __future__ import annotations

from typing import Any

from routerapp.models import ApiKey, Deployment, Ensemble, ModelGroup, Provider


def create_provider(*, name: str = "up", kind: str = "openai", base_url: str = "", **fields: Any) -> Provider:
    return Provider.objects.create(name=name, kind=kind, base_url=base_url, **fields)


def create_model(
    name: str,
    deployments: list[tuple[Provider, str] | tuple[Provider, str, dict]],
    **fields: Any,
) -> ModelGroup:
    """A model name with deployments given as (provider, upstream_model[, deployment fields])."""
    group = ModelGroup.objects.create(name=name, **fields)
    for item in deployments:
        provider, upstream = item[0], item[1]
        extra = item[2] if len(item) > 2 else {}
        Deployment.objects.create(model_group=group, provider=provider, upstream_model=upstream, **extra)
    return group


def create_ensemble(name: str = "council", members: list[str] | None = None, **fields: Any) -> Ensemble:
    return Ensemble.objects.create(name=name, members=members or [], **fields)


def create_key(*, name: str = "test", **fields: Any) -> str:
    _, raw = ApiKey.create_key(name, **fields)
    return raw


def record_draft(**fields: Any):
    """A finished request as the history writer receives it (routerapp.observability.drafts.RecordDraft)."""
    import uuid

    from routerapp.observability.drafts import RecordDraft

    fields.setdefault("request_id", uuid.uuid4().hex)
    fields.setdefault("model", "gpt-test")
    fields.setdefault("api_key_id", None)
    fields.setdefault("trace", None)
    return RecordDraft(**fields)
