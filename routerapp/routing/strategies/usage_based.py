from __future__ import annotations

import random
from typing import TYPE_CHECKING

from routerapp.routing.limits import headroom, usage_this_minute
from routerapp.routing.strategies.base import Selection, Strategy

if TYPE_CHECKING:
    # Types only: the table imports the schema, which imports the strategy registry.
    from routerapp.routing.table import DeploymentInfo


class UsageBased(Strategy):
    """Most rpm/tpm headroom left this minute first; spreads load in proportion to limits."""

    name = "usage-based"

    def order(self, selection: Selection) -> list[DeploymentInfo]:
        usage = usage_this_minute(selection.candidates)
        return sorted(selection.candidates, key=lambda d: (-headroom(d, usage[d.id]), random.random()))
