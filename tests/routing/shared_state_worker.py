"""One OS process of test_shared_state: pound on a limit or a breaker through the shared cache.

    python -m tests.routing.shared_state_worker <mode> <processes> [count]

REDIS_URL and CACHE_KEY_PREFIX come from the environment. Every process waits on a barrier in the
cache until all `processes` have arrived, so their loops really overlap, then prints one JSON line
with what it saw.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routerapp.settings")
    import django

    django.setup()
    from django.core.cache import cache

    from routerapp import errors
    from routerapp.providers.base import ProviderConfig
    from routerapp.routing import breaker, limits
    from routerapp.routing.clock import clock
    from routerapp.routing.counters import incr
    from routerapp.routing.table import DeploymentInfo, GroupInfo, KeyInfo
    from routerapp.schema import DeploymentSettings

    clock.stop(at=float(os.environ["ROUTER_TEST_CLOCK"]))

    mode, processes = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    provider = ProviderConfig(id=1, name="p", kind="openai")
    deployment = DeploymentInfo(id=9001, group="g", provider=provider, upstream_model="a")
    rpm_limited = DeploymentInfo(
        id=9001, group="g", provider=provider, upstream_model="a", settings=DeploymentSettings(rpm=50)
    )
    tpm_limited = DeploymentInfo(
        id=9001, group="g", provider=provider, upstream_model="a", settings=DeploymentSettings(tpm=1000)
    )
    other = DeploymentInfo(id=9002, group="g", provider=provider, upstream_model="b")
    group = GroupInfo(
        name="g", strategy="simple-shuffle", deployments=(deployment, other), allowed_fails=3, cooldown_s=30
    )
    key = KeyInfo(id=9003, name="k", rpm_limit=30)

    incr("barrier")
    deadline = time.monotonic() + 20
    while int(cache.get("barrier") or 0) < processes:
        if time.monotonic() > deadline:
            raise SystemExit("the other process never arrived")
        time.sleep(0.001)

    if mode == "rpm":
        result = sum(limits.reserve(rpm_limited, 1) is not None for _ in range(count))
    elif mode == "tpm":
        result = sum(limits.reserve(tpm_limited, 10) is not None for _ in range(count))
    elif mode == "key":
        result = 0
        for _ in range(count):
            try:
                limits.check_key_rpm(key)
                result += 1
            except errors.RateLimitError:
                pass
    elif mode == "fail":
        opened = False
        for _ in range(count):
            breaker.record_attempt(deployment)
            opened = breaker.record_failure(deployment, group, errors.ProviderUnavailableError("down"))
        result = opened
    elif mode == "check":
        skip, _ = breaker.check(group.deployments)
        result = skip.get(deployment.id)
    elif mode == "probe":
        result = sum(breaker.check(group.deployments)[1] == deployment.id for _ in range(count))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps({"pid": os.getpid(), "result": result}))


if __name__ == "__main__":
    main()
