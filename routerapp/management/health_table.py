"""The health-check table `healthcheck` and `providers test` print: one row per probed deployment."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from routerapp.routing.health import HealthResult


def write_health_table(command: BaseCommand, results: list[HealthResult]) -> None:
    command.stdout.write(f"{'ID':>5} {'MODEL':24} {'DEPLOYMENT':36} {'STATUS':10} {'MS':>8}  ERROR")
    for r in results:
        status = command.style.SUCCESS(f"{r.status:10}") if r.ok else command.style.ERROR(f"{r.status:10}")
        command.stdout.write(
            f"{r.deployment_id:>5} {r.model[:24]:24} {r.label[:36]:36} {status} {r.latency_ms:>8.1f}  {r.error[:120]}"
        )
