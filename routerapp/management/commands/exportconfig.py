from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from routerapp.config import dump_yaml, export_config
from routerapp.management.base import RouterCommand


class Command(RouterCommand):
    help = "Write the current providers and models as YAML (secrets as env: references or left out)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="Write here instead of standard output.")

    def handle(self, *args, file: str | None, **options):
        text = dump_yaml(export_config())
        if file:
            try:
                Path(file).write_text(text)
            except OSError as exc:
                raise CommandError(f"{file}: cannot write it ({exc.strerror})") from None
            self.stderr.write(f"wrote {file}")
        else:
            self.stdout.write(text, ending="")
