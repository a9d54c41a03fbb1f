"""What a request cost: usage × price, from the deployment's override or genai-prices."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING

from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from routerapp.providers.base import Usage

if TYPE_CHECKING:
    # Types only: the table imports the schema, which imports the strategy registry.
    from routerapp.routing.table import DeploymentInfo

# genai-prices provider ids for our adapter kinds, where the kind names one vendor.
PROVIDER_IDS = {"anthropic": "anthropic"}
MTOK = 1_000_000


@lru_cache(maxsize=4096)
def _catalogue_price(upstream_model: str, kind: str) -> tuple[float, float]:
    """USD per million input and output tokens, or zeros when genai-prices does not know the model."""
    try:
        calc = calc_price(
            PriceUsage(input_tokens=MTOK, output_tokens=MTOK),
            upstream_model,
            provider_id=PROVIDER_IDS.get(kind),
        )
    except LookupError:
        return 0.0, 0.0
    return float(calc.input_price), float(calc.output_price)


def price_per_mtok(deployment: DeploymentInfo) -> tuple[float, float]:
    if deployment.provider.kind in ("simulated", "ollama") and (
        deployment.settings.input_cost_per_mtok is None and deployment.settings.output_cost_per_mtok is None
    ):
        return 0.0, 0.0  # local models: no catalogue price, no bill
    inp, out = deployment.settings.input_cost_per_mtok, deployment.settings.output_cost_per_mtok
    if inp is None or out is None:
        cat_in, cat_out = _catalogue_price(deployment.upstream_model, deployment.provider.kind)
        inp = cat_in if inp is None else inp
        out = cat_out if out is None else out
    return inp, out


def cost_usd(deployment: DeploymentInfo, usage: Usage) -> float:
    inp, out = price_per_mtok(deployment)
    cost = (usage.prompt_tokens * inp + usage.completion_tokens * out) / MTOK
    # A NaN or negative price (a catalogue glitch, an odd override) must not poison spend and rollups.
    return cost if math.isfinite(cost) and cost > 0 else 0.0
