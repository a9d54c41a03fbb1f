"""The routing table: an in-memory snapshot of providers, model names, deployments and client keys.

The hot path never queries the database for configuration. Each process keeps one snapshot and
reloads it when the shared config version (bumped by any save in any process, see signals.py) has
moved; it checks that version at most every ROUTER["CONFIG_CHECK_S"] seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections

from routerapp.models import ApiKey, Deployment, ModelGroup, Provider, hash_key
from routerapp.providers.base import ProviderConfig

VERSION_KEY = "config:version"


@dataclass(slots=True, frozen=True)
class DeploymentInfo:
    id: int
    group: str
    provider: ProviderConfig
    upstream_model: str
    weight: float = 1.0
    rpm: int | None = None
    tpm: int | None = None
    input_cost_per_mtok: float | None = None
    output_cost_per_mtok: float | None = None
    context_window: int | None = None

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
    cooldown_s: float = 5.0


@dataclass(slots=True, frozen=True)
class KeyInfo:
    id: int
    name: str
    allowed_models: frozenset[str] = frozenset()
    rpm_limit: int | None = None
    budget_usd: float | None = None
    spent_usd: float = 0.0

    def may_use(self, model: str) -> bool:
        return not self.allowed_models or model in self.allowed_models


@dataclass(slots=True)
class RoutingTable:
    version: int = 0
    groups: dict[str, GroupInfo] = field(default_factory=dict)
    keys: dict[str, KeyInfo] = field(default_factory=dict)  # by SHA-256 of the raw key
    deployments: dict[int, DeploymentInfo] = field(default_factory=dict)

    def key_for(self, raw: str) -> KeyInfo | None:
        return self.keys.get(hash_key(raw))

    def model_names(self) -> list[str]:
        return sorted(self.groups)


def config_version() -> int:
    return int(cache.get(VERSION_KEY) or 0)


def bump_config_version() -> None:
    """Tell every process that the routing config changed."""
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        if not cache.add(VERSION_KEY, 1, timeout=None):
            cache.incr(VERSION_KEY)


def load_table() -> RoutingTable:
    """Build a snapshot from the database (sync; called off the event loop)."""
    version = config_version()
    defaults = settings.ROUTER
    providers: dict[int, ProviderConfig] = {}
    for p in Provider.objects.filter(enabled=True):
        providers[p.id] = ProviderConfig(
            id=p.id,
            name=p.name,
            kind=p.kind,
            base_url=p.base_url,
            api_key=p.resolved_api_key(),
            timeout_s=p.timeout_s,
            headers=dict(p.extra_headers or {}),
            options=dict(p.options or {}),
        )
    deployments: dict[str, list[DeploymentInfo]] = {}
    by_id: dict[int, DeploymentInfo] = {}
    for d in Deployment.objects.filter(enabled=True).select_related("model_group").order_by("id"):
        if d.provider_id not in providers:
            continue
        info = DeploymentInfo(
            id=d.id,
            group=d.model_group.name,
            provider=providers[d.provider_id],
            upstream_model=d.upstream_model,
            weight=d.weight,
            rpm=d.rpm,
            tpm=d.tpm,
            input_cost_per_mtok=d.input_cost_per_mtok,
            output_cost_per_mtok=d.output_cost_per_mtok,
            context_window=d.context_window,
        )
        deployments.setdefault(d.model_group.name, []).append(info)
        by_id[d.id] = info
    groups = {}
    for g in ModelGroup.objects.filter(enabled=True):
        groups[g.name] = GroupInfo(
            name=g.name,
            strategy=g.strategy,
            deployments=tuple(deployments.get(g.name, ())),
            fallbacks=tuple(g.fallbacks or ()),
            context_window_fallbacks=tuple(g.context_window_fallbacks or ()),
            content_policy_fallbacks=tuple(g.content_policy_fallbacks or ()),
            num_retries=g.num_retries if g.num_retries is not None else defaults["NUM_RETRIES"],
            timeout_s=g.timeout_s,
            first_token_timeout_s=g.first_token_timeout_s,
            chunk_timeout_s=g.chunk_timeout_s,
            allowed_fails=g.allowed_fails if g.allowed_fails is not None else defaults["ALLOWED_FAILS"],
            cooldown_s=g.cooldown_s if g.cooldown_s is not None else defaults["COOLDOWN_S"],
        )
    keys = {}
    for k in ApiKey.objects.filter(enabled=True):
        keys[k.key_hash] = KeyInfo(
            id=k.id,
            name=k.name,
            allowed_models=frozenset(k.allowed_models or ()),
            rpm_limit=k.rpm_limit,
            budget_usd=float(k.budget_usd) if k.budget_usd is not None else None,
            spent_usd=float(k.spent_usd),
        )
    return RoutingTable(version=version, groups=groups, keys=keys, deployments=by_id)


def _load_in_pool_thread() -> RoutingTable:
    """load_table() from a thread of the event loop's pool, which no request cycle cleans up after."""
    try:
        return load_table()
    finally:
        close_old_connections()  # or every pool thread keeps a database connection open


class TableCache:
    """Holds this process's snapshot and decides when to reload it."""

    def __init__(self) -> None:
        self._table: RoutingTable | None = None
        self._checked_at = 0.0

    async def get(self, *, force_check: bool = False) -> RoutingTable:
        now = time.monotonic()
        table = self._table
        if (
            table is not None
            and not force_check
            and now - self._checked_at < settings.ROUTER["CONFIG_CHECK_S"]
        ):
            return table
        self._checked_at = now
        # A sync cache read on purpose: Django's async cache methods hop to a thread, which costs
        # more than a local-memory lookup or one Redis round trip.
        if table is None or config_version() != table.version:
            table = await sync_to_async(_load_in_pool_thread, thread_sensitive=False)()
            self._table = table
        return table

    def invalidate(self) -> None:
        self._table = None


tables = TableCache()
