from __future__ import annotations

import random
from typing import TYPE_CHECKING

from routerapp.routing.counters import decr, incr
from routerapp.routing.strategies.base import Selection, Strategy
from routerapp.sharedcache import cache

if TYPE_CHECKING:
    # Types only: the table imports the schema, which imports the strategy registry.
    from routerapp.routing.table import DeploymentInfo


def _key(dep_id: int) -> str:
    return f"inflight:{dep_id}"


class LeastBusy(Strategy):
    """Fewest requests in flight across all processes (counted in the shared cache)."""

    name = "least-busy"

    def order(self, selection: Selection) -> list[DeploymentInfo]:
        counts = cache().get_many([_key(d.id) for d in selection.candidates])
        # Random tie-break so equally idle deployments share the load.
        return sorted(selection.candidates, key=lambda d: (int(counts.get(_key(d.id), 0)), random.random()))

    def started(self, deployment: DeploymentInfo) -> None:
        # The TTL bounds the damage of a process that dies holding a count.
        incr(_key(deployment.id), ttl=600)

    def finished(self, deployment: DeploymentInfo, *, latency_ms: float | None, ok: bool) -> None:
        decr(_key(deployment.id))
