"""settings.ROUTER, read on the hot path without going through LazySettings.

Every attribute of `django.conf.settings` is read through LazyObject.__getattribute__, a Python
call of its own (~0.4 us); a request reads ROUTER's limits and switches a dozen times or more
(body and message limits, tracing, timeouts, history flags): ~1.5 % of the server's samples at
32 in flight (bench/README.md). `router_settings()` hands out the same dict, looked up once and
again after override_settings or anything else that sends setting_changed for ROUTER. It is the
settings' own object, not a copy: a change made to it in place is seen as before.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_router: dict[str, Any] | None = None


def router_settings() -> dict[str, Any]:
    """settings.ROUTER."""
    found = _router
    if found is None:
        found = _remember()
    return found


def _remember() -> dict[str, Any]:
    global _router
    _router = settings.ROUTER
    return _router


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs: Any) -> None:
    global _router
    if setting == "ROUTER":
        _router = None
