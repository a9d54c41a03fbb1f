"""Provider secrets: `env:VAR` references resolved at load time, stored keys encrypted at rest.

Stored keys are encrypted with ROUTER_ENCRYPTION_KEY: one or more Fernet keys, comma-separated.
The first encrypts; all of them decrypt, so a key is rotated by putting a new one first, running
`manage.py reencrypt` and then dropping the old one. Without ROUTER_ENCRYPTION_KEY (development
only: `serve` refuses it in production) the key is derived from SECRET_KEY, as it was before the
setting existed; that derived key stays a decrypt-only fallback, so secrets stored under it can
be re-encrypted once a dedicated key is set.
"""

from __future__ import annotations

import base64
import hashlib
import os
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def derived_key() -> bytes:
    digest = hashlib.sha256(b"router-provider-secrets:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@cache
def _keys(configured: str, secret_key: str) -> MultiFernet:
    try:
        keys = [Fernet(k.strip().encode()) for k in configured.split(",") if k.strip()]
    except ValueError:
        raise ImproperlyConfigured(
            "ROUTER_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes), comma-separated; "
            'make one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        ) from None
    return MultiFernet([*keys, Fernet(derived_key())])


def _fernet() -> MultiFernet:
    return _keys(settings.ROUTER_ENCRYPTION_KEY, settings.SECRET_KEY)


def has_dedicated_key() -> bool:
    return bool(settings.ROUTER_ENCRYPTION_KEY.strip())


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # Encrypted under a key no longer configured: treat as missing rather than crash routing.
        return ""


def reencrypt(token: str) -> str:
    """`token` encrypted with the first configured key (raises InvalidToken if no key opens it)."""
    return _fernet().rotate(token.encode()).decode()


def resolve_secret(ref: str) -> str:
    if ref.startswith("env:"):
        return os.environ.get(ref[4:], "")
    return ref
