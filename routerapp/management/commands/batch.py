"""`manage.py batch submit FILE.jsonl | status ID | results ID`: the Batch API from the shell.

Calls the core of routerapp.batches, like /v1/batches does; the django-q2 workers (`serve`, or
`qcluster`) run the batch.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import CommandError
from tqdm import tqdm

from routerapp import batches, errors
from routerapp.management.base import RouterCommand
from routerapp.models import ApiKey, Batch

POLL_S = 1.0


class Command(RouterCommand):
    help = (
        "Run an OpenAI Batch API file through the router's workers: `submit FILE.jsonl` prints the batch "
        "id, `status ID` its progress, `results ID` its output (or --errors) as JSONL."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        submit = sub.add_parser("submit", help="Upload a JSONL file and queue it as a batch; prints the id.")
        submit.add_argument("file", help="JSONL lines of {custom_id, method, url, body}, as for OpenAI.")
        submit.add_argument(
            "--key", default=None, help="Run under this client key's name (its limits, budget)."
        )
        submit.add_argument("--metadata", nargs="*", default=[], metavar="K=V", help="Metadata pairs.")
        submit.add_argument("--wait", action="store_true", help="Show a progress bar until it finishes.")
        status = sub.add_parser("status", help="Status, request counts and files of a batch.")
        status.add_argument("id")
        status.add_argument("--json", action="store_true", dest="as_json", help="The OpenAI batch object.")
        results = sub.add_parser("results", help="The output JSONL of a finished batch.")
        results.add_argument("id")
        results.add_argument("--errors", action="store_true", help="Print the error file instead.")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"handle_{action}")(**options)
        except errors.RouterError as exc:
            raise CommandError(exc.message) from None

    def handle_submit(self, *, file: str, key: str, metadata: list[str], wait: bool, **_):
        api_key_id = ApiKey.objects.filter(name=key, enabled=True).values_list("id", flat=True).first()
        if api_key_id is None:
            raise CommandError(f"no active key named '{key}'")
        pairs = {}
        for pair in metadata:
            name, sep, value = pair.partition("=")
            if not sep or not name:
                raise CommandError(f"--metadata takes K=V pairs, got '{pair}'")
            pairs[name] = value
        try:
            content = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: cannot read it ({exc.strerror})") from None
        upload = batches.create_file(api_key_id=api_key_id, filename=file, content=content, purpose="batch")
        batch = batches.submit(api_key_id=api_key_id, input_file_id=upload.id, metadata=pairs)
        self.stderr.write(f"submitted {upload.filename} ({upload.bytes} bytes) as batch {batch.id}")
        if wait:
            batch = self._wait(batch.id)
            self.stderr.write(self._line(batch))
        self.stdout.write(batch.id)
        if wait and batch.status != Batch.Status.COMPLETED:
            raise CommandError(f"batch {batch.id} ended {batch.status}")

    def _wait(self, batch_id: str) -> Batch:
        batch = batches.status(batch_id)
        out = getattr(self.stderr, "_out", self.stderr)  # tqdm redraws with "\r": the raw stream
        with tqdm(total=batch.total or None, file=out, unit="req", desc=batch.status) as bar:
            while True:
                batch = batches.status(batch_id)
                bar.total = batch.total or bar.total
                bar.set_description(batch.status, refresh=False)
                bar.update(batch.completed + batch.failed - bar.n)
                if not batch.is_active:
                    return batch
                time.sleep(POLL_S)

    def _line(self, batch: Batch) -> str:
        return (
            f"{batch.id}: {batch.status}, {batch.completed + batch.failed}/{batch.total} done "
            f"({batch.completed} completed, {batch.failed} failed)"
        )

    def handle_status(self, *, id: str, as_json: bool, **_):
        batch = batches.status(id)
        if as_json:
            self.stdout.write(json.dumps(batches.batch_object(batch), indent=2))
            return
        self.stdout.write(self._line(batch))
        for label, value in (
            ("input file", batch.input_file_id),
            ("output file", batch.output_file_id),
            ("error file", batch.error_file_id),
        ):
            if value:
                self.stdout.write(f"  {label:12} {value}")
        for problem in batch.errors or ():
            where = f"line {problem['line']}: " if problem.get("line") else ""
            self.stdout.write(f"  error        {where}{problem.get('message', '')}")

    def handle_results(self, *, id: str, errors: bool, **_):
        found = batches.results(id)
        self.stdout.write(found.errors if errors else found.output, ending="")
