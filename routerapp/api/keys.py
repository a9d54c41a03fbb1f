"""/api/keys: client and admin keys. A new key is in the creation response, once, and nowhere else."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from routerapp import errors
from routerapp.api.auth import admin_auth
from routerapp.models import ApiKey
from routerapp.routing.table import load_table

BudgetPeriod = Literal["", "daily", "weekly", "monthly"]  # ApiKey.BudgetPeriod

router = Router(tags=["keys"], auth=admin_auth)


class KeyOut(Schema):
    name: str
    prefix: str
    allowed_models: list[str]
    rpm_limit: int | None
    tpm_limit: int | None
    budget_usd: float | None
    budget_period: str
    spent_usd: float
    enabled: bool
    is_admin: bool
    created_at: datetime
    last_used_at: datetime | None


class KeyCreatedOut(KeyOut):
    key: str = Field(description="The key itself. Shown once: only its hash is stored.")


class KeyIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    allowed_models: list[str] = Field(default_factory=list, description="Empty: every model.")
    rpm_limit: int | None = Field(default=None, ge=1)
    tpm_limit: int | None = Field(default=None, ge=1)
    budget_usd: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=4)
    budget_period: BudgetPeriod = Field(default="", description="'' (lifetime), daily, weekly or monthly.")
    is_admin: bool = False


class KeyPatch(Schema):
    allowed_models: list[str] | None = None
    rpm_limit: int | None = Field(default=None, ge=1)
    tpm_limit: int | None = Field(default=None, ge=1)
    budget_usd: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=4)
    budget_period: BudgetPeriod | None = None
    enabled: bool | None = None


def _out(key: ApiKey) -> dict:
    return {
        "name": key.name,
        "prefix": key.prefix,
        "allowed_models": list(key.allowed_models or []),
        "rpm_limit": key.rpm_limit,
        "tpm_limit": key.tpm_limit,
        "budget_usd": float(key.budget_usd) if key.budget_usd is not None else None,
        "budget_period": key.budget_period,
        "spent_usd": float(key.spent_usd),
        "enabled": key.enabled,
        "is_admin": key.is_admin,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
    }


def _get(name: str) -> ApiKey:
    key = ApiKey.objects.filter(name=name).first()
    if key is None:
        raise errors.InvalidRequestError(f"No key named '{name}'.", status=404, code="not_found")
    return key


def _check_models(names: list[str]) -> list[str]:
    known = set(load_table().model_names())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise errors.InvalidRequestError(
            f"allowed_models names unknown model(s): {', '.join(unknown)}", param="allowed_models"
        )
    return names


@router.post("/keys", response={201: KeyCreatedOut})
def create_key(request: HttpRequest, payload: KeyIn):
    allowed = _check_models(payload.allowed_models)
    try:
        with transaction.atomic():
            key, raw = ApiKey.create_key(
                payload.name,
                allowed_models=allowed,
                rpm_limit=payload.rpm_limit,
                tpm_limit=payload.tpm_limit,
                budget_usd=payload.budget_usd,
                budget_period=payload.budget_period,
                is_admin=payload.is_admin,
            )
    except IntegrityError:
        raise errors.InvalidRequestError(
            f"A key named '{payload.name}' already exists.", status=409, code="already_exists", param="name"
        ) from None
    return Status(201, {**_out(key), "key": raw})


@router.get("/keys", response=list[KeyOut])
def list_keys(request: HttpRequest):
    return [_out(k) for k in ApiKey.objects.order_by("name")]


@router.get("/keys/{name}", response=KeyOut)
def get_key(request: HttpRequest, name: str):
    return _out(_get(name))


@router.patch("/keys/{name}", response=KeyOut)
def update_key(request: HttpRequest, name: str, payload: KeyPatch):
    key = _get(name)
    changes = payload.model_dump(exclude_unset=True)
    if changes.get("allowed_models") is not None:
        _check_models(changes["allowed_models"])
    for field, value in changes.items():
        if value is None and field in ("allowed_models", "budget_period"):
            value = [] if field == "allowed_models" else ""
        setattr(key, field, value)
    key.save()  # the config version moves: every process sees the new limits
    return _out(key)


@router.delete("/keys/{name}", response=KeyOut)
def revoke_key(request: HttpRequest, name: str):
    """Revoke the key: it stops working everywhere; its history stays."""
    key = _get(name)
    key.enabled = False
    key.save()
    return _out(key)
