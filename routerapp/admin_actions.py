"""Admin actions: each calls the one core function that does the job (health checks, the breaker,
config export), so the admin does what the commands and the API do."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponse

from routerapp.config import dump_yaml, export_config
from routerapp.routing import breaker
from routerapp.routing.health import check_deployments


@admin.action(description="Test selected providers (probe their enabled deployments)")
def test_providers(modeladmin, request, queryset) -> None:
    for provider in queryset:
        ids = list(provider.deployments.filter(enabled=True).values_list("id", flat=True))
        if not provider.enabled or not ids:
            modeladmin.message_user(
                request,
                f"{provider.name}: nothing to test (disabled, or no enabled deployments)",
                messages.WARNING,
            )
            continue
        results = check_deployments(ids)
        failing = [r for r in results if not r.ok]
        if not failing:
            modeladmin.message_user(
                request,
                f"{provider.name}: {len(results)} of {len(results)} deployment(s) answered",
                messages.SUCCESS,
            )
            continue
        details = "; ".join(f"{r.label}: {r.error[:200]}" for r in failing)
        modeladmin.message_user(
            request, f"{provider.name}: {len(failing)} of {len(results)} failed — {details}", messages.ERROR
        )


def _save_each(queryset, **fields) -> int:
    # save(), not update(): the post_save signal is what tells every server process to reload.
    count = 0
    for row in queryset:
        for name, value in fields.items():
            setattr(row, name, value)
        row.save(update_fields=[*fields])
        count += 1
    return count


@admin.action(description="Enable selected deployments")
def enable_deployments(modeladmin, request, queryset) -> None:
    modeladmin.message_user(request, f"Enabled {_save_each(queryset, enabled=True)} deployment(s).")


@admin.action(description="Disable selected deployments")
def disable_deployments(modeladmin, request, queryset) -> None:
    modeladmin.message_user(request, f"Disabled {_save_each(queryset, enabled=False)} deployment(s).")


@admin.action(description="Reset cooldowns of selected deployments")
def reset_cooldowns(modeladmin, request, queryset) -> None:
    ids = list(queryset.values_list("id", flat=True))
    for dep_id in ids:
        breaker.reset(dep_id)
    modeladmin.message_user(request, f"Reset the cooldown of {len(ids)} deployment(s).")


@admin.action(description="Revoke selected keys")
def revoke_keys(modeladmin, request, queryset) -> None:
    modeladmin.message_user(
        request, f"Revoked {_save_each(queryset.filter(enabled=True), enabled=False)} key(s)."
    )


def _yaml_download(data: dict, filename: str) -> HttpResponse:
    response = HttpResponse(dump_yaml(data), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.action(description="Export selected models as config YAML (with their providers)")
def export_models(modeladmin, request, queryset) -> HttpResponse:
    config = export_config()  # the one export: stored secrets left out, as in `exportconfig`
    names = set(queryset.values_list("name", flat=True))
    models = [m for m in config["models"] if m["name"] in names]
    used = {d["provider"] for m in models for d in m["deployments"]}
    providers = [p for p in config["providers"] if p["name"] in used]
    return _yaml_download({**config, "providers": providers, "models": models}, "router-models.yaml")


@admin.action(description="Export selected providers as config YAML")
def export_providers(modeladmin, request, queryset) -> HttpResponse:
    config = export_config()
    names = set(queryset.values_list("name", flat=True))
    providers = [p for p in config["providers"] if p["name"] in names]
    return _yaml_download({**config, "providers": providers, "models": []}, "router-providers.yaml")
