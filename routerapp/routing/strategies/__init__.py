"""Selection strategies by config name. Adding one is a new module plus one line here."""

from __future__ import annotations

from routerapp.routing.strategies.base import Selection, Strategy
from routerapp.routing.strategies.cost_based import CostBased
from routerapp.routing.strategies.latency_based import LatencyBased
from routerapp.routing.strategies.learned import Learned
from routerapp.routing.strategies.least_busy import LeastBusy
from routerapp.routing.strategies.simple_shuffle import SimpleShuffle
from routerapp.routing.strategies.usage_based import UsageBased

STRATEGIES: dict[str, Strategy] = {
    s.name: s for s in (SimpleShuffle(), LeastBusy(), LatencyBased(), CostBased(), UsageBased(), Learned())
}


def get_strategy(name: str) -> Strategy:
    return STRATEGIES.get(name) or STRATEGIES["simple-shuffle"]


__all__ = ["STRATEGIES", "Selection", "Strategy", "get_strategy"]
