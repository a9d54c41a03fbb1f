"""Admin: providers, models, deployments and keys editable; history and statistics read-only.
Secrets never shown. Actions live in routerapp/admin_actions.py."""

from __future__ import annotations

import functools
import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.forms.models import construct_instance
from django.template.response import TemplateResponse
from pydantic import ValidationError

from routerapp import admin_actions, batches
from routerapp.config import stored_ensemble_uses
from routerapp.models import (
    ApiKey,
    Attempt,
    Batch,
    BatchItem,
    Deployment,
    Ensemble,
    ErrorGroup,
    File,
    ModelGroup,
    OptimizerPattern,
    OptimizerTemplate,
    Provider,
    QuarantinedRecord,
    QueryRecord,
    Span,
    StatsRollup,
)
from routerapp.optimizer import switches
from routerapp.providers.redact import redact
from routerapp.routing import breaker
from routerapp.routing.strategies import STRATEGIES
from routerapp.schema import (
    DEPLOYMENT_SETTINGS,
    DeploymentSettings,
    EnsembleSpec,
    Known,
    ModelGroupSettings,
    ModelGroupSpec,
    ProviderSpec,
    Spec,
    problems,
)


@functools.cache  # one callable per field: the admin matches read-only fields by identity
def masked(field: str, description: str | None = None):
    """A read-only admin field showing `field` with secrets masked (routerapp.providers.redact).

    Text the router stored (bodies, upstream errors, span attributes) may hold what a client or an
    upstream sent: every provider's own secrets and anything key-shaped are masked before display.
    """

    def show(obj) -> str:
        value = getattr(obj, field)
        if value in (None, "", [], {}):
            return "—"
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        return redact(text, Provider.all_secrets())

    show.short_description = description or field.replace("_", " ")  # type: ignore[attr-defined]
    show.__name__ = f"masked_{field}"
    return show


class MaskedAdmin(admin.ModelAdmin):
    """Shows the fields named in `masked_fields` only masked, never as stored."""

    masked_fields: tuple[str, ...] = ()

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or ()), *self.masked_fields]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *(masked(f) for f in self.masked_fields)]


class SchemaForm(forms.ModelForm):
    """A ModelForm that holds its row to routerapp.schema, as importconfig does."""

    spec: type[Spec]

    def spec_input(self) -> tuple[dict[str, Any], Known | None]:
        """What to validate, as config keys, and the names it may refer to."""
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        # The form's values on the row, as ModelForm does again when it validates the model.
        construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        data, known = self.spec_input()
        try:
            self.spec.model_validate(data, context=known)
        except ValidationError as exc:
            for problem in problems(exc, self.spec):
                key = problem.field.split(".")[0]
                column = self.spec.COLUMNS.get(key, key)
                self.add_error(column if column in self.fields else None, problem.text)
        return cleaned


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
    list_display = ["name", "kind", "base_url", "secret", "deployment_count", "enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "base_url"]
    actions = [admin_actions.test_providers, admin_actions.export_providers]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(deployment_total=Count("deployments"))

    @admin.display(description="Deployments", ordering="deployment_total")
    def deployment_count(self, obj: Provider) -> int:
        return obj.deployment_total  # type: ignore[attr-defined]  # annotated by get_queryset

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
    list_display = ["name", "strategy", "fallbacks", "deployment_count", "enabled", "updated_at"]
    list_filter = ["strategy", "enabled"]
    search_fields = ["name"]
    actions = [admin_actions.export_models]
    inlines = [DeploymentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(deployment_total=Count("deployments"))

    @admin.display(description="Deployments", ordering="deployment_total")
    def deployment_count(self, obj: ModelGroup) -> int:
        return obj.deployment_total  # type: ignore[attr-defined]  # annotated by get_queryset


class EnsembleForm(SchemaForm):
    members = forms.CharField(
        help_text="Model names, comma-separated, in order; a name may repeat (the same model sampled again)."
    )

    class Meta:
        model = Ensemble
        fields = list(EnsembleSpec.model_fields)

    spec = EnsembleSpec

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["members"] = ", ".join(self.instance.members)

    def clean_members(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data["members"].split(",") if name.strip()]

    def spec_input(self) -> tuple[dict[str, Any], Known | None]:
        known = Known(
            models=frozenset(ModelGroup.objects.values_list("name", flat=True)),
            ensembles=stored_ensemble_uses(exclude=self.instance.pk),
        )
        return EnsembleSpec.fields_of(self.instance), known


@admin.register(Ensemble)
class EnsembleAdmin(admin.ModelAdmin):
    form = EnsembleForm
    list_display = ["name", "members", "merge", "judge", "min_members", "enabled"]
    search_fields = ["name"]


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
        "cooldown",
        "enabled",
    ]
    list_filter = ["provider", "model_group", "health_status", "enabled"]
    search_fields = ["upstream_model", "model_group__name", "provider__name"]
    list_select_related = ["provider", "model_group"]
    readonly_fields = ["health_status", masked("health_error"), "health_checked_at", "health_latency_ms"]
    actions = [
        admin_actions.enable_deployments,
        admin_actions.disable_deployments,
        admin_actions.reset_cooldowns,
    ]

    @admin.display(description="Cooling down")
    def cooldown(self, obj: Deployment) -> str:
        remaining = breaker.cooldown_remaining(obj.id)
        return f"{remaining:.0f} s left" if remaining else "—"


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = [
            "name",
            "allowed_models",
            "rpm_limit",
            "tpm_limit",
            "budget_usd",
            "budget_period",
            "optimize",
            "enabled",
            "is_admin",
        ]
        help_texts = {
            "optimize": 'Optimizer switches over the model\'s, e.g. ["-cache"] (routerapp.optimizer.switches).'
        }

    def clean_optimize(self):
        try:
            return switches.normalize(self.cleaned_data.get("optimize") or [])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "masked",
        "allowed_models",
        "rpm_limit",
        "budget_usd",
        "budget_period",
        "spent_usd",
        "enabled",
        "is_admin",
        "last_used_at",
    ]
    readonly_fields = ["masked", "spent_usd", "period_spent_usd", "created_at", "last_used_at"]
    list_filter = ["enabled", "is_admin"]
    search_fields = ["name", "prefix"]
    actions = [admin_actions.revoke_keys]

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
            tpm_limit=obj.tpm_limit,
            budget_usd=obj.budget_usd,
            budget_period=obj.budget_period,
            enabled=obj.enabled,
            is_admin=obj.is_admin,
        )
        obj.pk = created.pk
        obj.key_hash, obj.prefix, obj.created_at = created.key_hash, created.prefix, created.created_at
        # Shown once, on the response to this POST (response_add): only the hash is stored, and the
        # key never goes into the `messages` cookie, which is signed, not encrypted.
        request._created_api_key = raw

    def response_add(self, request, obj: ApiKey, post_url_continue=None):
        raw = getattr(request, "_created_api_key", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": f"New key for {obj.name}",
            "opts": self.opts,
            "key": obj,
            "raw_key": raw,
        }
        response = TemplateResponse(request, "admin/routerapp/apikey/created.html", context)
        response["Cache-Control"] = "no-store"  # neither the browser's cache nor a proxy keeps it
        return response


class ReadOnlyAdmin(MaskedAdmin):
    """Rows the router writes (history, spans, error groups, rollups): to look at, not to edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


ATTEMPT_COLUMNS = (
    "member",
    "deployment",
    "retry",
    "status",
    "http_status",
    "error_type",
    "start_ms",
    "latency_ms",
)


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ATTEMPT_COLUMNS
    readonly_fields = ATTEMPT_COLUMNS  # a record of what happened: shown, never edited


@admin.register(QueryRecord)
class QueryRecordAdmin(ReadOnlyAdmin):
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
    list_filter = ["status", "model", "stream", "task_type", "cache_hit"]
    search_fields = ["request_id", "model", "error_message"]
    date_hierarchy = "created_at"
    inlines = [AttemptInline]
    list_select_related = ["deployment__provider"]
    masked_fields = ("error_message", "request_body", "response_body", "ensemble", "feedback_comment")


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    masked_fields = ("error_message",)
    list_display = [
        "created_at",
        "query",
        "deployment",
        "retry",
        "status",
        "http_status",
        "error_type",
        "latency_ms",
    ]
    list_filter = ["status", "error_type", "deployment__provider"]
    search_fields = ["query__request_id", "error_message"]
    date_hierarchy = "created_at"
    list_select_related = ["query", "deployment__provider"]


@admin.register(Span)
class SpanAdmin(ReadOnlyAdmin):
    masked_fields = ("attributes",)
    list_display = ["query", "position", "name", "status", "start_ms", "duration_ms"]
    list_filter = ["name", "status"]
    search_fields = ["query__request_id"]
    list_select_related = ["query"]


@admin.register(ErrorGroup)
class ErrorGroupAdmin(ReadOnlyAdmin):
    masked_fields = ("message", "sample_message", "recent")
    list_display = [
        "error_type",
        masked("message"),
        "provider",
        "deployment",
        "count",
        "first_seen",
        "last_seen",
    ]
    list_filter = ["error_type", "provider"]
    search_fields = ["message", "sample_message", "sample_request_id"]
    date_hierarchy = "last_seen"
    list_select_related = ["provider", "deployment__provider"]


@admin.register(StatsRollup)
class StatsRollupAdmin(ReadOnlyAdmin):
    list_display = [
        "hour",
        "dimension",
        "value",
        "requests",
        "errors",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
    ]
    list_filter = ["dimension"]
    search_fields = ["value"]
    date_hierarchy = "hour"


# Batches: written by the workers; to look at, and to cancel (through the same core function as the API).


@admin.register(File)
class FileAdmin(ReadOnlyAdmin):
    list_display = ["id", "filename", "purpose", "bytes", "api_key", "created_at"]
    list_filter = ["purpose"]
    search_fields = ["id", "filename", "api_key__name"]
    exclude = ["content"]
    list_select_related = ["api_key"]


@admin.action(description="Cancel the selected batches")
def cancel_batches(modeladmin, request, queryset) -> None:
    cancelled = 0
    for batch in queryset.filter(status__in=[Batch.Status.VALIDATING, Batch.Status.IN_PROGRESS]):
        batches.cancel(batch.pk)
        cancelled += 1
    modeladmin.message_user(request, f"Cancelling {cancelled} batch(es); lines not yet started will not run.")


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    masked_fields = ("errors",)
    list_display = ["id", "api_key", "status", "total", "completed", "failed", "created_at", "completed_at"]
    list_filter = ["status"]
    search_fields = ["id", "input_file_id", "api_key__name"]
    date_hierarchy = "created_at"
    list_select_related = ["api_key"]
    actions = [cancel_batches]


@admin.register(BatchItem)
class BatchItemAdmin(ReadOnlyAdmin):
    masked_fields = ("error",)
    list_display = ["batch", "line", "custom_id", "model", "status", "status_code", "runs", "request_id"]
    list_filter = ["status"]
    search_fields = ["batch__id", "custom_id", "request_id"]
    exclude = ["body", "response"]


@admin.register(QuarantinedRecord)
class QuarantinedRecordAdmin(ReadOnlyAdmin):
    """Rows the history writer could not store as they were (routerapp.observability.writer)."""

    list_display = ["created_at", "request_id", "repaired", masked("error")]
    list_filter = ["repaired"]
    search_fields = ["request_id", "error"]
    date_hierarchy = "created_at"
    masked_fields = ("draft", "error")


@admin.register(OptimizerTemplate)
class OptimizerTemplateAdmin(admin.ModelAdmin):
    """Per task type: the `instructions` strategy's system guidance and the `params` defaults."""

    list_display = [
        "task_type",
        "instructions",
        "temperature",
        "top_p",
        "max_tokens",
        "enabled",
        "updated_at",
    ]
    list_editable = ["enabled"]
    list_filter = ["enabled"]


@admin.register(OptimizerPattern)
class OptimizerPatternAdmin(ReadOnlyAdmin):
    """What learned routing knows per (pattern, deployment): written by the learning task and by
    feedback, so every learned number is read-only here. Deleting a row makes the router forget it
    (the next learning run rebuilds it from history)."""

    list_display = [
        "pattern",
        "model_name",
        "deployment",
        "count",
        "quality_mean",
        "success_rate",
        "latency_ms_mean",
        "cost_usd_mean",
        "share",
        "feedback_count",
        "updated_at",
    ]
    list_filter = ["pattern", "deployment__model_group", "deployment__provider"]
    search_fields = ["pattern", "deployment__upstream_model", "deployment__model_group__name"]
    ordering = ["pattern", "-quality_mean"]
    list_select_related = ["deployment__provider", "deployment__model_group"]

    @admin.display(description="model", ordering="deployment__model_group__name")
    def model_name(self, row: OptimizerPattern) -> str:
        return row.deployment.model_group.name
