from __future__ import annotations

from typing import Any

from django import forms

from routerapp import stats
from routerapp.models import ApiKey, Deployment, ModelGroup, QueryRecord

WINDOW_CHOICES = [("", "any time"), *stats.WINDOW_LABELS.items()]


class HistoryFilter(forms.Form):
    """The History page's filters; every field optional, invalid values ignored."""

    q = forms.CharField(required=False, label="Request id", max_length=40)
    model = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *QueryRecord.Status.choices])
    deployment = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    key = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    error_type = forms.CharField(required=False, max_length=60, label="Error type")
    window = forms.ChoiceField(required=False, choices=WINDOW_CHOICES)
    slower_than = forms.FloatField(required=False, min_value=0, label="Slower than (ms)")
    before = forms.DateTimeField(required=False, widget=forms.HiddenInput)  # the keyset of the next page

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices(
            "model",
            [("", "any model")]
            + [(n, n) for n in ModelGroup.objects.order_by("name").values_list("name", flat=True)],
        )
        deployments = Deployment.objects.select_related("provider").order_by(
            "provider__name", "upstream_model"
        )
        self._set_choices("deployment", [("", "any deployment")] + [(d.id, d.label) for d in deployments])
        self._set_choices(
            "key", [("", "any key")] + list(ApiKey.objects.order_by("name").values_list("id", "name"))
        )

    def _set_choices(self, name: str, choices: list[tuple[Any, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
