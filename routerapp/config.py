"""Declarative configuration: YAML in (importconfig), YAML out (exportconfig).

Import validates the whole file first and applies it in one transaction, so a bad file changes
nothing. Entries are matched by name: providers, models and ensembles are created or updated; a model's
deployments become exactly the ones listed (existing rows keep their ids, so history stays linked).
Entries missing from the file are left alone unless `prune` is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from pydantic import ValidationError

from routerapp.models import Deployment, Ensemble, ModelGroup, Provider
from routerapp.schema import (
    ConfigSpec,
    EnsembleSpec,
    Known,
    ModelGroupSpec,
    Problem,
    ProviderSpec,
    ensemble_uses,
    names_in,
    problems,
)

TOP_LEVEL = tuple(ConfigSpec.model_fields)


class ConfigError(Exception):
    """A problem in a config file, naming the file, the entry and what is wrong."""

    def __init__(self, source: str, entry: str, problem: str) -> None:
        super().__init__(f"{source}: {entry}: {problem}")
        self.source, self.entry, self.problem = source, entry, problem


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # Accepted but likely wrong, said out loud (importconfig prints them).
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"created {len(self.created)}, updated {len(self.updated)}, deleted {len(self.deleted)}"


def read_file(path: str | Path) -> dict[str, Any]:
    source = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(source, "file", f"cannot read it ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise ConfigError(source, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(source, "file", "the top level must be a mapping with 'providers' and 'models'")
    return data


def validate(data: dict[str, Any], source: str) -> ConfigSpec:
    """The file as a ConfigSpec, or a ConfigError naming the first problem's entry."""
    known = Known(
        providers=frozenset(
            names_in(data, "providers") | set(Provider.objects.values_list("name", flat=True))
        ),
        models=frozenset(names_in(data, "models") | set(ModelGroup.objects.values_list("name", flat=True))),
        ensembles=stored_ensemble_uses() | ensemble_uses(data),
    )
    try:
        config = ConfigSpec.model_validate(data, context=known)
    except ValidationError as exc:
        first = problems(exc, ConfigSpec)[0]
        raise ConfigError(source, _entry_name(first, data), first.text) from None
    ensembles = set(Ensemble.objects.values_list("name", flat=True))
    for i, m in enumerate(config.models):
        if m.name in ensembles:
            raise ConfigError(source, f"models[{i}] ({m.name})", f"'{m.name}' is already an ensemble name")
    return config


def stored_ensemble_uses(*, exclude: int | None = None) -> dict[str, tuple[str, ...]]:
    """What each stored ensemble sends requests to (Known.ensembles), optionally leaving one row out."""
    rows = Ensemble.objects.exclude(pk=exclude) if exclude is not None else Ensemble.objects.all()
    return {e.name: EnsembleSpec.from_row(e).uses for e in rows}


def _entry_name(problem: Problem, data: dict[str, Any]) -> str:
    """("models", 0, "deployments", 1) -> "models[0] (fast).deployments[1]"."""
    if not problem.entry:
        return problem.field.split(".")[0] or "file"
    parts: list[str] = []
    node: Any = data
    for section, index in zip(problem.entry[::2], problem.entry[1::2], strict=True):
        entries = node.get(str(section)) if isinstance(node, dict) else None
        node = entries[int(index)] if isinstance(entries, list) else None
        name = node.get("name") if isinstance(node, dict) else None
        parts.append(f"{section}[{index}]" + (f" ({name})" if isinstance(name, str) and name else ""))
    return ".".join(parts)


def import_config(data: dict[str, Any], *, source: str = "<config>", prune: bool = False) -> ImportSummary:
    config = validate(data, source)
    summary = ImportSummary()
    for p in config.providers:
        if p.api_key and p.api_key.startswith("env:") and not os.environ.get(p.api_key[4:]):
            # Not an error: the server may run with an environment this command does not have.
            summary.warnings.append(
                f"provider {p.name}: api_key {p.api_key} is not set here; "
                "the server sends no key unless its environment sets it"
            )
    with transaction.atomic():
        for p in config.providers:
            _apply_named(Provider, "provider", p, summary)
        new_models = set()
        for m in config.models:
            # Create all names first: fallbacks may point forward.
            if ModelGroup.objects.get_or_create(name=m.name)[1]:
                new_models.add(m.name)
        for m in config.models:
            _apply_model(m, summary, created=m.name in new_models)
        for e in config.ensembles:
            _apply_named(Ensemble, "ensemble", e, summary)
        if prune:
            keep_models = [m.name for m in config.models]
            keep_providers = [p.name for p in config.providers]
            for ensemble in Ensemble.objects.exclude(name__in=[e.name for e in config.ensembles]):
                summary.deleted.append(f"ensemble {ensemble.name}")
                ensemble.delete()
            for group in ModelGroup.objects.exclude(name__in=keep_models):
                summary.deleted.append(f"model {group.name}")
                group.delete()
            for provider in Provider.objects.exclude(name__in=keep_providers):
                summary.deleted.append(f"provider {provider.name}")
                provider.delete()
    return summary


def _apply_named(model: Any, kind: str, spec: ProviderSpec | EnsembleSpec, summary: ImportSummary) -> None:
    """Create or update the `model` row named like `spec` (a provider or an ensemble) from it."""
    row = model.objects.filter(name=spec.name).first()
    created = row is None
    row = row or model(name=spec.name)
    spec.apply_to(row)
    row.save()
    (summary.created if created else summary.updated).append(f"{kind} {row.name}")


def _apply_model(spec: ModelGroupSpec, summary: ImportSummary, *, created: bool) -> None:
    group = ModelGroup.objects.get(name=spec.name)
    spec.apply_to(group)
    group.save()
    providers = {p.name: p for p in Provider.objects.all()}
    existing = {(d.provider.name, d.upstream_model): d for d in group.deployments.select_related("provider")}
    listed = set()
    for d in spec.deployments:
        pair = (d.provider, d.model)
        listed.add(pair)
        deployment = existing.get(pair) or Deployment(
            model_group=group, provider=providers[d.provider], upstream_model=d.model
        )
        d.apply_to(deployment)
        deployment.save()
    for pair, deployment in existing.items():
        if pair not in listed:
            deployment.delete()
    (summary.created if created else summary.updated).append(f"model {group.name}")


def export_config() -> dict[str, Any]:
    """The current configuration as import_config accepts it. Stored secrets are left out."""
    providers = [ProviderSpec.from_row(p) for p in Provider.objects.order_by("name")]
    models = [
        ModelGroupSpec.from_row(g)
        for g in ModelGroup.objects.order_by("name").prefetch_related("deployments__provider")
    ]
    ensembles = [EnsembleSpec.from_row(e) for e in Ensemble.objects.order_by("name")]
    config = ConfigSpec.model_construct(providers=providers, models=models, ensembles=ensembles)
    return config.model_dump(exclude_defaults=True)


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
