"""Health checks: probe every enabled deployment and record what it answered.

`check_deployments` is the one core function: `manage.py healthcheck`, POST /api/health/check and
the django-q2 schedule (routerapp.tasks.run_health_checks, every minute) call it. A failed probe
feeds the breaker: the deployment is cooled down for ROUTER["HEALTH_COOLDOWN_S"], so clients are
routed past it before one of them hits it (in every server process: HealthSync reads the outcomes
back from the database, for when the check ran in the worker and the cache is not shared); a passing probe closes a breaker whose cooldown is over. It is sync on purpose, for those callers; the
probes themselves run concurrently on an event loop of their own, each bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import timezone

from routerapp import errors
from routerapp.conf import router_settings
from routerapp.models import Deployment
from routerapp.providers import adapter_for, closing_clients
from routerapp.providers.base import Timeouts
from routerapp.providers.redact import redact
from routerapp.routing import breaker
from routerapp.routing.table import DeploymentInfo, RoutingTable, load_table

HEALTHY, UNHEALTHY = "healthy", "unhealthy"
# Probes in flight at once: enough to check a large config in a few rounds without a burst.
CONCURRENCY = 16


@dataclass(slots=True)
class HealthResult:
    deployment_id: int
    model: str
    label: str
    status: str
    latency_ms: float
    error: str
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return self.status == HEALTHY


def check_deployments(ids: Iterable[int] | None = None, *, timeout_s: float = 10.0) -> list[HealthResult]:
    """Probe the enabled deployments (or those of `ids` that are enabled), record and return the results.

    Not for an event loop's thread: it runs its own loop (wrap it in sync_to_async from async code).
    """
    table = load_table()
    deployments = sorted(table.deployments.values(), key=lambda d: d.id)
    if ids is not None:
        wanted = set(ids)
        deployments = [d for d in deployments if d.id in wanted]
    results = asyncio.run(closing_clients(_probe_all(deployments, timeout_s)))
    for r in results:
        # update(), not save(): health is not configuration, and a save would make every server
        # process reload its routing table (signals.py) once per deployment per check.
        Deployment.objects.filter(pk=r.deployment_id).update(
            health_status=r.status,
            health_error=r.error,
            health_checked_at=r.checked_at,
            health_latency_ms=round(r.latency_ms, 1),
        )
    for r in results:
        apply_outcome(table, r.deployment_id, r.ok, r.checked_at)
    return results


def apply_outcome(table: RoutingTable, deployment_id: int, ok: bool, checked_at: datetime) -> None:
    """Feed one probe's outcome to this process's breaker: the check that ran it, and every server
    that reads it back from the database (HealthSync)."""
    deployment = table.deployments.get(deployment_id)
    if deployment is None:
        return  # disabled or removed since
    if ok:
        breaker.record_success(deployment)
    # As the breaker itself does: never cool the only deployment of a model name.
    elif (group := table.groups.get(deployment.group)) is not None and len(group.deployments) > 1:
        breaker.open_until(deployment.id, checked_at.timestamp() + router_settings()["HEALTH_COOLDOWN_S"])


class HealthSync:
    """Brings health checks run by another process into this one's breaker.

    The django-q2 worker runs the scheduled checks; with the default local-memory cache the
    cooldown it opens lives in its own memory, and the server it should protect never sees it. So
    each server reads the outcomes back from the Deployment rows the check wrote (one small SELECT),
    at most every ROUTER_CONFIG_CHECK_S, as it checks for config changes; route() calls poll().
    With Redis the breaker is shared already and this only repeats what the check did.
    """

    def __init__(self) -> None:
        self._checked_at = 0.0
        self._since: datetime | None = None

    async def poll(self, table: RoutingTable) -> None:
        now = time.monotonic()
        if now - self._checked_at < router_settings()["CONFIG_CHECK_S"]:
            return
        self._checked_at = now  # before the read: requests arriving meanwhile do not read again
        await sync_to_async(self.read, thread_sensitive=False)(table)

    def read(self, table: RoutingTable) -> None:
        # A fresh process starts with every cooldown still running.
        since = self._since or timezone.now() - timedelta(seconds=router_settings()["HEALTH_COOLDOWN_S"])
        try:
            rows = Deployment.objects.filter(health_checked_at__gt=since).values_list(
                "id", "health_status", "health_checked_at"
            )
            for dep_id, status, checked_at in rows.order_by("health_checked_at"):
                if checked_at is None:  # excluded by the filter; for the type checker
                    continue
                apply_outcome(table, dep_id, status == HEALTHY, checked_at)
                since = max(since, checked_at)
            self._since = since
        finally:
            close_old_connections()  # a pool thread no request cycle cleans up after

    def reset(self) -> None:
        self._checked_at, self._since = 0.0, None


health_sync = HealthSync()


async def _probe_all(deployments: list[DeploymentInfo], timeout_s: float) -> list[HealthResult]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def bounded(d: DeploymentInfo) -> HealthResult:
        async with gate:
            return await _probe(d, timeout_s)

    return list(await asyncio.gather(*(bounded(d) for d in deployments)))


async def _probe(deployment: DeploymentInfo, timeout_s: float) -> HealthResult:
    timeouts = Timeouts(
        connect=min(timeout_s, router_settings()["CONNECT_TIMEOUT_S"]),
        total=timeout_s,
        first_token=timeout_s,
        between_chunks=timeout_s,
    )
    began = time.perf_counter()
    error = ""
    try:
        async with asyncio.timeout(timeout_s):
            await adapter_for(deployment.provider).probe(deployment.upstream_model, timeouts)
    except TimeoutError:
        error = f"UpstreamTimeoutError: no answer within {timeout_s:g}s"
    except errors.RouterError as exc:
        error = f"{exc.error_type}: {exc.message}"
    except Exception as exc:  # noqa: BLE001 - an adapter bug is this deployment's problem, not the check's
        error = f"unexpected {type(exc).__name__}: {exc}"
    return HealthResult(
        deployment_id=deployment.id,
        model=deployment.group,
        label=deployment.label,
        status=UNHEALTHY if error else HEALTHY,
        latency_ms=(time.perf_counter() - began) * 1000,
        # Shown on the dashboard: the same masking as an upstream error passed to a client.
        error=redact(error, deployment.provider.secrets)[:2000],
        checked_at=timezone.now(),
    )
