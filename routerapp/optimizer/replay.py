"""Offline replay: the learned chooser over a recorded workload, with no network.

A workload is JSON Lines, one prompt a line, in the order they are replayed:

    {"id": "q1", "prompt": "...", "results": {"model-a": {"score": 0.8, "cost_usd": 0.0012}, ...}}

(`messages` may replace `prompt`; `latency_ms` is optional; `score` is in [0, 1].) For each prompt
the pass ranks the models of `results` with routerapp.optimizer.chooser.rank over a
routerapp.optimizer.patterns.PatternStore, exactly as `strategy: learned` does live, sees only the
chosen model's score (as a feedback event would give it) and learns it. A model's expected cost is
its recorded cost for the prompt: live routing knows it the same way, from the price list and the
prompt. Each cost weight (λ) is a separate pass from an empty store.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import orjson

from routerapp.optimizer import detect
from routerapp.optimizer.chooser import Option, rank
from routerapp.optimizer.patterns import PatternStore, cluster_key, pattern_key, patterns_of

DEFAULT_COST_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0)


class WorkloadError(Exception):
    """A line of a workload file that cannot be replayed, naming the file, the line and the problem."""


@dataclass(slots=True, frozen=True)
class Outcome:
    score: float
    cost_usd: float
    latency_ms: float | None = None


@dataclass(slots=True, frozen=True)
class Prompt:
    id: str
    pattern: str  # the task type's
    results: dict[str, Outcome]
    cluster: int | None = None

    @property
    def patterns(self) -> tuple[str, ...]:
        return patterns_of(self.pattern.removeprefix("task:"), self.cluster)


@dataclass(slots=True)
class Point:
    cost_weight: float
    mean_score: float
    mean_cost_usd: float
    shares: dict[str, float]
    last_10pct_score: float
    prompts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "cost_weight": self.cost_weight,
            "mean_score": round(self.mean_score, 6),
            "mean_cost_usd": round(self.mean_cost_usd, 10),
            "shares": {m: round(s, 6) for m, s in sorted(self.shares.items())},
            "last_10pct_score": round(self.last_10pct_score, 6),
            "prompts": self.prompts,
        }


def read_workload(path: str | Path) -> list[Prompt]:
    source = str(path)
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise WorkloadError(f"{source}: cannot read it ({exc.strerror or exc})") from None
    prompts = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            prompts.append(_prompt(line, f"{source}:{number}"))
    if not prompts:
        raise WorkloadError(f"{source}: no prompts in the file")
    return prompts


def _prompt(line: bytes, where: str) -> Prompt:
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise WorkloadError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(item, dict):
        raise WorkloadError(f"{where}: each line must be a JSON object")
    messages = item.get("messages")
    if messages is None:
        prompt = item.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise WorkloadError(f"{where}: needs 'prompt' (a string) or 'messages' (a list)")
        messages = [{"role": "user", "content": prompt}]
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages) or not messages:
        raise WorkloadError(f"{where}: 'messages' must be a non-empty list of message objects")
    results = item.get("results")
    if not isinstance(results, dict) or not results:
        raise WorkloadError(f"{where}: 'results' must map model names to {{score, cost_usd}}")
    outcomes = {}
    for model, result in results.items():
        if not isinstance(result, dict):
            raise WorkloadError(f"{where}: results.{model} must be an object")
        score, cost, latency = result.get("score"), result.get("cost_usd", 0.0), result.get("latency_ms")
        if not _number(score) or not 0.0 <= score <= 1.0:
            raise WorkloadError(f"{where}: results.{model}.score must be a number in [0, 1]")
        if not _number(cost) or cost < 0:
            raise WorkloadError(f"{where}: results.{model}.cost_usd must be a number ≥ 0")
        if latency is not None and (not _number(latency) or latency < 0):
            raise WorkloadError(f"{where}: results.{model}.latency_ms must be a number ≥ 0")
        outcomes[str(model)] = Outcome(float(score), float(cost), None if latency is None else float(latency))
    detection = detect.detect(messages)
    return Prompt(
        id=str(item.get("id", where)),
        pattern=pattern_key(detection.task_type),
        results=outcomes,
        cluster=detection.cluster,
    )


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def replay_pass(
    prompts: list[Prompt],
    cost_weight: float,
    *,
    latency_weight: float = 0.0,
    seed: int = 0,
    clusters: bool = True,
) -> Point:
    """One pass from an empty pattern store: choose, see the chosen model's score, learn.

    As live routing does: by the prompt's cluster backed off to its task type, and every answer
    teaches both (`clusters=False`: by task type alone, to measure what the clusters add)."""
    store = PatternStore()
    rng = random.Random(seed)
    scores: list[float] = []
    costs: list[float] = []
    chosen: Counter[str] = Counter()
    for prompt in prompts:
        options = [Option(model, outcome.cost_usd) for model, outcome in prompt.results.items()]
        pattern = (cluster_key(prompt.cluster) if clusters else None) or prompt.pattern
        best = rank(
            store,
            pattern,
            options,
            cost_weight=cost_weight,
            latency_weight=latency_weight,
            rng=rng,
            backoff=prompt.pattern,
        )[0]
        model = str(best.key)  # the options above are keyed by model name
        outcome = prompt.results[model]
        for learned in prompt.patterns if clusters else [prompt.pattern]:
            store.observe(
                learned,
                model,
                quality=outcome.score,
                latency_ms=outcome.latency_ms,
                cost_usd=outcome.cost_usd,
            )
        scores.append(outcome.score)
        costs.append(outcome.cost_usd)
        chosen[model] += 1
    n = len(prompts)
    tail = scores[-max(1, n // 10) :]
    models = sorted({m for p in prompts for m in p.results})
    return Point(
        cost_weight=cost_weight,
        mean_score=sum(scores) / n,
        mean_cost_usd=sum(costs) / n,
        shares={m: chosen[m] / n for m in models},
        last_10pct_score=sum(tail) / len(tail),
        prompts=n,
    )


def baselines(prompts: list[Prompt]) -> dict[str, Any]:
    """Always-model-X (over the prompts that have X), random (its expectation) and the per-prompt
    oracle (the best score, the cheapest of equals)."""
    models = sorted({m for p in prompts for m in p.results})
    always = {}
    for model in models:
        have = [p.results[model] for p in prompts if model in p.results]
        always[model] = _summary([o.score for o in have], [o.cost_usd for o in have])
    random_scores = [sum(o.score for o in p.results.values()) / len(p.results) for p in prompts]
    random_costs = [sum(o.cost_usd for o in p.results.values()) / len(p.results) for p in prompts]
    oracle = [min(p.results.values(), key=lambda o: (-o.score, o.cost_usd)) for p in prompts]
    return {
        "always": always,
        "random": _summary(random_scores, random_costs),
        "oracle": _summary([o.score for o in oracle], [o.cost_usd for o in oracle]),
    }


def _summary(scores: list[float], costs: list[float]) -> dict[str, Any]:
    n = len(scores)
    return {
        "mean_score": round(sum(scores) / n, 6) if n else None,
        "mean_cost_usd": round(sum(costs) / n, 10) if n else None,
        "prompts": n,
    }


def replay(
    prompts: list[Prompt],
    cost_weights: tuple[float, ...] = DEFAULT_COST_WEIGHTS,
    *,
    seed: int = 0,
    clusters: bool = True,
) -> dict[str, Any]:
    """What `manage.py replay --json` prints."""
    return {
        "points": [replay_pass(prompts, w, seed=seed, clusters=clusters).as_dict() for w in cost_weights],
        "baselines": baselines(prompts),
    }


def plot(
    report: dict[str, Any], path: str | Path, *, title: str = "Learned routing: cost against quality"
) -> None:
    """Draw the cost–quality curve of the passes against the baselines (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7.5, 5), dpi=120)
    points = sorted(report["points"], key=lambda p: p["mean_cost_usd"])
    axes.plot(
        [p["mean_cost_usd"] for p in points],
        [p["mean_score"] for p in points],
        "o-",
        color="tab:blue",
        label="learned (one point per cost weight λ)",
    )
    for p in points:
        axes.annotate(
            f"λ={p['cost_weight']:g}",
            (p["mean_cost_usd"], p["mean_score"]),
            textcoords="offset points",
            xytext=(5, -12),
            fontsize=8,
        )
    base = report["baselines"]
    for model, summary in base["always"].items():
        axes.plot(summary["mean_cost_usd"], summary["mean_score"], "s", label=f"always {model}")
    axes.plot(
        base["random"]["mean_cost_usd"], base["random"]["mean_score"], "^", color="grey", label="random"
    )
    axes.plot(
        base["oracle"]["mean_cost_usd"],
        base["oracle"]["mean_score"],
        "*",
        color="gold",
        markersize=12,
        markeredgecolor="black",
        label="per-prompt oracle",
    )
    axes.set_xlabel("mean cost per prompt (USD)")
    axes.set_ylabel("mean score (0–1)")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
