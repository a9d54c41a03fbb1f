"""Cooldowns: a circuit breaker per deployment, kept in the shared cache.

Closed: requests flow and failures are counted per minute. Open: after `allowed_fails` failures in
the window (or more than half of the window's attempts failing, once there are enough of them) the
deployment is skipped until its deadline; a longer Retry-After from the upstream wins, and a
re-cooled deployment keeps the later deadline. Half-open: after the deadline exactly one request
(whoever wins an atomic cache.add) probes it; success closes the breaker, failure opens it again.
An upstream 401 opens it at once: retrying a rejected credential only burns quota.
"""

from __future__ import annotations

import time

from django.core.cache import cache

from routerapp import errors
from routerapp.routing.counters import incr, minute_window
from routerapp.routing.table import DeploymentInfo, GroupInfo

# Below this many attempts in a window, the "more than half failed" rule does not apply.
MIN_ATTEMPTS_FOR_RATIO = 6


def _until_key(dep_id: int) -> str:
    return f"cb:until:{dep_id}"


def _probe_key(dep_id: int) -> str:
    return f"cb:probe:{dep_id}"


def cooled_down(deployments: tuple[DeploymentInfo, ...] | list[DeploymentInfo]) -> dict[int, float]:
    """Deployments that must be skipped now, with the seconds until their deadline (one round trip).

    A deployment whose deadline has passed is let through once as the half-open probe.
    """
    keys = {_until_key(d.id): d.id for d in deployments}
    found = cache.get_many(list(keys))
    if not found:
        return {}
    now = time.time()
    skip: dict[int, float] = {}
    for key, until in found.items():
        dep_id = keys[key]
        if until > now:
            skip[dep_id] = until - now
        elif not cache.add(_probe_key(dep_id), 1, timeout=30):
            skip[dep_id] = 0.0  # someone else is probing it
    return skip


def record_attempt(deployment: DeploymentInfo) -> None:
    window, _ = minute_window()
    incr(f"cb:reqs:{deployment.id}:{window}")


def record_success(deployment: DeploymentInfo) -> None:
    # Cheap on the common path: only a deployment that was cooled down has keys to clear.
    if cache.get(_until_key(deployment.id)) is not None:
        window, _ = minute_window()
        # A recovered deployment starts with a clean count, or one more failure would re-open it.
        cache.delete_many([_until_key(deployment.id), _probe_key(deployment.id), f"cb:fails:{deployment.id}:{window}"])


def record_failure(deployment: DeploymentInfo, group: GroupInfo, error: errors.RouterError) -> bool:
    """Count a failure; open the breaker when the rules say so. Returns True if it is now open."""
    if len(group.deployments) <= 1:
        # Cooling the only deployment would turn every request into a guaranteed error.
        return False
    window, _ = minute_window()
    fails = incr(f"cb:fails:{deployment.id}:{window}")
    immediate = isinstance(error, errors.AuthenticationError)
    was_probe = cache.get(_probe_key(deployment.id)) is not None
    if not (immediate or was_probe or fails >= group.allowed_fails or _mostly_failing(deployment, window, fails)):
        return False
    cooldown = group.cooldown_s
    if error.retry_after and error.retry_after > cooldown:
        cooldown = error.retry_after
    open_until(deployment.id, time.time() + cooldown)
    return True


def _mostly_failing(deployment: DeploymentInfo, window: int, fails: int) -> bool:
    attempts = int(cache.get(f"cb:reqs:{deployment.id}:{window}") or 0)
    return attempts >= MIN_ATTEMPTS_FOR_RATIO and fails * 2 > attempts


def open_until(dep_id: int, deadline: float) -> None:
    """Set the cooldown deadline, never moving an existing one earlier."""
    key = _until_key(dep_id)
    current = cache.get(key)
    if current is not None and current >= deadline:
        return
    ttl = max(1.0, deadline - time.time()) + 60
    cache.set(key, deadline, timeout=ttl)
    cache.delete(_probe_key(dep_id))


def cooldown_remaining(dep_id: int) -> float:
    until = cache.get(_until_key(dep_id))
    return max(0.0, until - time.time()) if until else 0.0
