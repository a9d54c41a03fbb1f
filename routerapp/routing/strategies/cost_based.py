from __future__ import annotations

import random
from typing import TYPE_CHECKING

from routerapp.pricing import price_per_mtok
from routerapp.routing.limits import headroom, usage_this_minute
from routerapp.routing.strategies.base import Selection, Strategy

if TYPE_CHECKING:
    # Types only: the table imports the schema, which imports the strategy registry.
    from routerapp.routing.table import DeploymentInfo


class CostBased(Strategy):
    """Cheapest first, among deployments that still have rate-limit headroom this minute."""

    name = "cost-based"

    def order(self, selection: Selection) -> list[DeploymentInfo]:
        usage = usage_this_minute(selection.candidates)
        expected_out = int(selection.request.params.get("max_tokens") or 256)

        def cost(d: DeploymentInfo) -> float:
            inp, out = price_per_mtok(d)
            return selection.prompt_tokens * inp + expected_out * out

        return sorted(
            selection.candidates,
            key=lambda d: (headroom(d, usage[d.id]) <= 0.0, cost(d), random.random()),
        )
