"""Which optimizer strategies apply to a request: the model's list, then the key's, then the request's.

A switch spec is a comma- (or space-) separated list of strategy names, as the model's `optimize`
config key, the key's `optimize` field, the `x-router-optimize` header and the `optimize` body field
all take it: `name` turns a strategy on, `-name` off, `all` and `none` set every one. Later layers
win, except that a key's `-name` is the operator's opt-out for that client and no request undoes it.

    x-router-optimize: compress,instructions,-cache
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

STRATEGIES = ("compress", "instructions", "params", "select", "cache")


def parse(spec: str | Iterable[str] | None) -> dict[str, bool]:
    """{strategy: on?} for the names a spec mentions; ValueError names an unknown one."""
    if spec is None:
        return {}
    tokens = spec.replace(",", " ").split() if isinstance(spec, str) else [str(t).strip() for t in spec]
    switches: dict[str, bool] = {}
    for token in tokens:
        if not token:
            continue
        on = not token.startswith("-")
        name = token.lstrip("+-").strip().lower()
        if name in ("all", "none"):
            switches = dict.fromkeys(STRATEGIES, on if name == "all" else not on)
        elif name in STRATEGIES:
            switches[name] = on
        else:
            raise ValueError(
                f"unknown optimizer strategy '{name}' (known: {', '.join(STRATEGIES)}, all, none)"
            )
    return switches


def normalize(spec: str | Iterable[str] | None) -> list[str]:
    """A spec as the list of tokens stored in config (`["compress", "-cache"]`); ValueError if invalid."""
    return [name if on else f"-{name}" for name, on in parse(spec).items()]


def resolve(model: Iterable[str] = (), key: Iterable[str] = (), request: str | None = None) -> frozenset[str]:
    """The strategies in force. `model` and `key` are stored (already valid) specs; `request` is
    the client's and raises ValueError when it is not valid."""
    if request is not None and len(request) > _REMEMBERED_CHARS:
        return _resolved.__wrapped__(tuple(model), tuple(key), request)
    return _resolved(tuple(model), tuple(key), request)


# route() asks on every request, nearly always with the same few specs: the answer is remembered
# (a bounded cache, since a client may send a new spec each time; only short specs, so it stays
# small whatever clients send; an invalid spec raises and is not remembered).
_REMEMBERED_CHARS = 200


@functools.lru_cache(maxsize=1024)
def _resolved(model: tuple[str, ...], key: tuple[str, ...], request: str | None) -> frozenset[str]:
    on: dict[str, bool] = {}
    on.update(parse(model))
    key_switches = parse(key)
    on.update(key_switches)
    on.update(parse(request))
    for name, allowed in key_switches.items():
        if not allowed:
            on[name] = False
    return frozenset(name for name in STRATEGIES if on.get(name))
