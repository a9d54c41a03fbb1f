"""Provider secrets: `env:VAR` references resolved at load time, stored keys encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    # Derived from SECRET_KEY so there is one secret to manage; rotating it means re-entering keys.
    digest = hashlib.sha256(b"router-provider-secrets:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # SECRET_KEY changed since the key was stored: treat as missing rather than crash routing.
        return ""


def resolve_secret(ref: str) -> str:
    if ref.startswith("env:"):
        return os.environ.get(ref[4:], "")
    return ref
