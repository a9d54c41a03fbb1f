from __future__ import annotations

from django.core.management.base import CommandError

from routerapp.management.base import RouterCommand
from routerapp.models import Deployment
from routerapp.routing.health import check_deployments


class Command(RouterCommand):
    help = "Probe every enabled deployment, record its health, and print a table."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="Deployment ids (default: every enabled one).")
        parser.add_argument("--timeout", type=float, default=10.0, help="Seconds each probe may take.")
        parser.add_argument("--strict", action="store_true", help="Exit with status 1 if any is unhealthy.")

    def handle(self, *args, ids: list[int], timeout: float, strict: bool, **options):
        if timeout <= 0:
            raise CommandError("--timeout must be a positive number of seconds")
        if ids:
            known = dict(Deployment.objects.filter(pk__in=ids).values_list("pk", "enabled"))
            if missing := [str(i) for i in ids if i not in known]:
                raise CommandError(f"no deployment with id {', '.join(missing)}")
            if disabled := [str(i) for i in ids if not known[i]]:
                raise CommandError(f"deployment {', '.join(disabled)} is disabled: nothing to check")
        results = check_deployments(ids or None, timeout_s=timeout)
        if not results:
            self.stdout.write("no enabled deployments")
            return
        self.stdout.write(f"{'ID':>5} {'MODEL':24} {'DEPLOYMENT':36} {'STATUS':10} {'MS':>8}  ERROR")
        for r in results:
            status = self.style.SUCCESS(f"{r.status:10}") if r.ok else self.style.ERROR(f"{r.status:10}")
            self.stdout.write(
                f"{r.deployment_id:>5} {r.model[:24]:24} {r.label[:36]:36} {status} {r.latency_ms:>8.1f}  {r.error[:120]}"
            )
        unhealthy = sum(not r.ok for r in results)
        self.stdout.write(f"{len(results)} checked, {unhealthy} unhealthy")
        if strict and unhealthy:
            raise CommandError(f"{unhealthy} deployment(s) unhealthy", returncode=1)
