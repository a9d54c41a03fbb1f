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

from collections import Counter
from datetime import datetime
from functools import cached_property

from django.utils import timezone

from routerapp.observability.rollups import Totals, hour_of
from routerapp.stats.errors import ErrorGroupView, error_groups, upstream_failures
from routerapp.stats.labels import NONE_LABEL, _labels
from routerapp.stats.raw import _raw_slowest, _raw_stats, _slowest_rows, raw_percentiles
from routerapp.stats.rolled import (
    ROLLUP_JSON,
    _first_full_hour,
    _head_totals,
    _regroup,
    _rollup_dimension,
    _stat,
    load_rollups,
)
from routerapp.stats.timeseries import Bar, EpochBucket, Point, Series, _bars, _hourly_points, _raw_series
from routerapp.stats.windows import (
    GROUPINGS,
    PERCENTILES,
    RAW_UP_TO,
    SERIES_STEP,
    WINDOW_LABELS,
    WINDOWS,
    GroupingName,
    Report,
    Stat,
    WindowName,
    parse_grouping,
    parse_window,
)

# The package's public names, as they were when this was one stats.py module.
__all__ = [
    "GROUPINGS",
    "NONE_LABEL",
    "PERCENTILES",
    "RAW_UP_TO",
    "ROLLUP_JSON",
    "SERIES_STEP",
    "WINDOWS",
    "WINDOW_LABELS",
    "Bar",
    "GroupingName",
    "WindowName",
    "EpochBucket",
    "ErrorGroupView",
    "Point",
    "Report",
    "Series",
    "Stat",
    "WindowStats",
    "error_groups",
    "latency_histogram",
    "load_rollups",
    "parse_grouping",
    "parse_window",
    "raw_percentiles",
    "report",
    "series",
    "upstream_failures",
]


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
