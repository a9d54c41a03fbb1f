"""`manage.py providers list | test NAME`."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db.models import Count, Q

from routerapp.management.base import RouterCommand
from routerapp.management.health_table import write_health_table
from routerapp.models import Provider
from routerapp.routing.health import check_deployments


class Command(RouterCommand):
    help = (
        "List providers with their deployments, or test one: probe each of its enabled deployments "
        "(recorded like a health check); exits 1 if any fails."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Providers, their kind, URL, key source and deployments.")
        test = sub.add_parser("test", help="Probe every enabled deployment of one provider.")
        test.add_argument("name")
        test.add_argument("--timeout", type=float, default=10.0, help="Seconds each probe may take.")

    def handle(self, *args, action: str, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_list(self, **_):
        rows = Provider.objects.annotate(
            total=Count("deployments"), live=Count("deployments", filter=Q(deployments__enabled=True))
        ).order_by("name")
        if not rows:
            self.stdout.write("no providers")
            return
        self.stdout.write(f"{'NAME':20} {'KIND':10} {'STATE':8} {'KEY':20} {'DEPLOYMENTS':>11}  BASE URL")
        for p in rows:
            self.stdout.write(
                f"{p.name:20} {p.kind:10} {'enabled' if p.enabled else 'disabled':8} {p.key_source()[:20]:20} "
                f"{f'{p.live}/{p.total}':>11}  {p.base_url or '-'}"
            )

    def handle_test(self, *, name: str, timeout: float, **_):
        if timeout <= 0:
            raise CommandError("--timeout must be a positive number of seconds")
        provider = Provider.objects.filter(name=name).first()
        if provider is None:
            raise CommandError(f"no provider named '{name}'")
        if not provider.enabled:
            raise CommandError(f"provider '{name}' is disabled")
        ids = list(provider.deployments.filter(enabled=True).values_list("id", flat=True))
        if not ids:
            raise CommandError(f"provider '{name}' has no enabled deployments to test")
        results = check_deployments(ids, timeout_s=timeout)
        write_health_table(self, results)
        failing = sum(not r.ok for r in results)
        if failing:
            raise CommandError(f"{failing} of {len(results)} deployment(s) of '{name}' failed", returncode=1)
        self.stdout.write(f"'{name}': {len(results)} deployment(s) answered")
