"""Time series (one point per step) and the latency histogram's bars.

Named timeseries, not series, so the module does not shadow the package's series() function.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Func, IntegerField, Q, Sum

from routerapp.models import QueryRecord
from routerapp.observability.rollups import Totals, bin_bounds, percentile_from_bins
from routerapp.stats.raw import _RAW_GROUP, _key, _window_rows, raw_percentiles
from routerapp.stats.windows import PERCENTILES, _rounded

# Time series.


class EpochBucket(Func):
    """The index of the `step`-second interval a datetime falls in (seconds since 1970 // step)."""

    output_field = IntegerField()

    def __init__(self, expression, step: int) -> None:
        super().__init__(expression)
        self.step = int(step)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(CAST(strftime('%%s', {sql}) AS INTEGER) / {self.step})", params

    def as_sql(self, compiler, connection, function=None, template=None, arg_joiner=None, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {sql}) / {self.step}) AS BIGINT)", params


@dataclass(slots=True)
class Point:
    at: datetime
    requests: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    latency: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(PERCENTILES))
    step_s: int = 60

    @property
    def rps(self) -> float:
        return self.requests / self.step_s

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "requests": self.requests,
            "rps": round(self.rps, 4),
            "errors": self.errors,
            "error_rate": round(self.error_rate, 4),
            "cost_usd": round(self.cost_usd, 6),
            "latency_ms": _rounded(self.latency),
        }


@dataclass(slots=True)
class Series:
    window: str
    by: str | None
    step_s: int
    times: list[datetime]
    lines: dict[str, list[Point]]  # group label ("all" without grouping) → one point per step

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "by": self.by,
            "step_s": self.step_s,
            "lines": {label: [p.as_dict() for p in points] for label, points in self.lines.items()},
        }


def _raw_series(since: datetime, until: datetime, by: str | None, step: int) -> dict[str, dict[int, Point]]:
    rows = _window_rows(since, until).annotate(bucket=EpochBucket("created_at", step))
    group = _RAW_GROUP[by] if by else None
    grouped = rows.annotate(g=group).values("g", "bucket") if by else rows.values("bucket")
    result: dict[str, dict[int, Point]] = defaultdict(dict)
    for r in grouped.annotate(
        requests=Count("id"),
        errors=Count("id", filter=Q(status=QueryRecord.Status.ERROR)),
        cost=Sum("cost_usd"),
    ):
        bucket = int(r["bucket"])
        result[_key(r.get("g"))][bucket] = Point(
            at=datetime.fromtimestamp(bucket * step, tz=until.tzinfo),
            requests=r["requests"],
            errors=r["errors"],
            cost_usd=r["cost"] or 0.0,
            step_s=step,
        )
    ok = rows.filter(status=QueryRecord.Status.OK)
    exprs = [group, F("bucket")] if by else [F("bucket")]
    for key, values in raw_percentiles(ok, exprs, "latency_ms").items():
        g, bucket = (key[0], key[1]) if by else ("", key[0])
        point = result[_key(g)].get(int(bucket))
        if point is not None:
            point.latency = values
    return result


def _hourly_points(hours: list[tuple[str, datetime, Totals]], until: datetime) -> dict[str, dict[int, Point]]:
    hourly: dict[str, dict[int, Totals]] = defaultdict(dict)
    for key, hour, totals in hours:
        index = int(hour.timestamp()) // 3600
        known = hourly[key].get(index)
        if known is None:
            hourly[key][index] = totals  # most points are one row: no copy
        else:
            merged = Totals()
            merged.merge(known)
            merged.merge(totals)
            hourly[key][index] = merged
    result: dict[str, dict[int, Point]] = defaultdict(dict)
    for key, by_hour in hourly.items():
        for index, t in by_hour.items():
            result[key][index] = Point(
                at=datetime.fromtimestamp(index * 3600, tz=until.tzinfo),
                requests=t.requests,
                errors=t.errors,
                cost_usd=t.cost_usd,
                latency={name: percentile_from_bins(t.latency_bins, p) for name, p in PERCENTILES.items()},
                step_s=3600,
            )
    return result


# Latency histogram.


@dataclass(slots=True)
class Bar:
    low_ms: float
    high_ms: float
    count: int


def _bars(bins: dict[int, int], bars: int) -> list[Bar]:
    if not bins:
        return []
    low, high = min(bins), max(bins)
    width = max(1, math.ceil((high - low + 1) / bars))
    merged: Counter = Counter()
    for index, n in bins.items():
        merged[low + (index - low) // width * width] += n
    return [
        Bar(bin_bounds(start)[0], bin_bounds(start + width - 1)[1], merged.get(start, 0))
        for start in range(low, high + 1, width)
    ]
