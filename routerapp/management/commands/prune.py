"""`manage.py prune [--keep N] [--older-than D]`: delete old request history."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.management.base import CommandError

from routerapp.conf import router_settings
from routerapp.management.base import RouterCommand
from routerapp.retention import prune_history

UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, or a plain number of days."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", text)
    if match is None:
        raise CommandError(f"--older-than must look like 30d, 12h or 90m, got '{text}'")
    return timedelta(**{UNITS[match[2] or "d"]: float(match[1])})


class Command(RouterCommand):
    help = (
        "Delete request history (with its attempts and spans; hourly statistics stay). Without options: "
        "older than ROUTER_HISTORY_RETENTION_DAYS. With both options a request must match both to go."
    )

    def add_arguments(self, parser):
        parser.add_argument("--keep", type=int, default=None, help="Keep the newest N requests.")
        parser.add_argument(
            "--older-than", default=None, help="Delete requests older than D: 30d, 12h, 90m (a number: days)."
        )

    def handle(self, *args, keep: int | None, older_than: str | None, **options):
        if keep is not None and keep < 0:
            raise CommandError("--keep must be zero or a positive number of requests")
        age = parse_age(older_than) if older_than is not None else None
        if age is None and keep is None:
            age = timedelta(days=router_settings()["HISTORY_RETENTION_DAYS"])
        deleted = prune_history(older_than=age, keep=keep)
        rules = []
        if age is not None:
            rules.append(f"older than {age}")
        if keep is not None:
            rules.append(f"beyond the newest {keep}")
        self.stdout.write(f"deleted {deleted} requests ({' and '.join(rules)})")
