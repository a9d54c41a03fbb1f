"""`manage.py bench NAME ...`: the benchmarks of routerapp.benchmarks, one subcommand each."""

from __future__ import annotations

from routerapp.benchmarks import BENCHES
from routerapp.management.base import RouterCommand


class Command(RouterCommand):
    help = (
        "Run a benchmark. `bench load`: a load run against a running server (--url) or an "
        "in-process one, with a progress bar and a result table."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="bench", required=True, metavar="{" + ",".join(BENCHES) + "}")
        for name, module in BENCHES.items():
            module.add_arguments(sub.add_parser(name, help=module.help, description=module.help))

    def handle(self, *args, bench: str, **options):
        BENCHES[bench].run(self, **options)
