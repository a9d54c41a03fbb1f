from __future__ import annotations

from django.core.management.base import CommandError

from routerapp.management.base import RouterCommand
from routerapp.management.health_table import write_health_table
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
        write_health_table(self, results)
        unhealthy = sum(not r.ok for r in results)
        self.stdout.write(f"{len(results)} checked, {unhealthy} unhealthy")
        if strict and unhealthy:
            raise CommandError(f"{unhealthy} deployment(s) unhealthy", returncode=1)
