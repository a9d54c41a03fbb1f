from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import CommandError

from routerapp.management.base import RouterCommand
from routerapp.models import ApiKey


class Command(RouterCommand):
    help = "Create, list and revoke client API keys. A new key is printed once, on the last line."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it.")
        create.add_argument("name")
        create.add_argument("--models", default="", help="Comma-separated model names (default: all).")
        create.add_argument("--rpm", type=int, default=None, help="Requests per minute.")
        create.add_argument("--budget", default=None, help="Budget in USD.")
        create.add_argument(
            "--admin", action="store_true", help="An admin key: may manage the router through /api."
        )
        sub.add_parser("list", help="List keys (prefixes only).")
        revoke = sub.add_parser("revoke", help="Disable a key.")
        revoke.add_argument("name")

    def handle(self, *args, action: str, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_create(
        self, *, name: str, models: str, rpm: int | None, budget: str | None, admin: bool = False, **_
    ):
        if ApiKey.objects.filter(name=name).exists():
            raise CommandError(f"a key named '{name}' already exists")
        if rpm is not None and rpm < 1:
            raise CommandError("--rpm must be a positive integer")
        budget_usd = None
        if budget is not None:
            try:
                budget_usd = Decimal(budget)
            except InvalidOperation:
                raise CommandError(f"--budget must be a number of USD, got '{budget}'") from None
            if budget_usd < 0:
                raise CommandError("--budget must not be negative")
        allowed = [m.strip() for m in models.split(",") if m.strip()]
        key, raw = ApiKey.create_key(
            name, allowed_models=allowed, rpm_limit=rpm, budget_usd=budget_usd, is_admin=admin
        )
        kind = "admin key" if admin else "key"
        self.stderr.write(f"created {kind} '{key.name}' ({key.prefix}…); it is shown once, store it now:")
        self.stdout.write(raw)

    def handle_list(self, **_):
        rows = ApiKey.objects.order_by("name")
        if not rows:
            self.stdout.write("no keys")
            return
        self.stdout.write(
            f"{'NAME':20} {'PREFIX':12} {'STATE':8} {'MODELS':24} {'RPM':>6} {'SPENT':>10} {'BUDGET':>10}"
        )
        for k in rows:
            self.stdout.write(
                f"{k.name:20} {k.prefix + '…':12} {'active' if k.enabled else 'revoked':8} "
                f"{','.join(k.allowed_models) or '*':24} {k.rpm_limit or '-':>6} "
                f"{float(k.spent_usd):>10.4f} {f'{k.budget_usd:.2f}' if k.budget_usd is not None else '-':>10}"
            )

    def handle_revoke(self, *, name: str, **_):
        key = ApiKey.objects.filter(name=name).first()
        if key is None:
            raise CommandError(f"no key named '{name}'")
        key.enabled = False
        key.save()
        self.stdout.write(f"revoked '{name}'")
