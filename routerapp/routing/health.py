"""Health checks: probe every enabled deployment and record what it answered.

`check_deployments` is the one core function: `manage.py healthcheck`, POST /api/health/check and
the django-q2 schedule (routerapp.tasks.run_health_checks, every minute) call it. A failed probe
feeds the breaker: the deployment is cooled down for ROUTER["HEALTH_COOLDOWN_S"], so clients are
routed past it before one of them hits it; a passing probe closes a breaker whose cooldown is over. It is sync on purpose, for those callers; the
probes themselves run concurrently on an event loop of their own, each bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from routerapp import errors
from routerapp.models import Deployment
from routerapp.providers import adapter_for, close_clients
from routerapp.providers.base import Timeouts
from routerapp.providers.redact import redact
from routerapp.routing import breaker
from routerapp.routing.table import DeploymentInfo, load_table

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
    results = asyncio.run(_probe_all(deployments, timeout_s))
    for r in results:
        # update(), not save(): health is not configuration, and a save would make every server
        # process reload its routing table (signals.py) once per deployment per check.
        Deployment.objects.filter(pk=r.deployment_id).update(
            health_status=r.status,
            health_error=r.error,
            health_checked_at=r.checked_at,
            health_latency_ms=round(r.latency_ms, 1),
        )
    by_id = {d.id: d for d in deployments}
    for r in results:
        deployment = by_id[r.deployment_id]
        if r.ok:
            breaker.record_success(deployment)
        # As the breaker itself does: never cool the only deployment of a model name.
        elif (group := table.groups.get(deployment.group)) is not None and len(group.deployments) > 1:
            breaker.open_until(deployment.id, time.time() + settings.ROUTER["HEALTH_COOLDOWN_S"])
    return results


async def _probe_all(deployments: list[DeploymentInfo], timeout_s: float) -> list[HealthResult]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def bounded(d: DeploymentInfo) -> HealthResult:
        async with gate:
            return await _probe(d, timeout_s)

    try:
        return list(await asyncio.gather(*(bounded(d) for d in deployments)))
    finally:
        await close_clients()  # this loop ends here; its pooled client must not outlive it


async def _probe(deployment: DeploymentInfo, timeout_s: float) -> HealthResult:
    timeouts = Timeouts(
        connect=min(timeout_s, settings.ROUTER["CONNECT_TIMEOUT_S"]),
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
