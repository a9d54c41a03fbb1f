"""Rollups (long windows): the hourly StatsRollup rows, plus the raw head before the first full hour."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

import orjson
from django.db.models import TextField
from django.db.models.functions import Cast

from routerapp.models import Deployment, StatsRollup
from routerapp.observability.rollups import Totals, hour_of, percentile_from_bins
from routerapp.stats.raw import _RAW_GROUP, _key, _window_rows
from routerapp.stats.windows import PERCENTILES, Stat


def _first_full_hour(since: datetime) -> datetime:
    hour = hour_of(since)
    return hour if hour == since else hour + timedelta(hours=1)


def _rollup_dimension(by: str | None) -> str:
    if by is None:
        return "all"
    return "deployment" if by == "provider" else by


def _regroup(by: str | None):
    """Map a rollup row's value to the requested group: providers are summed from deployments."""
    if by != "provider":
        return lambda value: value
    providers = {str(k): _key(v) for k, v in Deployment.objects.values_list("id", "provider_id")}
    return lambda value: providers.get(value, "")


ROLLUP_JSON = ("errors_by_type", "latency_bins", "ttft_bins", "slowest")


def load_rollups(
    dimension: str, since: datetime, until: datetime, key_id: int | None = None
) -> list[tuple[str, datetime, Totals]]:
    """(value, hour, totals) of the rollup rows of one dimension with since <= hour <= until.

    The JSON columns are read as text and parsed with orjson: Django's json.loads per field was
    most of the time a 7-day page took.
    """
    rows = StatsRollup.objects.filter(hour__gte=since, hour__lte=until)
    rows = (
        rows.filter(dimension="key", value=str(key_id))
        if key_id is not None
        else rows.filter(dimension=dimension)
    )
    texts = {f"{name}_text": Cast(name, TextField()) for name in ROLLUP_JSON}
    result = []
    for value, hour, requests, errors, prompt, completion, cost, by_type, latency, ttft, slowest in (
        rows.annotate(**texts)
        .values_list(
            "value",
            "hour",
            "requests",
            "errors",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            *texts,
        )
        .iterator(2000)
    ):
        totals = Totals(
            requests=requests,
            errors=errors,
            errors_by_type=Counter(orjson.loads(by_type)),
            latency_bins=Counter({int(k): v for k, v in orjson.loads(latency).items()}),
            ttft_bins=Counter({int(k): v for k, v in orjson.loads(ttft).items()}),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            slowest=[tuple(item) for item in orjson.loads(slowest)],
        )
        result.append((value, hour, totals))
    return result


def _head_totals(
    since: datetime, until: datetime, by: str | None, key_id: int | None = None
) -> dict[str, Totals]:
    """Totals of the raw rows in [since, until): the part of the window before its first full hour."""
    totals: dict[str, Totals] = defaultdict(Totals)
    if until <= since:
        return totals
    fields = (
        "status",
        "error_type",
        "latency_ms",
        "ttft_ms",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
    )
    rows = _window_rows(since, until, key_id)
    if by:
        rows = rows.annotate(g=_RAW_GROUP[by]).values_list("g", *fields, "request_id")
    else:
        rows = rows.values_list(*fields, "request_id")
    for row in rows.iterator(2000):
        g = row[0] if by else None
        status, error_type, latency, ttft, prompt, completion, cost, request_id = row[1:] if by else row
        totals[_key(g)].add(
            status=status,
            error_type=error_type,
            latency_ms=latency,
            ttft_ms=ttft,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            request_id=request_id,
        )
    return totals


def _stat(key: str, totals: Totals, window_s: float) -> Stat:
    return Stat(
        key=key,
        label="",
        window_s=window_s,
        requests=totals.requests,
        errors=totals.errors,
        errors_by_type=dict(totals.errors_by_type),
        latency={name: percentile_from_bins(totals.latency_bins, p) for name, p in PERCENTILES.items()},
        ttft={name: percentile_from_bins(totals.ttft_bins, p) for name, p in PERCENTILES.items()},
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        cost_usd=totals.cost_usd,
    )
