"""Print traffic statistics as a table: `manage.py stats [--window 1h] [--by model|deployment|provider|key]`."""

from __future__ import annotations

import json

from routerapp import stats
from routerapp.management.base import RouterCommand


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


class Command(RouterCommand):
    help = "Requests, RPS, error rate, p50/p95/p99 latency and TTFT, tokens and cost over a time window."

    def add_arguments(self, parser):
        parser.add_argument("--window", choices=list(stats.WINDOWS), default="1h")
        parser.add_argument("--by", choices=stats.GROUPINGS, default=None, help="One row per group.")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the report as JSON instead."
        )

    def handle(self, *args, window: str, by: str | None, as_json: bool, **options):
        report = stats.report(window, by)
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
            return
        header = [
            by or "",
            "requests",
            "rps",
            "errors",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "ttft p50",
            "tokens in",
            "tokens out",
            "cost $",
        ]
        rows = [self._row(s) for s in (*report.rows, report.total)]
        rows[-1][0] = "total"
        if by in ("deployment", "provider"):
            # Failed upstream attempts: a request nobody answered counts its error under "(none)".
            header.append("upstream fails")
            failures = [s.upstream_failures for s in report.rows]
            for row, n in zip(rows, [*failures, sum(n or 0 for n in failures)], strict=True):
                row.append("-" if n is None else n)
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

        def line(cells: list) -> str:
            first = str(cells[0]).ljust(widths[0])
            return "  ".join([first, *(str(c).rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

        self.stdout.write(
            f"Last {window}, {'percentiles exact' if report.exact else 'percentiles from hourly histograms (±6 %)'}"
        )
        self.stdout.write(line(header))
        self.stdout.write(line(["-" * w for w in widths]))
        for r in rows[:-1]:
            self.stdout.write(line(r))
        if report.rows:
            self.stdout.write(line(["-" * w for w in widths]))
        self.stdout.write(line(rows[-1]))
        if report.total.errors_by_type:
            kinds = ", ".join(
                f"{k} {v}" for k, v in sorted(report.total.errors_by_type.items(), key=lambda kv: -kv[1])
            )
            self.stdout.write(f"errors by type: {kinds}")

    @staticmethod
    def _row(s: stats.Stat) -> list:
        return [
            s.label,
            s.requests,
            f"{s.rps:.2f}",
            f"{s.error_rate * 100:.1f}%",
            _ms(s.latency["p50"]),
            _ms(s.latency["p95"]),
            _ms(s.latency["p99"]),
            _ms(s.ttft["p50"]),
            s.prompt_tokens,
            s.completion_tokens,
            f"{s.cost_usd:.4f}",
        ]
