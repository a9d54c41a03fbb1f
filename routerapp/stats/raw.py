"""Raw rows (short windows): QueryRecord reads through the created_at indexes, exact percentiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, Sum

from routerapp.models import QueryRecord
from routerapp.stats.labels import NONE_LABEL, _labels
from routerapp.stats.windows import PERCENTILES, Stat

# How each grouping is read from QueryRecord rows.
_RAW_GROUP = {
    "model": F("model"),
    "deployment": F("deployment_id"),
    "provider": F("deployment__provider_id"),
    "key": F("api_key_id"),
    "user": F("end_user"),
    # One row per tag: a request counts once in each of its tags (untagged ones under "(none)").
    "tag": F("tags__tag"),
}


def _window_rows(since: datetime, until: datetime, key_id: int | None = None):
    rows = QueryRecord.objects.filter(created_at__gte=since, created_at__lt=until)
    return rows if key_id is None else rows.filter(api_key_id=key_id)


def _key(value: Any) -> str:
    return "" if value is None else str(value)


def _raw_stats(
    since: datetime, until: datetime, by: str | None, window_s: float, key_id: int | None = None
) -> dict[str, Stat]:
    rows = _window_rows(since, until, key_id)
    group = _RAW_GROUP[by] if by else None
    stats: dict[str, Stat] = {}
    aggregates = {
        "requests": Count("id"),
        "errors": Count("id", filter=Q(status=QueryRecord.Status.ERROR)),
        "prompt": Sum("prompt_tokens"),
        "completion": Sum("completion_tokens"),
        "cost": Sum("cost_usd"),
    }
    if group is None:
        found = [{"g": None, **rows.aggregate(**aggregates)}]
    else:
        found = rows.annotate(g=group).values("g").annotate(**aggregates)
    for r in found:
        key = _key(r["g"])
        stats[key] = Stat(
            key=key,
            label="",
            window_s=window_s,
            requests=r["requests"] or 0,
            errors=r["errors"] or 0,
            prompt_tokens=r["prompt"] or 0,
            completion_tokens=r["completion"] or 0,
            cost_usd=r["cost"] or 0.0,
        )
    if group is None and not stats[""].requests:
        return stats
    failed = rows.filter(status=QueryRecord.Status.ERROR)
    by_type = (
        failed.annotate(g=group).values("g", "error_type")
        if group is not None
        else failed.values("error_type")
    )
    for r in by_type.annotate(n=Count("id")):
        stats[_key(r.get("g"))].errors_by_type[r["error_type"] or "error"] = r["n"]
    ok = rows.filter(status=QueryRecord.Status.OK)
    groups = [group] if group is not None else []
    for grouped, values in raw_percentiles(ok, groups, "latency_ms").items():
        stats[_key(grouped[0]) if grouped else ""].latency = values
    for grouped, values in raw_percentiles(ok, groups, "ttft_ms").items():
        stats[_key(grouped[0]) if grouped else ""].ttft = values
    return stats


def raw_percentiles(rows, groups: list, column: str) -> dict[tuple, dict[str, float | None]]:
    """p50/p95/p99 of `column` over `rows`, per combination of the `groups` expressions.

    Interpolated linearly between the two nearest ranks: numpy.percentile's default and
    PostgreSQL's percentile_cont.
    """
    names = [f"g{i}" for i in range(len(groups))]
    inner = (
        rows.filter(**{f"{column}__isnull": False})
        .annotate(**dict(zip(names, groups, strict=True)), v=F(column))
        .values_list(*names, "v")
    )
    sql, params = inner.query.sql_with_params()
    columns = ", ".join(names)
    wanted = list(PERCENTILES.values())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            select = f"{columns}, " if names else ""
            group_by = f" GROUP BY {columns}" if names else ""
            cursor.execute(
                f"SELECT {select}percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY v) FROM ({sql}) t{group_by}",
                [wanted, *params],
            )
            return {
                tuple(r[:-1]): dict(zip(PERCENTILES, r[-1], strict=True)) for r in cursor.fetchall() if r[-1]
            }
        partition = f"PARTITION BY {columns}" if names else ""
        around = " OR ".join(
            f"rn - 1 = CAST((n - 1) * {p!r} AS INTEGER) OR rn - 2 = CAST((n - 1) * {p!r} AS INTEGER)"
            for p in wanted
        )
        select = f"{columns}, " if names else ""
        cursor.execute(
            f"SELECT {select}n, rn, v FROM (SELECT {select}v, ROW_NUMBER() OVER ({partition} ORDER BY v) AS rn, "
            f"COUNT(*) OVER ({partition}) AS n FROM ({sql}) t) w WHERE {around}",
            params,
        )
        ranked: dict[tuple, tuple[int, dict[int, float]]] = {}
        for r in cursor.fetchall():
            key = tuple(r[: len(names)])
            n, rn, v = r[len(names) :]
            ranked.setdefault(key, (n, {}))[1][rn] = v
    result: dict[tuple, dict[str, float | None]] = {}
    for key, (n, values) in ranked.items():
        result[key] = {}
        for name, p in PERCENTILES.items():
            h = (n - 1) * p
            low = int(h)
            below = values[low + 1]
            above = values.get(low + 2, below)
            result[key][name] = below + (h - low) * (above - below)
    return result


def _raw_slowest(
    since: datetime, until: datetime, key_id: int | None, limit: int = 10
) -> list[dict[str, Any]]:
    rows = (
        _window_rows(since, until, key_id)
        .filter(status=QueryRecord.Status.OK)
        .order_by("-latency_ms")
        .values_list("request_id", flat=True)[:limit]
    )
    return _slowest_rows(list(rows))


def _slowest_rows(request_ids: list[str]) -> list[dict[str, Any]]:
    if not request_ids:
        return []
    labels = _labels("deployment")
    found = QueryRecord.objects.filter(request_id__in=request_ids).values(
        "request_id", "model", "deployment_id", "latency_ms", "ttft_ms", "created_at"
    )
    rows: list[dict[str, Any]] = [
        {
            "request_id": r["request_id"],
            "model": r["model"],
            "deployment": labels.get(_key(r["deployment_id"]), NONE_LABEL),
            "latency_ms": round(r["latency_ms"], 2),
            "ttft_ms": None if r["ttft_ms"] is None else round(r["ttft_ms"], 2),
            "created_at": r["created_at"].isoformat(),
        }
        for r in found
    ]
    rows.sort(key=lambda r: -r["latency_ms"])
    return rows
