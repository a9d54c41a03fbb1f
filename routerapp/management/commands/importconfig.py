from __future__ import annotations

from django.core.management.base import CommandError

from routerapp.config import ConfigError, import_config, read_file
from routerapp.management.base import RouterCommand


class Command(RouterCommand):
    help = "Create or update providers and models from a YAML file (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--prune", action="store_true", help="Delete providers and models not in the file."
        )

    def handle(self, *args, file: str, prune: bool, **options):
        try:
            summary = import_config(read_file(file), source=file, prune=prune)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"{file}: {summary}"))
        for line in summary.created:
            self.stdout.write(f"  + {line}")
        for line in summary.updated:
            self.stdout.write(f"  ~ {line}")
        for line in summary.deleted:
            self.stdout.write(f"  - {line}")
        for line in summary.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {line}"))
