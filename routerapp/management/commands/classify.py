"""Add the detected task type to every line of a JSONL file: `manage.py classify FILE.jsonl` (`-`: stdin).

Each line is an object with a `prompt` string or a `messages` list; it is written to stdout with
`task_type` and `confidence` added, in the order read. A line that is not such an object is reported
on stderr with its number and left out, and the command then exits with an error.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import CommandError

from routerapp.management.base import RouterCommand
from routerapp.optimizer.detect import as_messages, detect


class Command(RouterCommand):
    help = (
        "Classify prompts from a JSONL file (or - for stdin) into task types; JSONL with task_type on stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .jsonl file with a 'prompt' or 'messages' field per line, or -")

    def handle(self, *args, file: str, **options):
        try:
            source = sys.stdin if file == "-" else open(file, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from None
        failed = 0
        with source:
            for number, line in enumerate(source, start=1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    detection = detect(as_messages(item))
                except ValueError as exc:  # json.JSONDecodeError is a ValueError too
                    failed += 1
                    self.stderr.write(f"{file}:{number}: {exc}")
                    continue
                item["task_type"], item["confidence"] = detection.task_type, detection.confidence
                self.stdout.write(json.dumps(item, ensure_ascii=False))
        if failed:
            raise CommandError(f"{failed} line(s) could not be classified")
