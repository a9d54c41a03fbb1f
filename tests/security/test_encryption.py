"""Provider secrets at rest: a dedicated Fernet key, rotatable without re-entering the secrets."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from routerapp.models import Provider
from tests.factories import create_provider

pytestmark = pytest.mark.django_db


def test_secrets_are_encrypted_with_the_dedicated_key_not_one_from_secret_key(settings):
    key = Fernet.generate_key().decode()
    settings.ROUTER_ENCRYPTION_KEY = key
    provider = create_provider(name="paid")
    provider.set_api_key("sk-live-abcdef123456")
    provider.save()
    assert Fernet(key.encode()).decrypt(provider.api_key_encrypted.encode()) == b"sk-live-abcdef123456"


def test_rotating_the_key_keeps_every_secret_readable(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ROUTER_ENCRYPTION_KEY = old
    provider = create_provider(name="paid", extra_headers={"x-api-key": "hdr-secret-123456"})
    provider.set_api_key("sk-live-abcdef123456")
    provider.save()

    settings.ROUTER_ENCRYPTION_KEY = f"{new},{old}"
    out = io.StringIO()
    call_command("reencrypt", stdout=out)
    assert "re-encrypted 2" in out.getvalue()  # the key and the header value

    settings.ROUTER_ENCRYPTION_KEY = new  # the old key dropped
    stored = Provider.objects.get(name="paid")
    assert Fernet(new.encode()).decrypt(stored.api_key_encrypted.encode()) == b"sk-live-abcdef123456"
    assert stored.resolved_api_key() == "sk-live-abcdef123456"
    assert stored.resolved_headers() == {"x-api-key": "hdr-secret-123456"}


def test_a_secret_no_key_opens_is_reported_by_name(settings):
    settings.ROUTER_ENCRYPTION_KEY = Fernet.generate_key().decode()
    provider = create_provider(name="lost")
    provider.set_api_key("sk-live-abcdef123456")
    provider.save()
    settings.ROUTER_ENCRYPTION_KEY = Fernet.generate_key().decode()
    assert Provider.objects.get(name="lost").resolved_api_key() == ""  # missing, not a crash
    with pytest.raises(CommandError, match="lost"):
        call_command("reencrypt", stdout=io.StringIO())


def test_a_malformed_key_is_a_clear_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.ROUTER_ENCRYPTION_KEY = "not-a-fernet-key"
    provider = create_provider(name="paid")
    with pytest.raises(ImproperlyConfigured, match="ROUTER_ENCRYPTION_KEY must be Fernet keys"):
        provider.set_api_key("sk-live-abcdef123456")
