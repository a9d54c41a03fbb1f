"""/api/health: each deployment's last health check and breaker state; POST …/check runs one now."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from routerapp.api.auth import admin_auth
from routerapp.models import Deployment
from routerapp.routing import breaker
from routerapp.routing.health import check_deployments

router = Router(tags=["health"], auth=admin_auth)


class DeploymentHealthOut(Schema):
    deployment_id: int
    model: str
    deployment: str
    enabled: bool
    status: str
    error: str
    latency_ms: float | None
    checked_at: datetime | None
    cooldown_remaining_s: float


class CheckIn(Schema):
    deployment_ids: list[int] | None = None


def _health(d: Deployment) -> dict:
    return {
        "deployment_id": d.id,
        "model": d.model_group.name,
        "deployment": d.label,
        "enabled": d.enabled,
        "status": d.health_status,
        "error": d.health_error,
        "latency_ms": d.health_latency_ms,
        "checked_at": d.health_checked_at,
        "cooldown_remaining_s": round(breaker.cooldown_remaining(d.id), 3),
    }


def _deployments(ids: list[int] | None = None):
    rows = Deployment.objects.select_related("model_group", "provider").order_by("id")
    return rows.filter(id__in=ids) if ids is not None else rows


@router.get("/health", response=list[DeploymentHealthOut])
def get_health(request: HttpRequest):
    return [_health(d) for d in _deployments()]


@router.post("/health/check", response=list[DeploymentHealthOut])
def run_check(request: HttpRequest, payload: CheckIn | None = None):
    """Probe the enabled deployments (or the ones listed) now; a failing one is cooled down at once."""
    ids = payload.deployment_ids if payload else None
    results = check_deployments(ids)
    return [_health(d) for d in _deployments([r.deployment_id for r in results])]
