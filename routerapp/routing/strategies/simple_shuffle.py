from __future__ import annotations

import random
from typing import TYPE_CHECKING

from routerapp.routing.strategies.base import Selection, Strategy

if TYPE_CHECKING:
    # Types only: the table imports the schema, which imports the strategy registry.
    from routerapp.routing.table import DeploymentInfo


def weighted_order(
    candidates: list[DeploymentInfo], rng: random.Random | None = None
) -> list[DeploymentInfo]:
    """A random order where each deployment's chance of coming first is proportional to its weight.

    Efraimidis–Spirakis: sort by u^(1/w); one pass, no rejection loop.
    """
    draw = rng.random if rng is not None else random.random
    keyed = []
    for d in candidates:
        weight = max(d.settings.weight, 1e-9)
        keyed.append((draw() ** (1.0 / weight), d))
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [d for _, d in keyed]


class SimpleShuffle(Strategy):
    """Weighted random: the default, and the cheapest."""

    name = "simple-shuffle"

    def order(self, selection: Selection) -> list[DeploymentInfo]:
        if len(selection.candidates) == 1:
            return selection.candidates
        return weighted_order(selection.candidates)
