from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from routerapp.config import dump_yaml, export_config


class Command(BaseCommand):
    help = "Write the current providers and models as YAML (secrets as env: references or left out)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="Write here instead of standard output.")

    def handle(self, *args, file: str | None, **options):
        text = dump_yaml(export_config())
        if file:
            Path(file).write_text(text)
            self.stderr.write(f"wrote {file}")
        else:
            self.stdout.write(text, ending="")
