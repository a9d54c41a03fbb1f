"""What the history writer aggregates as it writes: hourly statistics and upstream error groups.

Both are upserted inside the writer's batch transaction, so they always agree with the QueryRecord
rows (a record is either written with its aggregates or not at all) and the request path pays
nothing for them. routerapp.stats reads them for long windows; the Errors page reads ErrorGroup.

Latency and time to first token are kept as histograms with 20 logarithmic bins per decade (each
bin 12 % wide): histograms of different hours and deployments add up exactly, and a percentile
read from them is within ~6 % of the exact value.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection

from routerapp.models import Deployment, ErrorGroup, StatsRollup
from routerapp.observability.drafts import RecordDraft

BINS_PER_DECADE = 20
SLOWEST_KEPT = 10
RECENT_KEPT = 20
TREND_HOURS = 7 * 24


# Histogram bins.


def bin_of(ms: float) -> int:
    return math.floor(BINS_PER_DECADE * math.log10(max(ms, 0.01)))


def bin_bounds(index: int) -> tuple[float, float]:
    return 10 ** (index / BINS_PER_DECADE), 10 ** ((index + 1) / BINS_PER_DECADE)


def percentile_from_bins(bins: dict[int, int], p: float) -> float | None:
    """The p-quantile (0..1) of the values binned in `bins`, interpolated inside its bin."""
    total = sum(bins.values())
    if total == 0:
        return None
    rank = p * (total - 1)  # 0-based, like numpy's default ("linear") method
    seen = 0
    for index in sorted(bins):
        count = bins[index]
        if seen + count > rank:
            low, high = bin_bounds(index)
            fraction = (rank - seen + 0.5) / count
            return low * (high / low) ** fraction
        seen += count
    return bin_bounds(max(bins))[1]


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


# Hourly statistics.


@dataclass(slots=True)
class Totals:
    """Mergeable aggregates of some requests: one rollup row, or a window of them."""

    requests: int = 0
    errors: int = 0
    errors_by_type: Counter = field(default_factory=Counter)
    latency_bins: Counter = field(default_factory=Counter)
    ttft_bins: Counter = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def add(
        self,
        *,
        status: str,
        error_type: str,
        latency_ms: float,
        ttft_ms: float | None,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float,
        request_id: str,
    ) -> None:
        self.requests += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.cost_usd += cost_usd
        if status == "error":
            self.errors += 1
            self.errors_by_type[error_type or "error"] += 1
        elif status == "ok":
            self.latency_bins[bin_of(latency_ms)] += 1
            if ttft_ms is not None:
                self.ttft_bins[bin_of(ttft_ms)] += 1
            if len(self.slowest) < SLOWEST_KEPT or latency_ms > self.slowest[-1][0]:
                self._keep_slowest([(latency_ms, request_id)])

    def merge(self, other: Totals) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.errors_by_type.update(other.errors_by_type)
        self.latency_bins.update(other.latency_bins)
        self.ttft_bins.update(other.ttft_bins)
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        self._keep_slowest(other.slowest)

    def _keep_slowest(self, items: Iterable[tuple[float, str]]) -> None:
        merged = self.slowest + [(float(latency), str(request_id)) for latency, request_id in items]
        merged.sort(key=lambda item: -item[0])
        self.slowest = merged[:SLOWEST_KEPT]

    @property
    def ok(self) -> int:
        return sum(self.latency_bins.values())

    @classmethod
    def from_row(cls, row: StatsRollup) -> Totals:
        return cls(
            requests=row.requests,
            errors=row.errors,
            errors_by_type=Counter(row.errors_by_type),
            latency_bins=Counter({int(k): v for k, v in row.latency_bins.items()}),
            ttft_bins=Counter({int(k): v for k, v in row.ttft_bins.items()}),
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cost_usd=row.cost_usd,
            slowest=[tuple(item) for item in row.slowest],
        )

    def store(self, row: StatsRollup) -> None:
        row.requests = self.requests
        row.errors = self.errors
        row.errors_by_type = dict(self.errors_by_type)
        row.latency_bins = {str(k): v for k, v in sorted(self.latency_bins.items())}
        row.ttft_bins = {str(k): v for k, v in sorted(self.ttft_bins.items())}
        row.prompt_tokens = self.prompt_tokens
        row.completion_tokens = self.completion_tokens
        row.cost_usd = self.cost_usd
        row.slowest = [list(item) for item in self.slowest]


ROLLUP_FIELDS = [
    "requests",
    "errors",
    "errors_by_type",
    "latency_bins",
    "ttft_bins",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "slowest",
]


def dimension_values(d: RecordDraft) -> tuple[tuple[str, str], ...]:
    """The rollup rows one request counts in: one per tag (an untagged request in the "" tag).
    Providers are summed from their deployments on read."""
    return (
        ("all", ""),
        ("model", d.model[:200]),
        ("deployment", "" if d.deployment_id is None else str(d.deployment_id)),
        ("key", "" if d.api_key_id is None else str(d.api_key_id)),
        ("user", d.end_user[:200]),
        *(("tag", tag[:200]) for tag in d.tags or ("",)),
    )


def rollup_batch(batch: Iterable[RecordDraft]) -> dict[tuple[str, str, datetime], Totals]:
    totals: dict[tuple[str, str, datetime], Totals] = {}
    for d in batch:
        hour = hour_of(d.created_at)
        for dimension, value in dimension_values(d):
            key = (dimension, value, hour)
            entry = totals.get(key)
            if entry is None:
                entry = totals[key] = Totals()
            entry.add(
                status=d.status,
                error_type=d.error_type,
                latency_ms=d.latency_ms,
                ttft_ms=d.ttft_ms,
                prompt_tokens=d.prompt_tokens,
                completion_tokens=d.completion_tokens,
                cost_usd=d.cost_usd,
                request_id=d.request_id,
            )
    return totals


def save_rollups(totals: dict[tuple[str, str, datetime], Totals]) -> None:
    """Add `totals` to the stored rows (inside the caller's transaction).

    Create missing rows first, then lock and update: two processes adding to the same new hour
    then both land on the one row (PostgreSQL row locks; SQLite serialises whole write transactions).
    """
    if not totals:
        return
    StatsRollup.objects.bulk_create(
        [StatsRollup(dimension=d, value=v, hour=h) for d, v, h in totals], ignore_conflicts=True
    )
    hours = {h for _, _, h in totals}
    changed = []
    for row in StatsRollup.objects.select_for_update().filter(hour__in=hours).order_by("id"):
        added = totals.get((row.dimension, row.value, hour_of(row.hour)))
        if added is None:
            continue
        current = Totals.from_row(row)
        current.merge(added)
        current.store(row)
        changed.append(row)
    update_rows(StatsRollup, changed, ROLLUP_FIELDS)


def update_rows(model, rows: list, fields: list[str]) -> None:
    """Save `fields` of `rows` with one executemany of `UPDATE … WHERE id = %s`.

    Django's bulk_update builds a CASE expression per row and field: milliseconds per row, too much
    for the writer thread, which shares the GIL with the event loop serving requests.
    """
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(c.column)} = %s" for c in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    params = [
        [c.get_db_prep_save(getattr(row, c.attname), connection) for c in columns] + [row.pk] for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


# Error groups.

_NORMALISE = [
    (re.compile(r"\b\w+://\S+"), "<url>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<id>"),
    # Request ids, keys and hashes: long tokens mixing letters and digits.
    (re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{10,}\b"), "<id>"),
    # Standalone numbers, units kept ("3.5s" → "<n>s"); digits inside names (qwen2.5-7b, gpt-4o) stay.
    (re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?=(?:ms|s|m|h|k|kb|mb|%)?\b)"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def normalise_message(message: str) -> str:
    """The message with what varies between occurrences (numbers, ids, URLs) replaced."""
    text = message[:2000]
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    return text.strip()[:300]


def fingerprint(error_type: str, provider_id: int | None, deployment_id: int | None, message: str) -> str:
    raw = f"{error_type}\x1f{provider_id or ''}\x1f{deployment_id or ''}\x1f{message}"
    return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()


@dataclass(slots=True)
class Occurrences:
    error_type: str
    provider_id: int | None
    deployment_id: int | None
    message: str
    sample_message: str = ""
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    hourly: Counter = field(default_factory=Counter)
    recent: list[str] = field(default_factory=list)  # oldest first while collecting

    def add(self, at: datetime, request_id: str, raw_message: str) -> None:
        self.count += 1
        self.first = at if self.first is None else min(self.first, at)
        if self.last is None or at >= self.last:
            self.last = at
            self.sample_message = raw_message[:2000]
        self.hourly[str(int(hour_of(at).timestamp()))] += 1
        if request_id not in self.recent[-3:]:
            self.recent.append(request_id)

    def seen(self) -> tuple[datetime, datetime]:
        """The first and the last occurrence."""
        assert self.first is not None and self.last is not None, "no occurrence was added"
        return self.first, self.last


def provider_of(deployment_ids: set[int]) -> dict[int, int]:
    # One small primary-key query per batch with failures; no cache to go stale.
    return dict(Deployment.objects.filter(id__in=deployment_ids).values_list("id", "provider_id"))


def error_occurrences(batch: Iterable[RecordDraft]) -> dict[str, Occurrences]:
    """Group the failures in `batch`: every failed upstream attempt, and every failed request that
    never reached an upstream."""
    found: list[tuple[RecordDraft, str, int | None, str]] = []
    for d in batch:
        failed_attempts = [a for a in d.attempts if a.status == "error"]
        for a in failed_attempts:
            found.append((d, a.error_type or "error", a.deployment_id, a.error_message))
        if d.status == "error" and not failed_attempts:
            found.append((d, d.error_type or "error", d.deployment_id, d.error_message))
    if not found:
        return {}
    providers = provider_of({dep for _, _, dep, _ in found if dep is not None})
    groups: dict[str, Occurrences] = {}
    for d, error_type, deployment_id, raw in found:
        provider_id = providers.get(deployment_id) if deployment_id is not None else None
        message = normalise_message(raw)
        key = fingerprint(error_type, provider_id, deployment_id, message)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Occurrences(error_type[:60], provider_id, deployment_id, message)
        group.add(d.created_at, d.request_id, raw)
    return groups


def save_error_groups(groups: dict[str, Occurrences]) -> None:
    """Add `groups` to the stored ErrorGroups (inside the caller's transaction; see save_rollups)."""
    if not groups:
        return
    ErrorGroup.objects.bulk_create(
        [
            ErrorGroup(
                fingerprint=key,
                error_type=g.error_type,
                provider_id=g.provider_id,
                deployment_id=g.deployment_id,
                message=g.message,
                first_seen=g.seen()[0],
                last_seen=g.seen()[1],
            )
            for key, g in groups.items()
        ],
        ignore_conflicts=True,
    )
    rows = list(ErrorGroup.objects.select_for_update().filter(fingerprint__in=list(groups)).order_by("id"))
    for row in rows:
        g = groups[row.fingerprint]
        row.count += g.count
        first, last = g.seen()
        row.first_seen = min(row.first_seen, first)
        if last >= row.last_seen or not row.sample_request_id:
            row.last_seen = max(row.last_seen, last)
            row.sample_message = g.sample_message
            row.sample_request_id = g.recent[-1]
        row.hourly = _trend(Counter(row.hourly) + g.hourly, newest=row.last_seen)
        row.recent = (list(reversed(g.recent)) + [r for r in row.recent if r not in g.recent])[:RECENT_KEPT]
    update_rows(
        ErrorGroup,
        rows,
        ["count", "first_seen", "last_seen", "sample_message", "sample_request_id", "hourly", "recent"],
    )


def _trend(hourly: Counter, *, newest: datetime) -> dict[str, int]:
    oldest = int((hour_of(newest) - timedelta(hours=TREND_HOURS)).timestamp())
    return {k: v for k, v in sorted(hourly.items(), key=lambda kv: int(kv[0])) if int(k) > oldest}
