"""Benchmark `strategy: learned` through route() against simulated providers of known quality.

    .venv/bin/python bench/learned/live.py --cost-weights 0.05,0.1,0.25 --plot bench/learned/live.png

Three simulated deployments (bench/learned/models.py: a cheap one as good as the expensive one on
half the task types, a mid-priced one good at code and reasoning, an expensive one good at all)
serve one model name routed by `learned`. Every answer goes through the real route() (the
simulated adapter, no network, latency 0), the history writer, and the real feedback path:
a simulated user rates each answer 1 when the simulator made it good and 0 when degraded, with
routerapp.optimizer.feedback.record_feedback, as `POST /api/queries/{id}/feedback` would.

Per cost weight λ, from an empty pattern store and database:
  1. warm-up: 2,000 mixed queries;
  2. measure: 1,000 fresh queries, the same ones sent to always-small, always-large and random
     (simple-shuffle over the three) as baselines: mean quality (share of good answers) and cost;
  3. drift: the cheap model's quality drops on the types it was good at (0.9 → 0.2); 1,500 more
     queries; re-adapted = queries until the last 200 are back to ≥ 95 % of always-large quality.
Writes a Markdown table to bench/learned/live.md and, with --plot, the cost–quality plot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]
DB = Path(tempfile.gettempdir()) / f"learned-bench-{os.getpid()}.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routerapp.settings")
os.environ.setdefault("ROUTER_TRACING", "0")

import django  # noqa: E402

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from models import MODELS  # noqa: E402
from prompts import mixed  # noqa: E402

from routerapp.models import Deployment, ModelGroup, OptimizerPattern, Provider, QueryRecord  # noqa: E402
from routerapp.observability.writer import writer  # noqa: E402
from routerapp.optimizer.feedback import record_feedback  # noqa: E402
from routerapp.optimizer.learning import live  # noqa: E402
from routerapp.providers.base import ChatRequest  # noqa: E402
from routerapp.routing import route  # noqa: E402
from routerapp.routing.table import tables  # noqa: E402

DRIFT = {"creative": 0.2, "summarization": 0.2, "qa": 0.2, "question": 0.2}
WARMUP, MEASURE, AFTER_DRIFT, ROLLING = 2000, 1000, 1500, 200


def configure(cost_weight: float) -> None:
    """A fresh configuration: one provider per simulated model, the learned group and baselines."""
    QueryRecord.objects.all().delete()
    OptimizerPattern.objects.all().delete()
    ModelGroup.objects.all().delete()
    Provider.objects.all().delete()
    providers = {
        name: Provider.objects.create(
            name=f"sim-{name}",
            kind="simulated",
            options={"seed": 11, "latency_ms": 0, "jitter_ms": 0, "quality": spec["quality"]},
        )
        for name, spec in MODELS.items()
    }

    def group(name: str, strategy: str, members: list[str]) -> None:
        g = ModelGroup.objects.create(name=name, strategy=strategy, cost_weight=cost_weight, num_retries=0)
        for member in members:
            inp, out = MODELS[member]["price"]
            Deployment.objects.create(
                model_group=g,
                provider=providers[member],
                upstream_model=member,
                input_cost_per_mtok=inp,
                output_cost_per_mtok=out,
            )

    group("auto", "learned", list(MODELS))
    group("random", "simple-shuffle", list(MODELS))
    group("always-small", "simple-shuffle", ["small"])
    group("always-large", "simple-shuffle", ["large"])
    cache.clear()
    tables.invalidate()
    live.reset()


def drift() -> None:
    provider = Provider.objects.get(name="sim-small")
    provider.options = {**provider.options, "quality": {**provider.options["quality"], **DRIFT}}
    provider.save()


def rate(request_id: str, good: bool) -> None:
    writer.flush()
    record_feedback(request_id, 1.0 if good else 0.0)


async def ask(model: str, text: str, *, feedback: bool) -> tuple[bool, float, str]:
    request = ChatRequest(model=model, messages=[{"role": "user", "content": text}])
    completion = await route(request, key=None)
    good = bool(completion.body["x_simulated"]["good"])
    if feedback:
        await sync_to_async(rate)(request.request_id, good)
    return good, completion.draft.cost_usd, completion.deployment_label


async def phase(model: str, prompts: list[tuple[str, str]], *, feedback: bool) -> list[tuple[bool, float, str, str]]:
    out = []
    for task, text in prompts:
        good, cost, label = await ask(model, text, feedback=feedback)
        out.append((good, cost, label, task))
    return out


def summary(rows: list[tuple[bool, float, str, str]]) -> dict:
    n = len(rows)
    shares: dict[str, float] = {}
    for _, _, label, _ in rows:
        shares[label] = shares.get(label, 0.0) + 1 / n
    return {
        "quality": sum(r[0] for r in rows) / n,
        "cost": sum(r[1] for r in rows) / n,
        "shares": dict(sorted(shares.items())),
    }


async def run_one(cost_weight: float, seed: int) -> dict:
    await sync_to_async(configure)(cost_weight)
    started = time.perf_counter()
    await phase("auto", mixed(WARMUP, seed), feedback=True)
    measured = mixed(MEASURE, seed + 1)
    result = {"cost_weight": cost_weight, "learned": summary(await phase("auto", measured, feedback=True))}
    for baseline in ("always-small", "always-large", "random"):
        result[baseline] = summary(await phase(baseline, measured, feedback=False))
    await sync_to_async(drift)()
    drifted = mixed(AFTER_DRIFT, seed + 2)
    after = await phase("auto", drifted, feedback=True)
    best_after = summary(await phase("always-large", drifted, feedback=False))["quality"]
    rolling = [
        sum(r[0] for r in after[max(0, i + 1 - ROLLING) : i + 1]) / min(i + 1, ROLLING) for i in range(len(after))
    ]
    # Re-adapted: the first query from which the last ROLLING are back to 95 % of always-large.
    readapted = next(
        (i + 1 for i in range(ROLLING - 1, len(after)) if rolling[i] >= 0.95 * best_after), None
    )
    result["drift"] = {
        "always_large_quality": best_after,
        "rolling": rolling,
        "readapted_after": readapted,
        "small_share_on_drifted_types_last_500": _share(after[-500:], "sim-small/small", DRIFT),
        "learned": summary(after),
    }
    result["seconds"] = time.perf_counter() - started
    return result


def _share(rows, label: str, types) -> float:
    hit = [r for r in rows if r[3] in types or (r[3] == "qa" and "question" in types)]
    return sum(r[2] == label for r in hit) / len(hit) if hit else 0.0


def report(results: list[dict], command: str) -> str:
    lines = [
        "# Learned routing benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Warm-up {WARMUP} mixed queries, then {MEASURE} measured (the same prompts to each baseline);",
        f"quality = share of good answers (simulator's ground truth); cost = mean USD per query.",
        "",
        "| λ | learned quality | learned cost $ | vs always-large quality | vs always-large cost | shares | re-adapted after drift (queries) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        best = r["always-large"]
        shares = ", ".join(f"{k.split('/')[-1]} {v:.0%}" for k, v in r["learned"]["shares"].items())
        lines.append(
            f"| {r['cost_weight']:g} | {r['learned']['quality']:.3f} | {r['learned']['cost']:.6f} | "
            f"{r['learned']['quality'] / best['quality']:.1%} | {r['learned']['cost'] / best['cost']:.1%} | "
            f"{shares} | {r['drift']['readapted_after']} |"
        )
    first = results[0]
    lines += ["", "| baseline | quality | cost $ |", "|---|---|---|"]
    for name in ("always-small", "always-large", "random"):
        lines.append(f"| {name} | {first[name]['quality']:.3f} | {first[name]['cost']:.6f} |")
    lines += [
        "",
        "Drift: the cheap model's quality on creative, summarization and qa drops from 0.9 to 0.2 after the",
        f"measured phase; re-adapted = queries until the last {ROLLING} learned answers are back to ≥ 95 % of",
        "always-large's quality on the same prompts; the cheap model's share of those types over the last 500:",
        "",
    ]
    for r in results:
        d = r["drift"]
        lines.append(
            f"- λ={r['cost_weight']:g}: always-large {d['always_large_quality']:.3f}, learned after drift "
            f"{d['learned']['quality']:.3f}, re-adapted after {d['readapted_after']} queries, cheap share on drifted "
            f"types (last 500) {d['small_share_on_drifted_types_last_500']:.0%} ({r['seconds']:.0f} s)"
        )
    return "\n".join(lines) + "\n"


def plot(results: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(12, 4.8), dpi=110)
    first = results[0]
    for name, marker in (("always-small", "s"), ("always-large", "D"), ("random", "^")):
        left.plot(first[name]["cost"], first[name]["quality"], marker, markersize=9, label=name)
    learned = sorted(results, key=lambda r: r["learned"]["cost"])
    left.plot(
        [r["learned"]["cost"] for r in learned],
        [r["learned"]["quality"] for r in learned],
        "o-",
        color="tab:blue",
        label="learned (after 2,000-query warm-up)",
    )
    for r in learned:
        left.annotate(f"λ={r['cost_weight']:g}", (r["learned"]["cost"], r["learned"]["quality"]),
                      textcoords="offset points", xytext=(6, -12), fontsize=8)
    best = first["always-large"]
    left.axhline(0.95 * best["quality"], color="grey", linestyle=":", linewidth=1, label="95 % of always-large")
    left.axvline(0.5 * best["cost"], color="grey", linestyle="--", linewidth=1, label="50 % of its cost")
    left.set_xlabel("mean cost per query (USD)")
    left.set_ylabel("quality (share of good answers)")
    left.set_title("Cost against quality, 1,000 measured queries")
    left.grid(True, alpha=0.3)
    left.legend(fontsize=8, loc="lower right")
    for r in results:
        d = r["drift"]
        right.plot(range(1, len(d["rolling"]) + 1), d["rolling"], label=f"learned λ={r['cost_weight']:g}")
    right.axhline(first["drift"]["always_large_quality"], color="tab:orange", linestyle="--", label="always-large")
    right.axhline(0.95 * first["drift"]["always_large_quality"], color="grey", linestyle=":", label="95 % of it")
    right.set_xlabel("queries after the cheap model degrades")
    right.set_ylabel(f"quality over the last {ROLLING} queries")
    right.set_title("Re-adapting after a deployment's quality drops")
    right.grid(True, alpha=0.3)
    right.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost-weights", default="0.1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plot", metavar="FILE.png")
    parser.add_argument("--out", default=str(HERE / "live.md"))
    args = parser.parse_args()
    settings.ROUTER.update({"CONFIG_CHECK_S": 0, "LEARNING_CHECK_S": 0, "HISTORY_FLUSH_S": 0.05})
    call_command("migrate", verbosity=0)
    weights = [float(w) for w in args.cost_weights.split(",")]
    try:
        results = [asyncio.run(run_one(w, args.seed)) for w in weights]
    finally:
        writer.flush()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DB}{suffix}").unlink(missing_ok=True)
    command = "python bench/learned/live.py " + " ".join(sys.argv[1:])
    text = report(results, command)
    Path(args.out).write_text(text)
    print(text)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
