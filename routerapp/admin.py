"""Admin: providers, models, deployments and keys editable; history read-only. Secrets never shown."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from pydantic import ValidationError

from routerapp.models import ApiKey, Attempt, Deployment, ModelGroup, Provider, QueryRecord
from routerapp.routing.strategies import STRATEGIES
from routerapp.schema import (
    DEPLOYMENT_SETTINGS,
    DeploymentSettings,
    Known,
    ModelGroupSettings,
    ModelGroupSpec,
    ProviderSpec,
    Spec,
    problems,
)


class SchemaForm(forms.ModelForm):
    """A ModelForm that holds its row to routerapp.schema, as importconfig does."""

    spec: type[Spec]

    def spec_input(self) -> tuple[dict[str, Any], Known | None]:
        """What to validate, as config keys, and the names it may refer to."""
        raise NotImplementedError

    def _post_clean(self) -> None:
        super()._post_clean()  # the form's values are on self.instance now
        if self.errors:
            return
        data, known = self.spec_input()
        try:
            self.spec.model_validate(data, context=known)
        except ValidationError as exc:
            for problem in problems(exc, self.spec):
                key = problem.field.split(".")[0]
                column = self.spec.COLUMNS.get(key, key)
                self.add_error(column if column in self.fields else None, problem.text)


class ProviderForm(SchemaForm):
    # Write-only: the stored key is never rendered back into the page.
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current key. 'env:VAR' stores a reference; anything else is encrypted.",
    )
    clear_api_key = forms.BooleanField(required=False, help_text="Remove the stored key.")

    class Meta:
        model = Provider
        fields = [
            "name",
            "kind",
            "base_url",
            "api_key_ref",
            "timeout_s",
            "extra_headers",
            "options",
            "enabled",
        ]

    spec = ProviderSpec

    def spec_input(self) -> tuple[dict[str, Any], Known | None]:
        return ProviderSpec.fields_of(self.instance), None

    def save(self, commit: bool = True) -> Provider:
        provider = super().save(commit=False)
        if self.cleaned_data.get("clear_api_key"):
            provider.set_api_key("")
        elif self.cleaned_data.get("api_key"):
            provider.set_api_key(self.cleaned_data["api_key"])
        if commit:
            provider.save()
        return provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ["name", "kind", "base_url", "secret", "enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "base_url"]

    @admin.display(description="API key")
    def secret(self, obj: Provider) -> str:
        return obj.key_source()


class DeploymentForm(SchemaForm):
    class Meta:
        model = Deployment
        fields = ["model_group", "provider", "upstream_model", *DEPLOYMENT_SETTINGS, "enabled"]

    spec = DeploymentSettings

    def spec_input(self) -> tuple[dict[str, Any], Known | None]:
        return DeploymentSettings.fields_of(self.instance), None


class DeploymentInline(admin.TabularInline):
    model = Deployment
    form = DeploymentForm
    extra = 0
    fields = ["provider", "upstream_model", *DEPLOYMENT_SETTINGS, "enabled", "health_status"]
    readonly_fields = ["health_status"]


class ModelGroupForm(SchemaForm):
    class Meta:
        model = ModelGroup
        fields = ["name", *ModelGroupSettings.model_fields]
        widgets = {"strategy": forms.Select(choices=[(name, name) for name in sorted(STRATEGIES)])}

    spec = ModelGroupSpec

    def spec_input(self) -> tuple[dict[str, Any], Known | None]:
        group = self.instance
        names = set(ModelGroup.objects.values_list("name", flat=True)) | {group.name}
        return ModelGroupSettings.fields_of(group) | {"name": group.name}, Known(models=frozenset(names))


@admin.register(ModelGroup)
class ModelGroupAdmin(admin.ModelAdmin):
    form = ModelGroupForm
    list_display = ["name", "strategy", "fallbacks", "enabled"]
    search_fields = ["name"]
    inlines = [DeploymentInline]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    form = DeploymentForm
    list_display = [
        "model_group",
        "provider",
        "upstream_model",
        "weight",
        "health_status",
        "health_checked_at",
        "enabled",
    ]
    list_filter = ["provider", "health_status", "enabled"]
    search_fields = ["upstream_model", "model_group__name"]


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "allowed_models", "rpm_limit", "budget_usd", "enabled"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "masked",
        "allowed_models",
        "rpm_limit",
        "budget_usd",
        "spent_usd",
        "enabled",
        "last_used_at",
    ]
    readonly_fields = ["masked", "spent_usd", "created_at", "last_used_at"]
    search_fields = ["name", "prefix"]

    @admin.display(description="Key")
    def masked(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…" if obj.prefix else "—"

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created, raw = ApiKey.create_key(
            obj.name,
            allowed_models=obj.allowed_models,
            rpm_limit=obj.rpm_limit,
            budget_usd=obj.budget_usd,
            enabled=obj.enabled,
        )
        obj.pk = created.pk
        obj.key_hash, obj.prefix, obj.created_at = created.key_hash, created.prefix, created.created_at
        # Shown once: only the hash is stored.
        messages.warning(
            request, f"New key for '{obj.name}' (copy it now, it will not be shown again): {raw}"
        )


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["deployment", "retry", "status", "http_status", "error_type", "start_ms", "latency_ms"]
    readonly_fields = fields


@admin.register(QueryRecord)
class QueryRecordAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "request_id",
        "model",
        "deployment",
        "status",
        "http_status",
        "latency_ms",
        "cost_usd",
    ]
    list_filter = ["status", "model", "stream"]
    search_fields = ["request_id", "model", "error_message"]
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    list_select_related = ["deployment__provider"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
