from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation

from django.core.management.base import CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from routerapp.management.base import RouterCommand
from routerapp.models import ApiKey
from routerapp.optimizer import switches
from routerapp.routing.table import load_table


def parse_expiry(value: str) -> datetime:
    """An ISO date (expires at its start, UTC) or datetime; naive times are UTC."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--expires must be an ISO date or datetime, got '{value}'")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    if moment <= timezone.now():
        raise CommandError(f"--expires {value} is in the past")
    return moment


class Command(RouterCommand):
    help = "Create, list and revoke client API keys. A new key is printed once, on the last line."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it.")
        create.add_argument("name")
        create.add_argument("--models", default="", help="Comma-separated model names (default: all).")
        create.add_argument("--rpm", type=int, default=None, help="Requests per minute.")
        create.add_argument("--tpm", type=int, default=None, help="Tokens per minute.")
        create.add_argument("--budget", default=None, help="Budget in USD.")
        create.add_argument(
            "--budget-period",
            choices=("daily", "weekly", "monthly"),
            default="",
            help="The budget starts again each period (00:00 UTC; weeks from Monday). Default: never.",
        )
        create.add_argument(
            "--admin", action="store_true", help="An admin key: may manage the router through /api."
        )
        create.add_argument(
            "--expires", default=None, help="ISO date or datetime (UTC) after which the key is refused."
        )
        create.add_argument(
            "--optimize",
            default=None,
            metavar="STRATEGY[,..]",
            help=(
                "Optimizer switches for this key's requests, over the model's: e.g. 'compress,-cache' "
                f"({', '.join(switches.STRATEGIES)}, all, none; '-name' is an opt-out no request undoes)."
            ),
        )
        sub.add_parser("list", help="List keys (prefixes only).")
        revoke = sub.add_parser("revoke", help="Disable a key.")
        revoke.add_argument("name")

    def handle(self, *args, action: str, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_create(
        self,
        *,
        name: str,
        models: str,
        rpm: int | None,
        budget: str | None,
        tpm: int | None = None,
        budget_period: str = "",
        expires: str | None = None,
        admin: bool = False,
        optimize: str | None = None,
        **_,
    ):
        if ApiKey.objects.filter(name=name).exists():
            raise CommandError(f"a key named '{name}' already exists")
        if rpm is not None and rpm < 1:
            raise CommandError("--rpm must be a positive integer")
        if tpm is not None and tpm < 1:
            raise CommandError("--tpm must be a positive integer")
        budget_usd = None
        if budget is not None:
            try:
                budget_usd = Decimal(budget)
            except InvalidOperation:
                raise CommandError(f"--budget must be a number of USD, got '{budget}'") from None
            if budget_usd < 0:
                raise CommandError("--budget must not be negative")
        allowed = [m.strip() for m in models.split(",") if m.strip()]
        known = set(load_table().model_names())
        unknown = [m for m in allowed if m not in known]
        if unknown:
            raise CommandError(
                f"--models: no model named {', '.join(map(repr, unknown))}; "
                f"known models: {', '.join(sorted(known)) or '(none)'}"
            )
        expires_at = parse_expiry(expires) if expires else None
        try:
            # Stored as the admin form and the API store it, read by switches.resolve like theirs.
            optimize_spec = switches.normalize(optimize)
        except ValueError as exc:
            raise CommandError(f"--optimize: {exc}") from None
        key, raw = ApiKey.create_key(
            name,
            allowed_models=allowed,
            rpm_limit=rpm,
            tpm_limit=tpm,
            budget_usd=budget_usd,
            budget_period=budget_period,
            is_admin=admin,
            expires_at=expires_at,
            optimize=optimize_spec,
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
        now = timezone.now()
        for k in rows:
            state = (
                "revoked"
                if not k.enabled
                else "expired"
                if k.expires_at and k.expires_at <= now
                else "active"
            )
            self.stdout.write(
                f"{k.name:20} {k.prefix + '…':12} {state:8} "
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
