"""Requests-per-minute and tokens-per-minute limits, per deployment and per client key.

Fixed one-minute windows counted in the shared cache. A request is admitted only if its own
increment keeps the counter within the limit, so N processes enforcing a limit of L admit L in
total, not N×L. Token limits reserve the estimated prompt tokens up front and settle the
difference once the real usage is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from routerapp import errors
from routerapp.routing.counters import decr, incr, minute_window
from routerapp.sharedcache import cache

if TYPE_CHECKING:
    # Types only: the table imports the schema, which imports the strategy registry.
    from routerapp.routing.table import DeploymentInfo, KeyInfo


def _rpm_key(scope: str, ident: int, window: int) -> str:
    return f"rl:{scope}:{ident}:rpm:{window}"


def _tpm_key(ident: int, window: int) -> str:
    return f"rl:dep:{ident}:tpm:{window}"


def check_key_rpm(key: KeyInfo) -> None:
    """Count one request against the key; raise KeyRateLimitError (with Retry-After) when over."""
    if not key.rpm_limit:
        return
    window, left = minute_window()
    counter = _rpm_key("key", key.id, window)
    if incr(counter) > key.rpm_limit:
        # Give the refused request back, so the counter says how many were let through.
        decr(counter)
        raise errors.KeyRateLimitError(
            f"API key '{key.name}' exceeded its limit of {key.rpm_limit} requests per minute",
            retry_after=left,
        )


def _key_tpm_key(ident: int, window: int) -> str:
    return f"rl:key:{ident}:tpm:{window}"


def check_key_tpm(key: KeyInfo, prompt_tokens: int) -> None:
    """Refuse the request if the key's tokens this minute, with this prompt's estimate, pass its
    limit. Answers add their real usage afterwards (count_key_tokens): one answer may overshoot,
    the requests after it wait for the next minute."""
    if not key.tpm_limit:
        return
    window, left = minute_window()
    used = cache().get(_key_tpm_key(key.id, window)) or 0
    if used + prompt_tokens > key.tpm_limit:
        raise errors.KeyRateLimitError(
            f"API key '{key.name}' exceeded its limit of {key.tpm_limit} tokens per minute",
            retry_after=left,
        )


def count_key_tokens(key: KeyInfo, tokens: int) -> None:
    if key.tpm_limit and tokens > 0:
        window, _ = minute_window()
        incr(_key_tpm_key(key.id, window), tokens)


@dataclass(slots=True)
class Reservation:
    """What a deployment admission took, so it can be settled or given back."""

    deployment_id: int
    window: int
    tokens: int


def reserve(deployment: DeploymentInfo, tokens: int) -> Reservation | None:
    """Take one request and `tokens` from the deployment's minute budget, or None if it has no room."""
    window, _ = minute_window()
    if deployment.settings.rpm:
        key = _rpm_key("dep", deployment.id, window)
        if incr(key) > deployment.settings.rpm:
            decr(key)  # refused: the counter keeps meaning "admitted" (usage-based reads it)
            return None
    if deployment.settings.tpm:
        key = _tpm_key(deployment.id, window)
        if incr(key, tokens) > deployment.settings.tpm:
            decr(key, tokens)
            if deployment.settings.rpm:
                decr(_rpm_key("dep", deployment.id, window))
            return None
    return Reservation(deployment.id, window, tokens)


def settle(deployment: DeploymentInfo, reservation: Reservation | None, actual_tokens: int) -> None:
    """Replace the reserved token estimate by the real count."""
    if reservation is None or not deployment.settings.tpm:
        return
    delta = actual_tokens - reservation.tokens
    if delta > 0:
        incr(_tpm_key(deployment.id, reservation.window), delta)
    elif delta < 0:
        decr(_tpm_key(deployment.id, reservation.window), -delta)


def usage_this_minute(deployments: list[DeploymentInfo]) -> dict[int, tuple[int, int]]:
    """(requests, tokens) used this minute per deployment, in one cache round trip."""
    window, _ = minute_window()
    keys = {}
    for d in deployments:
        keys[_rpm_key("dep", d.id, window)] = (d.id, 0)
        keys[_tpm_key(d.id, window)] = (d.id, 1)
    found = cache().get_many(list(keys))
    usage = {d.id: [0, 0] for d in deployments}
    for key, value in found.items():
        dep_id, slot = keys[key]
        usage[dep_id][slot] = int(value)
    return {dep_id: (v[0], v[1]) for dep_id, v in usage.items()}


def headroom(deployment: DeploymentInfo, used: tuple[int, int]) -> float:
    """Fraction of this minute's budget left (1.0 for unlimited), the tighter of rpm and tpm."""
    fractions = [1.0]
    if deployment.settings.rpm:
        fractions.append(1 - used[0] / deployment.settings.rpm)
    if deployment.settings.tpm:
        fractions.append(1 - used[1] / deployment.settings.tpm)
    return max(0.0, min(fractions))
