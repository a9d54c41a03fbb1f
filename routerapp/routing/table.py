"""The routing table: an in-memory snapshot of providers, model names, deployments and client keys.

The hot path never queries the database for configuration. Each process keeps one snapshot and
reloads it when the config version (a row in the database, bumped by any config save or delete in
any process, see signals.py) has moved; it reads that version at most every
ROUTER["CONFIG_CHECK_S"] seconds: one small SELECT, whatever cache the setup has.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone
from pydantic import ValidationError

from routerapp import pricing, schema

# The module, not its names: schema imports the strategy registry, whose package imports this
# module, so nothing here may use schema's names before load time.
from routerapp.conf import router_settings
from routerapp.models import (
    ApiKey,
    ConfigVersion,
    Deployment,
    Ensemble,
    ModelGroup,
    OptimizerTemplate,
    Provider,
    hash_key,
)
from routerapp.providers.base import ProviderConfig
from routerapp.routing.clock import clock

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class DeploymentInfo:
    id: int
    group: str
    provider: ProviderConfig
    upstream_model: str
    settings: schema.DeploymentSettings = field(default_factory=lambda: schema.DeploymentSettings())
    # Resolved from `settings` and the price catalogue when the entry is built: entries are
    # replaced, never changed, when the config changes, so an edited price reaches the next request.
    prices: pricing.Prices = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prices", pricing.prices(self))

    @property
    def label(self) -> str:
        return f"{self.provider.name}/{self.upstream_model}"


@dataclass(slots=True, frozen=True)
class GroupInfo:
    name: str
    strategy: str
    deployments: tuple[DeploymentInfo, ...]
    fallbacks: tuple[str, ...] = ()
    context_window_fallbacks: tuple[str, ...] = ()
    content_policy_fallbacks: tuple[str, ...] = ()
    num_retries: int = 2
    timeout_s: float | None = None  # None: each provider's own timeout
    first_token_timeout_s: float | None = None
    chunk_timeout_s: float | None = None
    allowed_fails: int = 3
    allowed_fail_rate: float = 0.5
    min_requests: int = 10
    cooldown_s: float = 5.0
    optimize: tuple[str, ...] = ()  # a switch spec (routerapp.optimizer.switches)
    cache_ttl_s: float | None = None
    cache_any_temperature: bool = False
    drop_params: bool = False
    # Learned routing: λ and μ of the objective, and the judge (routerapp.optimizer).
    cost_weight: float = 0.1
    latency_weight: float = 0.0
    judge_model: str = ""
    judge_sample_rate: float = 0.0


@dataclass(slots=True, frozen=True)
class EnsembleInfo:
    """An ensemble as routerapp.ensembling runs it: a model name whose answer merges its members'."""

    name: str
    members: tuple[str, ...]
    merge: str = "vote"
    judge: str = ""
    min_members: int = 1
    member_timeout_s: float = 30.0
    min_confidence: float = 0.0


@dataclass(slots=True, frozen=True)
class KeyInfo:
    id: int
    name: str
    allowed_models: frozenset[str] = frozenset()
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    budget_usd: float | None = None
    budget_period: str = ""  # "", daily, weekly, monthly (routing.budget)
    # What the database says was spent in the period starting at period_started (epoch seconds).
    period_spent_usd: float = 0.0
    period_started: float | None = None
    spent_usd: float = 0.0
    optimize: tuple[str, ...] = ()
    expires_at: float | None = None  # epoch seconds
    is_admin: bool = False  # may use the management API (/api), routerapp.api.auth.AdminKey

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def may_use(self, model: str) -> bool:
        return not self.allowed_models or model in self.allowed_models


@dataclass(slots=True, frozen=True)
class TemplateInfo:
    task_type: str
    instructions: str = ""
    params: tuple[tuple[str, float | int], ...] = ()  # ("temperature", 0.2), ...


@dataclass(slots=True)
class RoutingTable:
    version: int = 0
    groups: dict[str, GroupInfo] = field(default_factory=dict)
    keys: dict[str, KeyInfo] = field(default_factory=dict)  # by SHA-256 of the raw key
    deployments: dict[int, DeploymentInfo] = field(default_factory=dict)
    # Ensemble names are model names too (schema validation keeps the two apart).
    ensembles: dict[str, EnsembleInfo] = field(default_factory=dict)
    # The optimizer's per-task-type guidance and parameter defaults, by task type (enabled rows only).
    templates: dict[str, TemplateInfo] = field(default_factory=dict)

    def key_for(self, raw: str) -> KeyInfo | None:
        # A dict lookup by SHA-256: what an attacker controls is the key, not its hash, so the
        # lookup's timing reveals nothing about stored keys (no character-by-character compare).
        key = self.keys.get(hash_key(raw))
        if key is None or key.expired(time.time()):
            return None
        return key

    def model_names(self) -> list[str]:
        return sorted([*self.groups, *self.ensembles])

    def has_model(self, name: str) -> bool:
        return name in self.groups or name in self.ensembles


def config_version() -> int:
    return ConfigVersion.current()


def bump_config_version() -> None:
    """Tell every process that the routing config changed."""
    ConfigVersion.bump()


def load_table() -> RoutingTable:
    """Build a snapshot from the database (sync; called off the event loop)."""
    version = config_version()
    defaults = router_settings()
    providers: dict[int, ProviderConfig] = {}
    for p in Provider.objects.filter(enabled=True):
        providers[p.id] = ProviderConfig(
            id=p.id,
            name=p.name,
            kind=p.kind,
            base_url=p.base_url,
            api_key=p.resolved_api_key(),
            timeout_s=p.timeout_s,
            headers=p.resolved_headers(),
            options=dict(p.options or {}),
        )
    deployments: dict[str, list[DeploymentInfo]] = {}
    by_id: dict[int, DeploymentInfo] = {}
    for d in Deployment.objects.filter(enabled=True).select_related("model_group").order_by("id"):
        if d.provider_id not in providers:
            continue
        try:
            deployment_settings = schema.DeploymentSettings.settings_of(d)
        except ValidationError as exc:
            logger.error("deployment %s left out of the routing table: %s", d.id, exc)
            continue
        info = DeploymentInfo(
            id=d.id,
            group=d.model_group.name,
            provider=providers[d.provider_id],
            upstream_model=d.upstream_model,
            settings=deployment_settings,
        )
        deployments.setdefault(d.model_group.name, []).append(info)
        by_id[d.id] = info
    groups = {}
    for g in ModelGroup.objects.filter(enabled=True):
        try:
            spec = schema.ModelGroupSettings.settings_of(g)
        except ValidationError as exc:
            logger.error("model %s left out of the routing table: %s", g.name, exc)
            continue
        groups[g.name] = GroupInfo(
            name=g.name,
            strategy=spec.strategy,
            deployments=tuple(deployments.get(g.name, ())),
            fallbacks=tuple(spec.fallbacks),
            context_window_fallbacks=tuple(spec.context_window_fallbacks),
            content_policy_fallbacks=tuple(spec.content_policy_fallbacks),
            num_retries=_or_default(spec.num_retries, defaults["NUM_RETRIES"]),
            timeout_s=spec.timeout_s,
            first_token_timeout_s=spec.first_token_timeout_s,
            chunk_timeout_s=spec.chunk_timeout_s,
            allowed_fails=_or_default(spec.allowed_fails, defaults["ALLOWED_FAILS"]),
            allowed_fail_rate=_or_default(spec.allowed_fail_rate, defaults["ALLOWED_FAIL_RATE"]),
            min_requests=_or_default(spec.min_requests, defaults["MIN_REQUESTS"]),
            cooldown_s=_or_default(spec.cooldown_s, defaults["COOLDOWN_S"]),
            optimize=tuple(spec.optimize),
            cache_ttl_s=spec.cache_ttl_s,
            cache_any_temperature=spec.cache_any_temperature,
            drop_params=spec.drop_params,
            cost_weight=spec.cost_weight,
            latency_weight=spec.latency_weight,
            judge_model=spec.judge_model,
            judge_sample_rate=spec.judge_sample_rate,
        )
    keys = {}
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    for k in ApiKey.objects.filter(unexpired, enabled=True):
        keys[k.key_hash] = KeyInfo(
            id=k.id,
            name=k.name,
            allowed_models=frozenset(k.allowed_models or ()),
            rpm_limit=k.rpm_limit,
            tpm_limit=k.tpm_limit,
            budget_usd=float(k.budget_usd) if k.budget_usd is not None else None,
            budget_period=k.budget_period,
            period_spent_usd=float(k.period_spent_usd),
            period_started=k.period_started_at.timestamp() if k.period_started_at else None,
            spent_usd=float(k.spent_usd),
            optimize=tuple(k.optimize or ()),
            expires_at=k.expires_at.timestamp() if k.expires_at else None,
            is_admin=k.is_admin,
        )
    ensembles = {}
    for e in Ensemble.objects.filter(enabled=True):
        try:
            ensemble = schema.EnsembleSpec.model_validate(schema.EnsembleSpec.fields_of(e))
        except ValidationError as exc:
            logger.error("ensemble %s left out of the routing table: %s", e.name, exc)
            continue
        if e.name in groups:
            logger.error("ensemble %s left out of the routing table: a model has its name", e.name)
            continue
        ensembles[e.name] = EnsembleInfo(
            name=e.name,
            members=tuple(ensemble.members),
            merge=ensemble.merge,
            judge=ensemble.judge,
            min_members=ensemble.min_members,
            member_timeout_s=ensemble.member_timeout_s,
            min_confidence=ensemble.min_confidence,
        )
    templates = {
        t.task_type: TemplateInfo(
            task_type=t.task_type,
            instructions=t.instructions.strip(),
            params=tuple(
                (name, value)
                for name, value in (
                    ("temperature", t.temperature),
                    ("top_p", t.top_p),
                    ("max_tokens", t.max_tokens),
                )
                if value is not None
            ),
        )
        for t in OptimizerTemplate.objects.filter(enabled=True)
    }
    return RoutingTable(
        version=version, groups=groups, keys=keys, deployments=by_id, ensembles=ensembles, templates=templates
    )


def _or_default(value: T | None, default: T) -> T:
    return default if value is None else value


def _reload_if_changed(table: RoutingTable | None) -> RoutingTable:
    """The current table: `table` if the config version has not moved, else a fresh load.

    Runs in a thread of the event loop's pool, which no request cycle cleans up after.
    """
    try:
        if table is not None and config_version() == table.version:
            return table
        return load_table()
    finally:
        close_old_connections()  # or every pool thread keeps a database connection open


# A forced check (an unknown key may be one created a moment ago) reads the version at most this
# often, so a flood of wrong keys costs no more than a few small reads a second.
FORCED_CHECK_S = 0.1


class TableCache:
    """Holds this process's snapshot and decides when to reload it."""

    def __init__(self) -> None:
        self._table: RoutingTable | None = None
        self._checked_at = 0.0

    async def get(self, *, force_check: bool = False) -> RoutingTable:
        # The router's clock, so a test steps over the interval instead of sleeping through it. A
        # clock that went back (an NTP step, a stopped test clock started again) ends the interval.
        now = clock.time()
        table = self._table
        interval = router_settings()["CONFIG_CHECK_S"]
        if force_check:
            interval = min(interval, FORCED_CHECK_S)
        if table is not None and 0 <= now - self._checked_at < interval:
            return table
        # Set before the read, so requests arriving meanwhile use the current table, not a read each.
        self._checked_at = now
        table = await sync_to_async(_reload_if_changed, thread_sensitive=False)(table)
        self._table = table
        return table

    def invalidate(self) -> None:
        self._table = None


tables = TableCache()
