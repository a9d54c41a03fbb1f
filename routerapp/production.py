"""What must be true before the router serves in production (DEBUG off), checked in one place.

`serve` refuses to start while any problem is left, the ASGI lifespan startup does the same for
other servers, and `manage.py check --deploy` reports them next to Django's own deployment checks.
ROUTER_ALLOW_DEV_SECRETS=1 lets servers start on the public development secrets anyway: for the
test suite's throwaway servers on 127.0.0.1, never for a deployment.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core import checks


def problems() -> list[str]:
    if settings.DEBUG or os.environ.get("ROUTER_ALLOW_DEV_SECRETS") == "1":
        return []
    found = []
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        found.append(
            "SECRET_KEY is the public development key: set SECRET_KEY to a long random value "
            "(README, 'Running in production')"
        )
    if not settings.ROUTER_ENCRYPTION_KEY.strip():
        found.append(
            "ROUTER_ENCRYPTION_KEY is not set: provider secrets would be encrypted with a key derived "
            "from SECRET_KEY; set a dedicated Fernet key (README, 'Running in production')"
        )
    return found


@checks.register(checks.Tags.security, deploy=True)
def check_production_secrets(app_configs, **kwargs) -> list[checks.CheckMessage]:
    return [checks.Error(text, id=f"routerapp.E00{i}") for i, text in enumerate(problems(), start=1)]
