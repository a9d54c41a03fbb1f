"""Re-encrypt stored provider secrets with the first key of ROUTER_ENCRYPTION_KEY (key rotation)."""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.core.management.base import CommandError
from django.db import transaction

from routerapp.encryption import has_dedicated_key, reencrypt
from routerapp.management.base import RouterCommand
from routerapp.models import SEALED, Provider


class Command(RouterCommand):
    help = (
        "Re-encrypt every stored provider secret with the first key of ROUTER_ENCRYPTION_KEY. "
        "Rotate by putting a new key first (old keys after it), running this, then dropping the old keys."
    )

    def handle(self, *args, **options):
        if not has_dedicated_key():
            raise CommandError("ROUTER_ENCRYPTION_KEY is not set: there is no key to re-encrypt with")
        done, unreadable = 0, []
        with transaction.atomic():
            for provider in Provider.objects.exclude(api_key_encrypted="").only(
                "id", "name", "api_key_encrypted"
            ):
                try:
                    token = reencrypt(provider.api_key_encrypted)
                except InvalidToken:
                    unreadable.append(provider.name)
                    continue
                # update(), not save(): the secret itself is unchanged, so no routing-table reload.
                Provider.objects.filter(pk=provider.pk).update(api_key_encrypted=token)
                done += 1
            for provider in Provider.objects.exclude(extra_headers={}).only("id", "name", "extra_headers"):
                headers = dict(provider.extra_headers)
                try:
                    for name, value in headers.items():
                        if isinstance(value, str) and value.startswith(SEALED):
                            headers[name] = SEALED + reencrypt(value[len(SEALED) :])
                            done += 1
                except InvalidToken:
                    unreadable.append(provider.name)
                    continue
                Provider.objects.filter(pk=provider.pk).update(extra_headers=headers)
        self.stdout.write(f"re-encrypted {done} provider secret(s)")
        if unreadable:
            raise CommandError(
                f"no configured key opens the secret of: {', '.join(unreadable)}; "
                "add the key they were stored with to ROUTER_ENCRYPTION_KEY, or enter them again"
            )
