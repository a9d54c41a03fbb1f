"""`manage.py replay WORKLOAD.jsonl [--cost-weights 0,0.1,...] [--json] [--plot FILE.png]`.

Runs the learned routing chooser over a recorded workload, offline (routerapp.optimizer.replay).
"""

from __future__ import annotations

import orjson
from django.core.management.base import BaseCommand, CommandError

from routerapp.optimizer import replay


def parse_cost_weights(text: str) -> tuple[float, ...]:
    try:
        weights = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise CommandError(f"--cost-weights: '{text}' is not a comma-separated list of numbers") from None
    if not weights or any(w < 0 for w in weights):
        raise CommandError("--cost-weights: give one or more numbers ≥ 0")
    return weights


class Command(BaseCommand):
    help = "Replay a recorded workload through the learned routing strategy, one pass per cost weight."

    def add_arguments(self, parser):
        parser.add_argument(
            "workload", help="JSON Lines: {id, prompt | messages, results: {model: {score, cost_usd}}}"
        )
        parser.add_argument(
            "--cost-weights",
            default=",".join(f"{w:g}" for w in replay.DEFAULT_COST_WEIGHTS),
            help="λ values, one pass each (default %(default)s)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--plot", metavar="FILE.png", help="draw the cost–quality curve")
        parser.add_argument("--seed", type=int, default=0, help="of the sampling (default 0)")
        parser.add_argument(
            "--no-clusters",
            action="store_true",
            help="learn per task type only (to compare with prompt clusters, the default)",
        )

    def handle(
        self,
        *args,
        workload: str,
        cost_weights: str,
        json: bool,
        plot: str | None,
        seed: int,
        no_clusters: bool,
        **options,
    ):
        weights = parse_cost_weights(cost_weights)
        try:
            prompts = replay.read_workload(workload)
        except replay.WorkloadError as exc:
            raise CommandError(str(exc)) from None
        report = replay.replay(prompts, weights, seed=seed, clusters=not no_clusters)
        if plot:
            replay.plot(report, plot)
        if json:
            self.stdout.write(orjson.dumps(report).decode())
            return
        self._table(report, len(prompts), plot)

    def _table(self, report: dict, prompts: int, plot: str | None) -> None:
        models = sorted(report["baselines"]["always"])
        self.stdout.write(f"{prompts} prompts, models: {', '.join(models)}\n")
        header = f"{'':>18} {'mean score':>10} {'mean cost $':>12} {'last 10%':>9}  shares"
        self.stdout.write(header)
        for p in report["points"]:
            shares = "  ".join(f"{m} {p['shares'][m]:.0%}" for m in models)
            self.stdout.write(
                f"{'learned λ=' + format(p['cost_weight'], 'g'):>18} {p['mean_score']:>10.3f} "
                f"{p['mean_cost_usd']:>12.6f} {p['last_10pct_score']:>9.3f}  {shares}"
            )
        base = report["baselines"]
        rows = [(f"always {m}", base["always"][m]) for m in models]
        rows += [("random", base["random"]), ("oracle", base["oracle"])]
        for name, b in rows:
            self.stdout.write(f"{name:>18} {b['mean_score']:>10.3f} {b['mean_cost_usd']:>12.6f}")
        if plot:
            self.stdout.write(f"\ncost–quality curve written to {plot}")
