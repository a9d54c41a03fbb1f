"""Benchmarks run by `manage.py bench NAME`: one module per benchmark, registered here.

Each module exposes `help` (one line), `add_arguments(parser)` and `run(command, **options)`,
where `command` is the management command (for its stdout/stderr and styles). Adding a benchmark
is a new module plus one line in BENCHES.
"""

from __future__ import annotations

from routerapp.benchmarks import ensembles, load

BENCHES = {
    "load": load,
    "ensembles": ensembles,
}
