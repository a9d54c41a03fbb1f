"""Load the demo config and hand out fresh demo credentials (what `make run` calls)."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction

from routerapp.config import ConfigError, import_config, read_file
from routerapp.management.base import RouterCommand
from routerapp.models import ApiKey

DEMO_CONFIG = "examples/demo.yaml"


class Command(RouterCommand):
    help = "Import examples/demo.yaml, replace the 'demo' API key and the 'admin' login, and print both."

    def add_arguments(self, parser):
        parser.add_argument("--config", default=DEMO_CONFIG)
        parser.add_argument("--no-admin", action="store_true", help="Do not create or reset the admin login.")

    def handle(self, *args, config: str, no_admin: bool, **options):
        try:
            summary = import_config(read_file(config), source=config)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{config}: {summary}")
        with transaction.atomic():
            # Keys are stored hashed, so the only way to show one again is to make a new one.
            ApiKey.objects.filter(name="demo").delete()
            _, raw = ApiKey.create_key("demo")
        password = None
        if not no_admin:
            password = secrets.token_urlsafe(9)
            user, _ = get_user_model().objects.get_or_create(
                username="admin", defaults={"email": "admin@localhost"}
            )
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
        self.stdout.write("")
        self.stdout.write("  OpenAI base URL: http://127.0.0.1:8000/v1")
        self.stdout.write(f"  demo API key:    {raw}")
        if password:
            self.stdout.write(
                f"  dashboard:       http://127.0.0.1:8000/dashboard/  (login admin / {password})"
            )
        self.stdout.write("")
