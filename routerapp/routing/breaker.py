"""Cooldowns: a circuit breaker per deployment, kept in the shared cache.

Closed: requests flow and failures are counted per minute. Open: after `allowed_fails` failures in
the window (or more than half of the window's attempts failing, once there are enough of them) the
deployment is skipped until its deadline; a longer Retry-After from the upstream wins, and a
re-cooled deployment keeps the later deadline. Half-open: after the deadline exactly one request
(whoever wins an atomic cache.add) probes it; success closes the breaker, failure opens it again.
An upstream 401 opens it at once: retrying a rejected credential only burns quota.
"""

from __future__ import annotations

from django.core.cache import cache

from routerapp import errors
from routerapp.routing.clock import clock
from routerapp.routing.counters import incr, minute_window
from routerapp.routing.table import DeploymentInfo, GroupInfo

# Below this many attempts in a window, the "more than half failed" rule does not apply: two
# failures out of three say little. So the rule needs at least 4 failures, and only changes
# anything for groups whose allowed_fails is 5 or more (busy deployments, where a fixed count
# would trip on a small error rate); with the default of 3 the count always trips first.
MIN_ATTEMPTS_FOR_RATIO = 6


def _until_key(dep_id: int) -> str:
    return f"cb:until:{dep_id}"


def _probe_key(dep_id: int) -> str:
    return f"cb:probe:{dep_id}"


# How long a half-open probe may take before another request may probe instead (a probe whose
# client went away never reports back).
PROBE_TTL_S = 30


def check(
    deployments: tuple[DeploymentInfo, ...] | list[DeploymentInfo],
) -> tuple[dict[int, float], int | None]:
    """Which deployments to skip now (with seconds until their deadline), and which one to probe.

    One cache round trip on the common path. A deployment whose deadline has passed is let through
    once, to whoever wins an atomic cache.add: that caller must try it first (fallback.py does),
    or give the slot back with release_probe(). A caller claims at most one probe, so a request
    never holds a slot it will not get to.
    """
    keys = {_until_key(d.id): d.id for d in deployments}
    found = cache.get_many(list(keys))
    if not found:
        return {}, None
    now = clock.time()
    skip: dict[int, float] = {}
    probe: int | None = None
    for key, until in found.items():
        dep_id = keys[key]
        if until > now:
            skip[dep_id] = until - now
        elif probe is None and cache.add(_probe_key(dep_id), 1, timeout=PROBE_TTL_S):
            probe = dep_id
        else:
            skip[dep_id] = 0.0  # someone else is probing it
    return skip, probe


def release_probe(dep_id: int) -> None:
    """Give back a probe slot the caller could not use (the deployment was skipped for another reason)."""
    cache.delete(_probe_key(dep_id))


def record_attempt(deployment: DeploymentInfo) -> None:
    window, _ = minute_window()
    incr(f"cb:reqs:{deployment.id}:{window}")


def record_success(deployment: DeploymentInfo) -> None:
    # Cheap on the common path: only a deployment that was cooled down has keys to clear.
    until = cache.get(_until_key(deployment.id))
    if until is not None:
        if until > clock.time():
            # A request sent before the breaker opened came back fine: that does not end the
            # cooldown early (a Retry-After deadline especially must hold). Only a success after
            # the deadline (the half-open probe) closes the breaker.
            return
        window, _ = minute_window()
        # A recovered deployment starts with a clean count, or one more failure would re-open it.
        cache.delete_many(
            [
                _until_key(deployment.id),
                _probe_key(deployment.id),
                _fails_key(deployment.id, window),
                _fails_key(deployment.id, window - 1),
            ]
        )


def record_failure(deployment: DeploymentInfo, group: GroupInfo, error: errors.RouterError) -> bool:
    """Count a failure; open the breaker when the rules say so. Returns True if it is now open."""
    if len(group.deployments) <= 1:
        # Cooling the only deployment would turn every request into a guaranteed error.
        return False
    window, left = minute_window()
    fails = incr(_fails_key(deployment.id, window), ttl=180)
    # Failures "within a minute" as a sliding window: this minute's count plus the share of last
    # minute's that still lies within the past 60 s. Fixed windows alone would let a burst of
    # failures that straddles a minute boundary (2 + 1) never reach allowed_fails.
    previous = int(cache.get(_fails_key(deployment.id, window - 1)) or 0)
    # Rounded: a failure a moment before the boundary weighs 0.99, and 2.98 failures are 3.
    recent = round(fails + previous * (left / 60))
    immediate = isinstance(error, errors.AuthenticationError)
    was_probe = cache.get(_probe_key(deployment.id)) is not None
    if not (
        immediate or was_probe or recent >= group.allowed_fails or _mostly_failing(deployment, window, fails)
    ):
        return False
    cooldown = group.cooldown_s
    if error.retry_after and error.retry_after > cooldown:
        cooldown = error.retry_after
    open_until(deployment.id, clock.time() + cooldown)
    return True


def _fails_key(dep_id: int, window: int) -> str:
    return f"cb:fails:{dep_id}:{window}"


def _mostly_failing(deployment: DeploymentInfo, window: int, fails: int) -> bool:
    attempts = int(cache.get(f"cb:reqs:{deployment.id}:{window}") or 0)
    return attempts >= MIN_ATTEMPTS_FOR_RATIO and fails * 2 > attempts


def open_until(dep_id: int, deadline: float) -> None:
    """Set the cooldown deadline, never moving an existing one earlier.

    Read-then-write, because Django's cache has no compare-and-set: two processes opening the same
    breaker in the same instant may leave the earlier of their two deadlines. Either still cools
    the deployment, and its next failure re-opens it for the longer one.
    """
    key = _until_key(dep_id)
    current = cache.get(key)
    if current is not None and current >= deadline:
        return
    ttl = max(1.0, deadline - clock.time()) + 60
    cache.set(key, deadline, timeout=ttl)
    cache.delete(_probe_key(dep_id))


def reset(dep_id: int) -> None:
    """Close the breaker now and forget recent failures (an operator's "reset cooldown")."""
    window, _ = minute_window()
    cache.delete_many(
        [_until_key(dep_id), _probe_key(dep_id), _fails_key(dep_id, window), _fails_key(dep_id, window - 1)]
    )


def cooldown_remaining(dep_id: int) -> float:
    until = cache.get(_until_key(dep_id))
    return max(0.0, until - clock.time()) if until else 0.0
