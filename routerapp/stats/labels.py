"""Display names of groups: deployments, providers and API keys by id."""

from __future__ import annotations

from routerapp.models import ApiKey, Deployment, Provider

NONE_LABEL = "(none)"


def _labels(by: str | None) -> dict[str, str]:
    if by == "deployment":
        return {
            str(d.id): f"{d.label} ({d.model_group.name})"
            for d in Deployment.objects.select_related("provider", "model_group")
        }
    if by == "provider":
        return {str(k): v for k, v in Provider.objects.values_list("id", "name")}
    if by == "key":
        return {str(k): v for k, v in ApiKey.objects.values_list("id", "name")}
    return {}
