"""Declarative configuration: YAML in (importconfig), YAML out (exportconfig).

Import validates the whole file first and applies it in one transaction, so a bad file changes
nothing. Entries are matched by name: providers and models are created or updated; a model's
deployments become exactly the ones listed (existing rows keep their ids, so history stays linked).
Entries missing from the file are left alone unless `prune` is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from routerapp.models import Deployment, ModelGroup, Provider
from routerapp.providers import KINDS
from routerapp.routing.strategies import STRATEGIES

TOP_LEVEL = ("providers", "models")
PROVIDER_FIELDS = {
    "name": str,
    "kind": str,
    "base_url": str,
    "api_key": str,
    "timeout_s": (int, float),
    "headers": dict,
    "options": dict,
    "enabled": bool,
}
MODEL_FIELDS = {
    "name": str,
    "strategy": str,
    "fallbacks": list,
    "context_window_fallbacks": list,
    "content_policy_fallbacks": list,
    "num_retries": int,
    "timeout_s": (int, float),
    "first_token_timeout_s": (int, float),
    "chunk_timeout_s": (int, float),
    "allowed_fails": int,
    "cooldown_s": (int, float),
    "enabled": bool,
    "deployments": list,
}
DEPLOYMENT_FIELDS = {
    "provider": str,
    "model": str,
    "weight": (int, float),
    "rpm": int,
    "tpm": int,
    "input_cost_per_mtok": (int, float),
    "output_cost_per_mtok": (int, float),
    "context_window": int,
    "enabled": bool,
}
MODEL_SCALARS = (
    "strategy",
    "num_retries",
    "timeout_s",
    "first_token_timeout_s",
    "chunk_timeout_s",
    "allowed_fails",
    "cooldown_s",
    "enabled",
)
DEPLOYMENT_SCALARS = (
    "weight",
    "rpm",
    "tpm",
    "input_cost_per_mtok",
    "output_cost_per_mtok",
    "context_window",
    "enabled",
)


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


def _check_fields(
    source: str, entry: str, item: Any, spec: dict[str, Any], required: tuple[str, ...]
) -> None:
    if not isinstance(item, dict):
        raise ConfigError(source, entry, "must be a mapping")
    unknown = sorted(set(item) - set(spec))
    if unknown:
        raise ConfigError(source, entry, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(spec)}")
    for name in required:
        if item.get(name) in (None, ""):
            raise ConfigError(source, entry, f"'{name}' is required")
    for name, value in item.items():
        expected = spec[name]
        if value is None:
            continue
        if isinstance(value, bool) and expected is not bool:
            raise ConfigError(source, entry, f"'{name}' must be {_type_name(expected)}, not a boolean")
        if not isinstance(value, expected):
            raise ConfigError(
                source, entry, f"'{name}' must be {_type_name(expected)}, got {type(value).__name__}"
            )
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise ConfigError(source, entry, f"'{name}' must not be negative")


def _type_name(expected: Any) -> str:
    if expected == (int, float):
        return "a number"
    return {str: "a string", int: "an integer", bool: "true or false", dict: "a mapping", list: "a list"}[
        expected
    ]


def validate(data: dict[str, Any], source: str) -> None:
    unknown = sorted(set(data) - set(TOP_LEVEL))
    if unknown:
        raise ConfigError(
            source, "file", f"unknown section(s) {', '.join(unknown)}; allowed: {', '.join(TOP_LEVEL)}"
        )
    providers = data.get("providers") or []
    models = data.get("models") or []
    if not isinstance(providers, list):
        raise ConfigError(source, "providers", "must be a list")
    if not isinstance(models, list):
        raise ConfigError(source, "models", "must be a list")
    provider_names: set[str] = set()
    for i, p in enumerate(providers):
        entry = f"providers[{i}]" + (f" ({p.get('name')})" if isinstance(p, dict) and p.get("name") else "")
        _check_fields(source, entry, p, PROVIDER_FIELDS, ("name", "kind"))
        if p["kind"] not in KINDS:
            raise ConfigError(source, entry, f"kind '{p['kind']}' is not one of {', '.join(KINDS)}")
        if p["name"] in provider_names:
            raise ConfigError(source, entry, f"provider '{p['name']}' is defined twice")
        if p["kind"] in ("openai",) and not p.get("base_url"):
            raise ConfigError(source, entry, "an openai-kind provider needs 'base_url'")
        if p.get("base_url") and not str(p["base_url"]).startswith(("http://", "https://")):
            raise ConfigError(source, entry, "'base_url' must start with http:// or https://")
        provider_names.add(p["name"])
    known_providers = provider_names | set(Provider.objects.values_list("name", flat=True))
    model_names = [m.get("name") for m in models if isinstance(m, dict)]
    known_models = set(model_names) | set(ModelGroup.objects.values_list("name", flat=True))
    seen: set[str] = set()
    for i, m in enumerate(models):
        entry = f"models[{i}]" + (f" ({m.get('name')})" if isinstance(m, dict) and m.get("name") else "")
        _check_fields(source, entry, m, MODEL_FIELDS, ("name",))
        if m["name"] in seen:
            raise ConfigError(source, entry, f"model '{m['name']}' is defined twice")
        seen.add(m["name"])
        strategy = m.get("strategy") or "simple-shuffle"
        if strategy not in STRATEGIES:
            raise ConfigError(
                source, entry, f"strategy '{strategy}' is not one of {', '.join(sorted(STRATEGIES))}"
            )
        for key in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
            for name in m.get(key) or []:
                if name not in known_models:
                    raise ConfigError(source, entry, f"{key} names unknown model '{name}'")
                if name == m["name"]:
                    raise ConfigError(source, entry, f"{key} must not name the model itself")
        deployments = m.get("deployments") or []
        pairs = set()
        for j, d in enumerate(deployments):
            dentry = f"{entry}.deployments[{j}]"
            _check_fields(source, dentry, d, DEPLOYMENT_FIELDS, ("provider", "model"))
            if d["provider"] not in known_providers:
                raise ConfigError(source, dentry, f"provider '{d['provider']}' is not defined")
            if (d["provider"], d["model"]) in pairs:
                raise ConfigError(source, dentry, f"deployment {d['provider']}/{d['model']} is listed twice")
            pairs.add((d["provider"], d["model"]))


def import_config(data: dict[str, Any], *, source: str = "<config>", prune: bool = False) -> ImportSummary:
    validate(data, source)
    summary = ImportSummary()
    with transaction.atomic():
        for p in data.get("providers") or []:
            _apply_provider(p, summary)
        new_models = set()
        for m in data.get("models") or []:
            # Create all names first: fallbacks may point forward.
            if ModelGroup.objects.get_or_create(name=m["name"])[1]:
                new_models.add(m["name"])
        for m in data.get("models") or []:
            _apply_model(m, summary, created=m["name"] in new_models)
        if prune:
            keep_models = [m["name"] for m in data.get("models") or []]
            keep_providers = [p["name"] for p in data.get("providers") or []]
            for group in ModelGroup.objects.exclude(name__in=keep_models):
                summary.deleted.append(f"model {group.name}")
                group.delete()
            for provider in Provider.objects.exclude(name__in=keep_providers):
                summary.deleted.append(f"provider {provider.name}")
                provider.delete()
    return summary


def _apply_provider(p: dict[str, Any], summary: ImportSummary) -> None:
    provider = Provider.objects.filter(name=p["name"]).first()
    created = provider is None
    provider = provider or Provider(name=p["name"])
    provider.kind = p["kind"]
    provider.base_url = p.get("base_url") or ""
    provider.timeout_s = float(p.get("timeout_s") or 60)
    provider.extra_headers = p.get("headers") or {}
    provider.options = p.get("options") or {}
    provider.enabled = p.get("enabled", True)
    if "api_key" in p:
        provider.set_api_key(p.get("api_key") or "")
    provider.save()
    (summary.created if created else summary.updated).append(f"provider {provider.name}")


def _apply_model(m: dict[str, Any], summary: ImportSummary, *, created: bool) -> None:
    group = ModelGroup.objects.get(name=m["name"])
    group.strategy = m.get("strategy") or "simple-shuffle"
    group.fallbacks = list(m.get("fallbacks") or [])
    group.context_window_fallbacks = list(m.get("context_window_fallbacks") or [])
    group.content_policy_fallbacks = list(m.get("content_policy_fallbacks") or [])
    for name in MODEL_SCALARS:
        if name in ("strategy", "enabled"):
            continue
        setattr(group, name, m.get(name))
    group.enabled = m.get("enabled", True)
    group.save()
    providers = {p.name: p for p in Provider.objects.all()}
    existing = {(d.provider.name, d.upstream_model): d for d in group.deployments.select_related("provider")}
    listed = set()
    for d in m.get("deployments") or []:
        pair = (d["provider"], d["model"])
        listed.add(pair)
        deployment = existing.get(pair) or Deployment(
            model_group=group, provider=providers[d["provider"]], upstream_model=d["model"]
        )
        deployment.weight = float(d.get("weight", 1) if d.get("weight") is not None else 1)
        for name in DEPLOYMENT_SCALARS:
            if name in ("weight", "enabled"):
                continue
            setattr(deployment, name, d.get(name))
        deployment.enabled = d.get("enabled", True)
        deployment.save()
    for pair, deployment in existing.items():
        if pair not in listed:
            deployment.delete()
    (summary.created if created else summary.updated).append(f"model {group.name}")


def export_config() -> dict[str, Any]:
    """The current configuration as import_config accepts it. Stored secrets are left out."""
    providers = []
    for p in Provider.objects.order_by("name"):
        item: dict[str, Any] = {"name": p.name, "kind": p.kind}
        if p.base_url:
            item["base_url"] = p.base_url
        if p.api_key_ref:
            item["api_key"] = p.api_key_ref
        if p.timeout_s != 60:
            item["timeout_s"] = p.timeout_s
        if p.extra_headers:
            item["headers"] = p.extra_headers
        if p.options:
            item["options"] = p.options
        if not p.enabled:
            item["enabled"] = False
        providers.append(item)
    models = []
    for g in ModelGroup.objects.order_by("name").prefetch_related("deployments__provider"):
        item = {"name": g.name, "strategy": g.strategy}
        for key in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
            if getattr(g, key):
                item[key] = list(getattr(g, key))
        for name in MODEL_SCALARS:
            value = getattr(g, name)
            if name not in ("strategy", "enabled") and value is not None:
                item[name] = value
        if not g.enabled:
            item["enabled"] = False
        deployments = []
        for d in g.deployments.all().order_by("id"):
            dep: dict[str, Any] = {"provider": d.provider.name, "model": d.upstream_model}
            for name in DEPLOYMENT_SCALARS:
                value = getattr(d, name)
                if name == "weight" and value == 1:
                    continue
                if name == "enabled":
                    if not value:
                        dep["enabled"] = False
                    continue
                if value is not None:
                    dep[name] = value
            deployments.append(dep)
        item["deployments"] = deployments
        models.append(item)
    return {"providers": providers, "models": models}


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
