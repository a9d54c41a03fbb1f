"""Admin: providers, models, deployments and keys editable; history read-only. Secrets never shown."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from routerapp.models import ApiKey, Attempt, Deployment, ModelGroup, Provider, QueryRecord


class ProviderForm(forms.ModelForm):
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


class DeploymentInline(admin.TabularInline):
    model = Deployment
    extra = 0
    fields = [
        "provider",
        "upstream_model",
        "weight",
        "rpm",
        "tpm",
        "input_cost_per_mtok",
        "output_cost_per_mtok",
        "context_window",
        "enabled",
        "health_status",
    ]
    readonly_fields = ["health_status"]


@admin.register(ModelGroup)
class ModelGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "strategy", "fallbacks", "enabled"]
    search_fields = ["name"]
    inlines = [DeploymentInline]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
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
