"""Cooldowns: a circuit breaker per deployment, kept in the shared cache.

Closed: requests flow; attempts and failures are counted per minute, read as a sliding minute
(this window plus the part of the last one still within 60 s). It opens when

- at least `allowed_fails` failures fell in the last minute (a floor: fewer never open it), and
- the deployment is quiet (fewer than `min_requests` attempts in that minute), or its failure
  *rate* reached `allowed_fail_rate`: a busy deployment with a small error rate stays in
  rotation, where a fixed count would turn 5 % of faults into an outage; or
- its last `min_requests` attempts all failed (a busy deployment that just died, seen at once
  rather than when the minute's successes have aged out); or
- the upstream refused the router's credentials (UpstreamAuthError): retrying only burns quota.

It never opens on the last deployment of a group still in rotation: cooling that one turns every
request into a certain error, where trying it may still answer. Open: the deployment is skipped
until its deadline; a longer Retry-After from the upstream wins, and a re-cooled deployment keeps
the later deadline. Half-open: after the deadline exactly one request (whoever wins an atomic
cache.add) probes it; success closes the breaker, failure opens it again. Should every deployment
of a group be cooling anyway (several processes opening at the same instant), the one whose
deadline comes first is probed early rather than the request refused untried.

Only upstream faults reach record_failure: fallback.py never reports a client's mistake, a
client-chosen deadline or a bug of ours.
"""

from __future__ import annotations

from routerapp import errors
from routerapp.routing.clock import clock
from routerapp.routing.counters import incr, minute_window
from routerapp.routing.table import DeploymentInfo, GroupInfo
from routerapp.sharedcache import cache


def _until_key(dep_id: int) -> str:
    return f"cb:until:{dep_id}"


def _probe_key(dep_id: int) -> str:
    return f"cb:probe:{dep_id}"


def _reqs_key(dep_id: int, window: int) -> str:
    return f"cb:reqs:{dep_id}:{window}"


def _fails_key(dep_id: int, window: int) -> str:
    return f"cb:fails:{dep_id}:{window}"


def _streak_key(dep_id: int) -> str:
    return f"cb:streak:{dep_id}"


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
    found = cache().get_many(list(keys))
    if not found:
        return {}, None
    now = clock.time()
    skip: dict[int, float] = {}
    probe: int | None = None
    for key, until in found.items():
        dep_id = keys[key]
        if until > now:
            skip[dep_id] = until - now
        elif probe is None and cache().add(_probe_key(dep_id), 1, timeout=PROBE_TTL_S):
            probe = dep_id
        else:
            skip[dep_id] = 0.0  # someone else is probing it
    if probe is None and len(skip) == len(keys) == len(deployments):
        # Every deployment is cooling: probe the one due first now rather than refuse untried.
        soonest = min(skip, key=skip.__getitem__)
        if cache().add(_probe_key(soonest), 1, timeout=PROBE_TTL_S):
            del skip[soonest]
            probe = soonest
    return skip, probe


def release_probe(dep_id: int) -> None:
    """Give back a probe slot the caller could not use (the deployment was skipped for another reason)."""
    cache().delete(_probe_key(dep_id))


def record_attempt(deployment: DeploymentInfo) -> None:
    window, _ = minute_window()
    incr(_reqs_key(deployment.id, window), ttl=180)


def record_success(deployment: DeploymentInfo) -> None:
    # One cache round trip on the common path: only a deployment that failed lately has keys to clear.
    found = cache().get_many([_until_key(deployment.id), _streak_key(deployment.id)])
    if not found:
        return
    if _streak_key(deployment.id) in found:
        cache().delete(_streak_key(deployment.id))
    until = found.get(_until_key(deployment.id))
    if until is None:
        return
    if until > clock.time():
        # A request sent before the breaker opened came back fine: that does not end the
        # cooldown early (a Retry-After deadline especially must hold). Only a success after
        # the deadline (the half-open probe) closes the breaker.
        return
    window, _ = minute_window()
    # A recovered deployment starts with a clean count, or one more failure would re-open it.
    cache().delete_many(
        [
            _until_key(deployment.id),
            _probe_key(deployment.id),
            _fails_key(deployment.id, window),
            _fails_key(deployment.id, window - 1),
            _reqs_key(deployment.id, window),
            _reqs_key(deployment.id, window - 1),
        ]
    )


def record_failure(deployment: DeploymentInfo, group: GroupInfo, error: errors.RouterError) -> bool:
    """Count an upstream fault; open the breaker when the rules say so. Returns True if it is now open."""
    if len(group.deployments) <= 1:
        # Cooling the only deployment would turn every request into a guaranteed error.
        return False
    window, left = minute_window()
    dep_id = deployment.id
    fails_now = incr(_fails_key(dep_id, window), ttl=180)
    streak = incr(_streak_key(dep_id), ttl=180)
    found = cache().get_many(
        [_fails_key(dep_id, window - 1), _reqs_key(dep_id, window), _reqs_key(dep_id, window - 1)]
    )
    # The sliding minute: a failure a moment before the boundary weighs 0.99, and rounded, 2.98
    # failures are 3. Fixed windows alone would let a burst straddling the boundary never trip.
    weight = left / 60
    fails = round(fails_now + int(found.get(_fails_key(dep_id, window - 1)) or 0) * weight)
    attempts = round(
        int(found.get(_reqs_key(dep_id, window)) or 0)
        + int(found.get(_reqs_key(dep_id, window - 1)) or 0) * weight
    )
    immediate = isinstance(error, errors.UpstreamAuthError)
    was_probe = cache().get(_probe_key(dep_id)) is not None
    if not (immediate or was_probe or tripped(group, fails=fails, attempts=attempts, streak=streak)):
        return False
    if _last_in_rotation(deployment, group):
        return False
    cooldown = group.cooldown_s
    if error.retry_after and error.retry_after > cooldown:
        cooldown = error.retry_after
    open_until(dep_id, clock.time() + cooldown)
    return True


def tripped(group: GroupInfo, *, fails: int, attempts: int, streak: int) -> bool:
    """The opening rule for `fails` failures among `attempts` in the last minute, the latest
    `streak` of them in a row."""
    if streak >= group.min_requests:
        return True
    if fails < group.allowed_fails:
        return False
    return attempts < group.min_requests or fails >= group.allowed_fail_rate * attempts


def _last_in_rotation(deployment: DeploymentInfo, group: GroupInfo) -> bool:
    """True when every other deployment of the group is cooling down."""
    others = [_until_key(d.id) for d in group.deployments if d.id != deployment.id]
    found = cache().get_many(others)
    now = clock.time()
    return len(found) == len(others) and all(until > now for until in found.values())


def open_until(dep_id: int, deadline: float) -> None:
    """Set the cooldown deadline, never moving an existing one earlier.

    Read-then-write, because Django's cache has no compare-and-set: two processes opening the same
    breaker in the same instant may leave the earlier of their two deadlines. Either still cools
    the deployment, and its next failure re-opens it for the longer one.
    """
    key = _until_key(dep_id)
    current = cache().get(key)
    if current is not None and current >= deadline:
        return
    ttl = max(1.0, deadline - clock.time()) + 60
    cache().set(key, deadline, timeout=ttl)
    cache().delete_many([_probe_key(dep_id), _streak_key(dep_id)])


def reset(dep_id: int) -> None:
    """Close the breaker now and forget recent failures (an operator's "reset cooldown")."""
    window, _ = minute_window()
    cache().delete_many(
        [
            _until_key(dep_id),
            _probe_key(dep_id),
            _streak_key(dep_id),
            _fails_key(dep_id, window),
            _fails_key(dep_id, window - 1),
        ]
    )


def cooldown_remaining(dep_id: int) -> float:
    until = cache().get(_until_key(dep_id))
    return max(0.0, until - clock.time()) if until else 0.0
