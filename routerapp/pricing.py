"""What a request cost: usage × price, from the deployment's override or genai-prices.

Five prices, each in USD per million tokens: input, cached input (prompt tokens read from the
provider's cache), cache write (prompt tokens written to it, Anthropic's cache creation), output
and reasoning (completion tokens spent thinking). Each comes from the deployment's override, else
genai-prices; a cache price neither has is the input price, a reasoning price the output price
(providers bill thinking as output). Catalogue prices are the base tier: a long-context tier
(Claude's above 200k input tokens, say) is not applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from genai_prices import Usage as PriceUsage
from genai_prices import calc_price

from routerapp.providers.base import Usage

if TYPE_CHECKING:
    # Types only: the table imports the schema, which imports the strategy registry.
    from routerapp.routing.table import DeploymentInfo

# genai-prices provider ids for our adapter kinds, where the kind names one vendor.
PROVIDER_IDS = {"anthropic": "anthropic"}
MTOK = 1_000_000
# The parts of a cost, as the history stores them (QueryRecord.cost_parts).
PARTS = ("input", "cached_input", "cache_write", "output", "reasoning")


@dataclass(frozen=True, slots=True)
class Prices:
    input: float = 0.0
    output: float = 0.0
    cached_input: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None


def _per_mtok(price: Any) -> float | None:
    if price is None:
        return None
    base = getattr(price, "base", price)  # TieredPrices: the base tier
    return float(Decimal(base)) if base is not None else None


@lru_cache(maxsize=4096)
def _catalogue(upstream_model: str, kind: str) -> Prices | None:
    """genai-prices' prices for the model, or None when it does not know it."""
    try:
        calc = calc_price(
            PriceUsage(input_tokens=1, output_tokens=1), upstream_model, provider_id=PROVIDER_IDS.get(kind)
        )
    except LookupError:
        return None
    price = calc.model_price
    return Prices(
        input=_per_mtok(price.input_mtok) or 0.0,
        output=_per_mtok(price.output_mtok) or 0.0,
        cached_input=_per_mtok(price.cache_read_mtok),
        cache_write=_per_mtok(price.cache_write_mtok),
    )


def prices(deployment: DeploymentInfo) -> Prices:
    """The deployment's five prices, every one resolved to a number.

    Resolved once per routing-table entry, when it is built (DeploymentInfo.prices): every answer
    reads them, and resolving them per request was ~2 % of its CPU.
    """
    s = deployment.settings
    overrides = (
        s.input_cost_per_mtok,
        s.output_cost_per_mtok,
        s.cached_input_cost_per_mtok,
        s.cache_write_cost_per_mtok,
        s.reasoning_cost_per_mtok,
    )
    if deployment.provider.kind in ("simulated", "ollama") and all(o is None for o in overrides):
        return Prices(0.0, 0.0, 0.0, 0.0, 0.0)  # local models: no catalogue price, no bill
    catalogue = (
        _catalogue(deployment.upstream_model, deployment.provider.kind)
        if any(o is None for o in overrides)
        else None
    ) or Prices()
    inp = _first(s.input_cost_per_mtok, catalogue.input, 0.0)
    out = _first(s.output_cost_per_mtok, catalogue.output, 0.0)
    return Prices(
        input=inp,
        output=out,
        cached_input=_first(s.cached_input_cost_per_mtok, catalogue.cached_input, inp),
        cache_write=_first(s.cache_write_cost_per_mtok, catalogue.cache_write, inp),
        reasoning=_first(s.reasoning_cost_per_mtok, catalogue.reasoning, out),
    )


def _first(*values: float | None) -> float:
    return next(v for v in values if v is not None)


def price_per_mtok(deployment: DeploymentInfo) -> tuple[float, float]:
    """Input and output prices: what the cost-based and learned strategies compare."""
    p = deployment.prices
    return p.input, p.output


def cost_parts(deployment: DeploymentInfo, usage: Usage) -> dict[str, float]:
    """The cost of `usage` on `deployment`, part by part (PARTS), in USD."""
    p = deployment.prices
    plain_prompt = usage.prompt_tokens - usage.cached_tokens - usage.cache_write_tokens
    counts_and_prices = {
        "input": (plain_prompt, p.input),
        "cached_input": (usage.cached_tokens, p.cached_input),
        "cache_write": (usage.cache_write_tokens, p.cache_write),
        "output": (usage.completion_tokens - usage.reasoning_tokens, p.output),
        "reasoning": (usage.reasoning_tokens, p.reasoning),
    }
    parts = {}
    for name, (count, price) in counts_and_prices.items():
        cost = max(count, 0) * (price or 0.0) / MTOK
        # A NaN or negative price (a catalogue glitch, an odd override) must not poison spend and rollups.
        parts[name] = cost if math.isfinite(cost) and cost > 0 else 0.0
    return parts


def cost_usd(deployment: DeploymentInfo, usage: Usage) -> float:
    return sum(cost_parts(deployment, usage).values())


def add_parts(total: dict[str, float], parts: dict[str, float]) -> dict[str, float]:
    return {name: total.get(name, 0.0) + parts.get(name, 0.0) for name in PARTS}
