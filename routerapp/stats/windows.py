"""The vocabulary every read shares: windows, groupings, percentiles, and the numbers they produce."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from routerapp.errors import is_client_error

WINDOWS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
# How pages name them.
WINDOW_LABELS = {"5m": "last 5 min", "1h": "last hour", "24h": "last 24 h", "7d": "last 7 days"}
GROUPINGS = ("model", "deployment", "provider", "key", "user", "tag")

if TYPE_CHECKING:
    WindowName = str
    GroupingName = str
else:
    # The same names as types, for django-ninja to validate query parameters against.
    WindowName = Literal[tuple(WINDOWS)]
    GroupingName = Literal[GROUPINGS]
PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
# Windows up to this long read raw rows; longer ones read the hourly rollups.
RAW_UP_TO = timedelta(hours=1)
# Seconds per point of a time series, by window.
SERIES_STEP = {"5m": 10, "1h": 60, "24h": 3600, "7d": 3600}


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

    @property
    def client_errors(self) -> int:
        """Failed requests that were the client's mistake (errors.is_client_error)."""
        return sum(n for kind, n in self.errors_by_type.items() if is_client_error(kind))

    @property
    def failure_rate(self) -> float:
        """Failed requests that were not the client's mistake, over all requests."""
        return (self.errors - self.client_errors) / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "requests": self.requests,
            "rps": round(self.rps, 4),
            "errors": self.errors,
            "error_rate": round(self.error_rate, 4),
            "errors_by_type": self.errors_by_type,
            "client_errors": self.client_errors,
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
