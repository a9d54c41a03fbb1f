"""Per-key budgets: spend is counted in the shared cache, in micro-dollars, so every process sees it.

A budget is for the key's lifetime, or starts again each period (`budget_period`: daily, weekly
from Monday, monthly; periods begin at 00:00 UTC and are read off routing.clock, so tests can
cross a boundary). Each period has its own counter, so a new period starts at zero by itself.

The database holds the durable totals (ApiKey.spent_usd, and period_spent_usd for the period
starting at period_started_at; the history writer adds to them in batches, with the period each
request was counted in). A missing cache counter is seeded from them, so a cache restart loses at
most the last flush.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from routerapp import errors
from routerapp.routing.clock import clock
from routerapp.routing.counters import incr
from routerapp.routing.table import KeyInfo
from routerapp.sharedcache import cache

MICRO = 1_000_000
PERIODS = ("daily", "weekly", "monthly")


def period_bounds(period: str, now: float) -> tuple[float, float] | None:
    """(start, end) in epoch seconds of the budget period `now` falls in; None without a period."""
    if period not in PERIODS:
        return None
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        start, end = day, day + timedelta(days=1)
    elif period == "weekly":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    else:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return start.timestamp(), end.timestamp()


def _counter(key: KeyInfo, now: float) -> tuple[str, float, float | None]:
    """The cache counter for the key's current period, what the database says it holds, and
    when the period ends."""
    bounds = period_bounds(key.budget_period, now)
    if bounds is None:
        return f"spend:{key.id}", key.spent_usd, None
    start, end = bounds
    known = key.period_spent_usd if key.period_started == start else 0.0
    return f"spend:{key.id}:{int(start)}", known, end


def current_period_start(key: KeyInfo) -> float | None:
    """The start of the key's budget period now, for the history writer's period totals."""
    bounds = period_bounds(key.budget_period, clock.time())
    return bounds[0] if bounds else None


def spent(key: KeyInfo) -> float:
    """What the key spent in its current budget period (or ever, without a period)."""
    name, known, end = _counter(key, clock.time())
    value = cache().get(name)
    if value is None:
        # A period's counter outlives its period by a day, then goes: nothing reads it after.
        ttl = None if end is None else max(1, int(end - clock.time()) + 86_400)
        cache().add(name, int(known * MICRO), timeout=ttl)
        value = cache().get(name) or 0
    return value / MICRO


def check(key: KeyInfo) -> None:
    if key.budget_usd is None:
        return
    used = spent(key)
    if used < key.budget_usd:
        return
    _, _, end = _counter(key, clock.time())
    if end is None:
        raise errors.BudgetExceededError(
            f"API key '{key.name}' has spent ${used:.4f} of its ${key.budget_usd:.2f} budget"
        )
    resets = datetime.fromtimestamp(end, UTC).isoformat()
    raise errors.BudgetExceededError(
        f"API key '{key.name}' has spent ${used:.4f} of its {key.budget_period} budget of "
        f"${key.budget_usd:.2f}; it resets at {resets}",
        retry_after=max(1.0, end - clock.time()),
    )


def spend(key: KeyInfo, amount_usd: float) -> None:
    if amount_usd <= 0 or key.budget_usd is None:
        return
    name, _, end = _counter(key, clock.time())
    spent(key)  # seed the counter from the database total if it is missing
    incr(
        name, round(amount_usd * MICRO), ttl=None if end is None else max(1, int(end - clock.time()) + 86_400)
    )
