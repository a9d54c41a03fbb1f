"""Per-key budgets: spend is counted in the shared cache, in micro-dollars, so every process sees it.

The database's ApiKey.spent_usd is the durable total (the history writer adds to it in batches);
the cache counter is seeded from it when missing, so a cache restart loses at most the last flush.
"""

from __future__ import annotations

from django.core.cache import cache

from routerapp import errors
from routerapp.routing.counters import incr
from routerapp.routing.table import KeyInfo

MICRO = 1_000_000


def _key(key_id: int) -> str:
    return f"spend:{key_id}"


def spent(key: KeyInfo) -> float:
    value = cache.get(_key(key.id))
    if value is None:
        cache.add(_key(key.id), int(key.spent_usd * MICRO), timeout=None)
        value = cache.get(_key(key.id)) or 0
    return value / MICRO


def check(key: KeyInfo) -> None:
    if key.budget_usd is None:
        return
    used = spent(key)
    if used >= key.budget_usd:
        raise errors.BudgetExceededError(
            f"API key '{key.name}' has spent ${used:.4f} of its ${key.budget_usd:.2f} budget"
        )


def spend(key: KeyInfo, amount_usd: float) -> None:
    if amount_usd <= 0 or key.budget_usd is None:
        return
    spent(key)  # seed the counter from the database total if it is missing
    incr(_key(key.id), round(amount_usd * MICRO), ttl=None)
