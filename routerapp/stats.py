"""The read side of the history: statistics, time series and error groups over time windows.

Used by the dashboard, GET /api/stats and `manage.py stats`, so they always agree. Everything is
computed in the database:

- Windows up to an hour read QueryRecord rows through the created_at indexes. Percentiles are
  exact, interpolated like numpy's default and PostgreSQL's percentile_cont: PostgreSQL computes
  them with percentile_cont, SQLite with ROW_NUMBER() over the rows of each group, returning only
  the two rows around each percentile.
- Longer windows (24 h, 7 d) add up the hourly StatsRollup rows the history writer maintains
  (a few hundred rows instead of up to a million), plus the raw rows of the partial hour at the
  start of the window. Their percentiles come from log-scale histograms: within ~6 %.

Latency percentiles are over successful requests; error rates over all requests.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import orjson
from django.db import connection
from django.db.models import Count, F, Func, IntegerField, Q, Sum, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from routerapp.models import ApiKey, Attempt, Deployment, ErrorGroup, Provider, QueryRecord, StatsRollup
from routerapp.rollups import Totals, bin_bounds, hour_of, percentile_from_bins

WINDOWS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
GROUPINGS = ("model", "deployment", "provider", "key")
PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
# Windows up to this long read raw rows; longer ones read the hourly rollups.
RAW_UP_TO = timedelta(hours=1)
# Seconds per point of a time series, by window.
SERIES_STEP = {"5m": 10, "1h": 60, "24h": 3600, "7d": 3600}
NONE_LABEL = "(none)"

# How each grouping is read from QueryRecord rows.
_RAW_GROUP = {
    "model": F("model"),
    "deployment": F("deployment_id"),
    "provider": F("deployment__provider_id"),
    "key": F("api_key_id"),
}


def parse_window(name: str | None, default: str = "1h") -> str:
    return name if name in WINDOWS else default


def parse_grouping(name: str | None) -> str | None:
    return name if name in GROUPINGS else None


@dataclass(slots=True)
class Stat:
    """The numbers of one group (or of everything) over a window."""

    key: str
    label: str
    window_s: float
    requests: int = 0
    errors: int = 0
    errors_by_type: dict[str, int] = field(default_factory=dict)
    latency: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(PERCENTILES))
    ttft: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(PERCENTILES))
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    # Failed upstream attempts (retries and fallbacks included): deployment and provider rows only.
    upstream_failures: int | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.window_s if self.window_s else 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "requests": self.requests,
            "rps": round(self.rps, 4),
            "errors": self.errors,
            "error_rate": round(self.error_rate, 4),
            "errors_by_type": self.errors_by_type,
            "latency_ms": _rounded(self.latency),
            "ttft_ms": _rounded(self.ttft),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "upstream_failures": self.upstream_failures,
        }


def _rounded(values: dict[str, float | None]) -> dict[str, float | None]:
    return {k: None if v is None else round(v, 2) for k, v in values.items()}


@dataclass(slots=True)
class Report:
    window: str
    by: str | None
    since: datetime
    until: datetime
    exact: bool  # percentiles exact (raw rows) or from rollup histograms
    total: Stat
    rows: list[Stat]
    slowest: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "by": self.by,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "percentiles": "exact" if self.exact else "histogram",
            "total": self.total.as_dict(),
            "rows": [r.as_dict() for r in self.rows],
            "slowest": self.slowest,
        }


class WindowStats:
    """Report, time series and latency histogram of one window and grouping.

    Long windows read their rollup rows once and share them between the three, so a dashboard
    page costs one pass over a few hundred rows.
    """

    def __init__(
        self,
        window: str = "1h",
        by: str | None = None,
        *,
        now: datetime | None = None,
        key_id: int | None = None,
    ) -> None:
        if key_id is not None and by is not None:
            raise ValueError("a report scoped to one key has no grouping")
        self.window, self.by, self.key_id = window, by, key_id
        self.until = now or timezone.now()
        self.since = self.until - WINDOWS[window]
        self.window_s = WINDOWS[window].total_seconds()
        self.exact = WINDOWS[window] <= RAW_UP_TO  # raw rows: exact percentiles

    @cached_property
    def _labels(self) -> dict[str, str]:
        return _labels(self.by)

    def _label(self, key: str) -> str:
        if self.by is None:
            return "all"
        return self._labels.get(key, NONE_LABEL if key == "" else key)

    # Long windows: rollups.

    @cached_property
    def _hours(self) -> list[tuple[str, datetime, Totals]]:
        """(group, hour, totals) from the hour the window starts in; providers summed from deployments."""
        regroup = (lambda value: "") if self.key_id is not None else _regroup(self.by)
        rows = load_rollups(_rollup_dimension(self.by), hour_of(self.since), self.until, self.key_id)
        return [(regroup(value), hour, totals) for value, hour, totals in rows]

    @cached_property
    def _grouped(self) -> dict[str, Totals]:
        """Exact totals per group: the raw rows before the first full hour, then whole hours."""
        first_hour = _first_full_hour(self.since)
        grouped = _head_totals(self.since, min(first_hour, self.until), self.by, self.key_id)
        for key, hour, totals in self._hours:
            if hour >= first_hour:
                grouped[key].merge(totals)
        return grouped

    @cached_property
    def _overall(self) -> Totals:
        overall = Totals()
        for totals in self._grouped.values():
            overall.merge(totals)  # exact: counts and histogram bins add up
        return overall

    # What callers ask for.

    def report(self) -> Report:
        """Totals, one row per group (busiest first) and the slowest requests of the window.

        With `key_id`, only that API key's requests count (totals only: the rollups are per
        dimension, so a key's traffic cannot be split further over long windows).
        """
        if self.exact:
            total = _raw_stats(self.since, self.until, None, self.window_s, self.key_id)[""]
            grouped = _raw_stats(self.since, self.until, self.by, self.window_s) if self.by else {}
            slowest = _raw_slowest(self.since, self.until, self.key_id)
        else:
            total = _stat("", self._overall, self.window_s)
            grouped = {
                k: _stat(k, t, self.window_s) for k, t in self._grouped.items() if t.requests and self.by
            }
            slowest = _slowest_rows([request_id for _, request_id in self._overall.slowest])
        total.label = "all"
        if self.by in ("deployment", "provider"):
            # A request no deployment could answer has none to count its error against: the
            # deployments' own failures are their failed attempts.
            regroup = _regroup(self.by)
            failures: Counter = Counter()
            for deployment_id, n in upstream_failures(self.window, now=self.until).items():
                failures[regroup(str(deployment_id))] += n
            for key in failures:
                grouped.setdefault(key, Stat(key=key, label="", window_s=self.window_s))
            for key, stat in grouped.items():
                stat.upstream_failures = failures.get(key, 0) if key else None
        rows = []
        for key, stat in grouped.items():
            stat.label = self._label(key)
            rows.append(stat)
        rows.sort(key=lambda s: (-s.requests, s.label))
        return Report(self.window, self.by, self.since, self.until, self.exact, total, rows, slowest)

    def series(self, limit: int = 8, *, overall: bool = False) -> Series:
        """One point per step over the window, for the `limit` busiest groups, or `overall`."""
        by = None if overall else self.by
        step = SERIES_STEP[self.window]
        first = int(self.since.timestamp()) // step
        last = int(self.until.timestamp()) // step
        times = [datetime.fromtimestamp(i * step, tz=self.until.tzinfo) for i in range(first, last + 1)]
        if self.exact:
            by_group = _raw_series(self.since, self.until, by, step)
        else:
            hours = [("", hour, totals) for _, hour, totals in self._hours] if overall else self._hours
            by_group = _hourly_points(hours, self.until)
        busiest = sorted(by_group, key=lambda k: -sum(p.requests for p in by_group[k].values()))[:limit]
        lines = {
            "all" if by is None else self._label(key): [
                by_group[key].get(i) or Point(at=t, step_s=step) for i, t in enumerate(times, start=first)
            ]
            for key in busiest
        }
        if not lines and by is None:
            lines["all"] = [Point(at=t, step_s=step) for t in times]
        return Series(self.window, by, step, times, lines)

    def histogram(self, bars: int = 24) -> list[Bar]:
        """Successful requests by latency, in logarithmic bins merged down to at most `bars` bars."""
        if self.exact:
            totals = _head_totals(self.since, self.until, None, self.key_id).get("") or Totals()
        else:
            totals = self._overall
        return _bars(totals.latency_bins, bars)


def report(
    window: str = "1h", by: str | None = None, *, now: datetime | None = None, key_id: int | None = None
) -> Report:
    return WindowStats(window, by, now=now, key_id=key_id).report()


def series(
    window: str = "1h", by: str | None = None, *, now: datetime | None = None, limit: int = 8
) -> Series:
    return WindowStats(window, by, now=now).series(limit)


def latency_histogram(window: str = "1h", *, now: datetime | None = None, bars: int = 24) -> list[Bar]:
    return WindowStats(window, now=now).histogram(bars)


# Raw rows (short windows).


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
    for key, values in raw_percentiles(ok, groups, "latency_ms").items():
        stats[_key(key[0]) if key else ""].latency = values
    for key, values in raw_percentiles(ok, groups, "ttft_ms").items():
        stats[_key(key[0]) if key else ""].ttft = values
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
    result = {}
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
    rows = [
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


# Rollups (long windows).


def _first_full_hour(since: datetime) -> datetime:
    hour = hour_of(since)
    return hour if hour == since else hour + timedelta(hours=1)


def _rollup_dimension(by: str | None) -> str:
    return {"provider": "deployment", None: "all"}.get(by, by)


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

    def as_sql(self, compiler, connection, **extra):
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


# Error groups.


@dataclass(slots=True)
class ErrorGroupView:
    group: ErrorGroup
    window_count: int
    trend: list[int]  # per hour, oldest first

    def as_dict(self) -> dict[str, Any]:
        g = self.group
        return {
            "id": g.id,
            "error_type": g.error_type,
            "provider": g.provider.name if g.provider else None,
            "deployment": g.deployment.label if g.deployment else None,
            "message": g.message,
            "count": g.count,
            "window_count": self.window_count,
            "first_seen": g.first_seen.isoformat(),
            "last_seen": g.last_seen.isoformat(),
            "sample_request_id": g.sample_request_id,
            "trend": self.trend,
        }


def error_groups(
    window: str = "24h", *, order: str = "recent", limit: int = 50, now: datetime | None = None
) -> list[ErrorGroupView]:
    """Error groups seen in the window: newest first (`recent`) or loudest in the window (`count`)."""
    until = now or timezone.now()
    since = until - WINDOWS[window]
    groups = (
        ErrorGroup.objects.seen_since(since)
        .select_related("provider", "deployment__provider")
        .order_by("-last_seen")[:500]
    )
    hours = 168 if WINDOWS[window] > timedelta(days=1) else 24
    last_hour = int(hour_of(until).timestamp())
    views = []
    for g in groups:
        trend = [g.hourly.get(str(last_hour - 3600 * i), 0) for i in range(hours - 1, -1, -1)]
        in_window = sum(v for k, v in g.hourly.items() if int(k) >= int(hour_of(since).timestamp()))
        views.append(ErrorGroupView(g, in_window, trend))
    if order == "count":
        views.sort(key=lambda v: (-v.window_count, -v.group.last_seen.timestamp()))
    return views[:limit]


def upstream_failures(window: str = "1h", *, now: datetime | None = None) -> dict[int, int]:
    """Failed upstream attempts per deployment id over the window (retries and fallbacks included).

    Short windows count Attempt rows through the (deployment, created_at) index; long ones add up
    the hourly counts of the error groups.
    """
    until = now or timezone.now()
    since = until - WINDOWS[window]
    if WINDOWS[window] <= RAW_UP_TO:
        ids = list(Deployment.objects.values_list("id", flat=True))
        rows = (
            Attempt.objects.filter(
                deployment_id__in=ids, created_at__gte=since, created_at__lt=until, status="error"
            )
            .values("deployment_id")
            .annotate(n=Count("id"))
        )
        return {r["deployment_id"]: r["n"] for r in rows}
    first = int(hour_of(since).timestamp())
    failures: Counter = Counter()
    for deployment_id, hourly in (
        ErrorGroup.objects.seen_since(since).exclude(deployment=None).values_list("deployment_id", "hourly")
    ):
        failures[deployment_id] += sum(n for hour, n in hourly.items() if int(hour) >= first)
    return dict(failures)


# Labels.


def _labels(by: str | None) -> dict[str, str]:
    if by == "deployment":
        return {
            str(d.id): f"{d.label} ({d.model_group.name})"
            for d in Deployment.objects.select_related("provider", "model_group")
        }
    if by == "provider":
        return {str(k): v for k, v in Provider.objects.values_list("id", "name")}
    if by == "key":
        return {str(k): v for k, v in ApiKey.objects.values_list("id", "name")}
    return {}
