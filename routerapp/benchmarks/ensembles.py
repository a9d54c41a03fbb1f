"""`bench ensembles`: do ensembles beat their members, and is their confidence calibrated?

Arithmetic word problems with a known final number (generated here, the answer computed here, not
by the simulator) are answered by simulated members of known accuracy (the simulated provider's
`quality`: the chance an answer is right; a wrong one is off by 1 or 2). Everything runs in this
process through route(), on a routing table built here, so nothing touches the configured database
(each request gets its own history draft, which is read and dropped).

Two question sets that never overlap: `fit` (calibration is fitted on it, `--fit`) and `eval`
(everything reported). The report: accuracy of vote / best / synthesize beside their members, the
confidence's expected calibration error and AUROC, cost and latency per question; `--plot PATH`
draws the reliability diagram, `--json PATH` writes the numbers.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from routerapp import ensembling
from routerapp.conf import router_settings
from routerapp.observability.drafts import RecordDraft
from routerapp.optimizer.quality import final_number
from routerapp.providers import closing_clients
from routerapp.providers.base import ChatRequest, ProviderConfig
from routerapp.routing import route
from routerapp.routing.completion import Completion
from routerapp.routing.table import DeploymentInfo, EnsembleInfo, GroupInfo, RoutingTable
from routerapp.schema import DeploymentSettings

help = "Ensembles on simulated members of known accuracy: accuracy, calibration (ECE, AUROC), cost, latency."

COMMAND = "python manage.py bench ensembles"

# Simulated members: accuracy, latency (ms) and price ($ per million tokens in / out).
MEMBERS = {
    "acc70-a": (0.70, 20, 0.15, 0.60),
    "acc70-b": (0.70, 35, 0.50, 1.50),
    "acc70-c": (0.70, 50, 1.00, 3.00),
    "acc60": (0.60, 25, 0.10, 0.40),
    "judge80": (0.80, 40, 2.50, 10.00),
    # Only in the fit set's ensembles, so calibration sees more than the reported mixes.
    "acc50": (0.50, 15, 0.10, 0.40),
    "acc80": (0.80, 30, 0.50, 1.50),
    "acc90": (0.90, 45, 2.00, 8.00),
}
TRIO = ("acc70-a", "acc70-b", "acc70-c")
REPORTED = {
    "trio-vote": EnsembleInfo("trio-vote", TRIO, "vote", min_members=1),
    "trio-best": EnsembleInfo("trio-best", TRIO, "best", min_members=1),
    "trio-synthesize": EnsembleInfo("trio-synthesize", TRIO, "synthesize", judge="judge80", min_members=1),
    "self5-vote": EnsembleInfo("self5-vote", ("acc60",) * 5, "vote", min_members=1),
}
FIT_ONLY = {
    "mixed-vote": EnsembleInfo("mixed-vote", ("acc50", "acc70-a", "acc90"), "vote"),
    "strong3-vote": EnsembleInfo("strong3-vote", ("acc90",) * 3, "vote"),
    "weak5-vote": EnsembleInfo("weak5-vote", ("acc50",) * 5, "vote"),
    "pair-vote": EnsembleInfo("pair-vote", ("acc60", "acc80"), "vote"),
    "single60": EnsembleInfo("single60", ("acc60",), "vote"),
    "single80": EnsembleInfo("single80", ("acc80",), "vote"),
    "mixed-synthesize": EnsembleInfo(
        "mixed-synthesize", ("acc50", "acc70-a", "acc90"), "synthesize", judge="acc80"
    ),
}
FIT_RUNS = ("trio-vote", "self5-vote", "trio-synthesize", *FIT_ONLY)


def add_arguments(parser) -> None:
    parser.add_argument("--questions", "-n", type=int, default=1000, help="Questions per set (default 1000).")
    parser.add_argument("--concurrency", "-c", type=int, default=16, help="Questions in flight (default 16).")
    parser.add_argument(
        "--fit",
        action="store_true",
        help=f"Refit the confidence calibration on the fit set and write {ensembling.CALIBRATION_FILE.name}.",
    )
    parser.add_argument(
        "--plot", dest="plot_path", default=None, help="Write the reliability diagram (PNG) here."
    )
    parser.add_argument("--json", dest="json_path", default=None, help="Write the results (JSON) here.")


# Questions.

_NAMES = ("Mia", "Tom", "Ava", "Leo", "Zoe", "Sam", "Ivy", "Max", "Eli", "Ada")
_TEMPLATES = (
    (
        "{n} has {a} stickers, buys {b} packs of {c} stickers and gives {d} away. How many stickers "
        "does {n} have now? That is {a} plus {b} times {c} minus {d}.",
        lambda a, b, c, d: a + b * c - d,
    ),
    (
        "A baker makes {b} trays of {c} rolls and sells {d} of them; {a} rolls were left from "
        "yesterday. How many rolls are there now? Work it out: {b} times {c} minus {d} plus {a}.",
        lambda a, b, c, d: b * c - d + a,
    ),
    (
        "{n} saves {c} dollars a week for {b} weeks, had {a} dollars before and spends {d}. How much "
        "money is left? Compute {a} plus {c} times {b} minus {d}.",
        lambda a, b, c, d: a + c * b - d,
    ),
    (
        "A library has {a} books, receives {b} boxes of {c} books, then lends out {d}. How many books "
        "are on the shelves? That is {a} plus {b} times {c} minus {d}.",
        lambda a, b, c, d: a + b * c - d,
    ),
)


def make_questions(split: str, count: int) -> list[tuple[str, float]]:
    """`count` word problems with their answers; the split names the seed, so fit and eval differ."""
    rng = random.Random(f"bench-ensembles-{split}")
    out: list[tuple[str, float]] = []
    seen: set[str] = set()
    while len(out) < count:
        template, solve = rng.choice(_TEMPLATES)
        a, b, c, d = rng.randint(10, 99), rng.randint(2, 9), rng.randint(3, 24), rng.randint(1, 20)
        text = template.format(n=rng.choice(_NAMES), a=a, b=b, c=c, d=d)
        if text not in seen:
            seen.add(text)
            out.append((text, float(solve(a, b, c, d))))
    return out


# The routing table: one simulated provider, a model per member, the ensembles.


def build_table() -> RoutingTable:
    options = {
        "jitter_ms": 5,
        "context_window": 100_000,
        "models": {
            name: {"quality": acc, "latency_ms": latency} for name, (acc, latency, _, _) in MEMBERS.items()
        },
    }
    provider = ProviderConfig(id=1, name="bench-sim", kind="simulated", options=options)
    groups, deployments = {}, {}
    for i, (name, (_, _, price_in, price_out)) in enumerate(MEMBERS.items(), 1):
        deployment = DeploymentInfo(
            id=i,
            group=name,
            provider=provider,
            upstream_model=name,
            settings=DeploymentSettings(input_cost_per_mtok=price_in, output_cost_per_mtok=price_out),
        )
        deployments[i] = deployment
        groups[name] = GroupInfo(
            name=name, strategy="simple-shuffle", deployments=(deployment,), num_retries=0
        )
    return RoutingTable(version=0, groups=groups, deployments=deployments, ensembles={**REPORTED, **FIT_ONLY})


# Running a set of questions through one ensemble.


@dataclass
class Answer:
    correct: bool
    confidence: float
    latency_ms: float
    cost_usd: float
    members: list[dict[str, Any]]
    truth: float
    winner: str | None
    judge: dict[str, Any] | None = None


@dataclass
class Run:
    ensemble: str
    logprobs: bool
    answers: list[Answer] = field(default_factory=list)
    wall_s: float = 0.0


def _right(text: str, truth: float) -> bool:
    number = final_number(text)
    return number is not None and abs(number - truth) < 1e-6


async def _ask(table: RoutingTable, ensemble: str, question: str, truth: float, logprobs: bool) -> Answer:
    params: dict[str, Any] = {"temperature": 0.7}
    if logprobs:
        params["logprobs"] = True
    request = ChatRequest(model=ensemble, messages=[{"role": "user", "content": question}], params=params)
    draft = RecordDraft(request_id=request.request_id, model=ensemble, api_key_id=None, trace=None)
    completion = await route(request, key=None, table=table, draft=draft)
    assert isinstance(completion, Completion) and draft.ensemble is not None
    extension = completion.body["ensemble"]
    members = draft.ensemble["members"]
    for member in members:
        member["correct"] = _right(member.get("answer") or "", truth)
    chosen = extension["chosen"]
    return Answer(
        correct=_right(completion.result.content, truth),
        confidence=extension["confidence"],
        latency_ms=draft.latency_ms,
        cost_usd=draft.cost_usd,
        members=members,
        truth=truth,
        winner=members[chosen]["label"] if chosen is not None else None,
        judge=draft.ensemble.get("judge"),
    )


async def run_set(
    table: RoutingTable,
    ensemble: str,
    items: list[tuple[str, float]],
    concurrency: int,
    logprobs: bool = False,
) -> Run:
    gate = asyncio.Semaphore(concurrency)

    async def one(question: str, truth: float) -> Answer:
        async with gate:
            return await _ask(table, ensemble, question, truth, logprobs)

    began = time.perf_counter()
    answers = await asyncio.gather(*(one(q, t) for q, t in items))
    return Run(ensemble, logprobs, list(answers), time.perf_counter() - began)


# Measures.


def ece(pairs: list[tuple[float, bool]], bins: int = 10) -> float:
    """Expected calibration error over equal-width confidence bins."""
    total = len(pairs)
    error = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(c, y) for c, y in pairs if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if inside:
            mean_c = sum(c for c, _ in inside) / len(inside)
            accuracy = sum(y for _, y in inside) / len(inside)
            error += len(inside) / total * abs(mean_c - accuracy)
    return error


def auroc(pairs: list[tuple[float, bool]]) -> float | None:
    """The chance a right answer has a higher confidence than a wrong one (ties count half)."""
    right = sorted(c for c, y in pairs if y)
    wrong = sorted(c for c, y in pairs if not y)
    if not right or not wrong:
        return None
    wins = 0.0
    for c in right:
        below = _count_below(wrong, c)
        equal = _count_below(wrong, c, inclusive=True) - below
        wins += below + equal / 2
    return wins / (len(right) * len(wrong))


def _count_below(values: list[float], x: float, *, inclusive: bool = False) -> int:
    return (bisect.bisect_right if inclusive else bisect.bisect_left)(values, x)


def summarize(run: Run) -> dict[str, Any]:
    answers = run.answers
    pairs = [(a.confidence, a.correct) for a in answers]
    first = [a.members[0] for a in answers]
    latencies = [a.latency_ms for a in answers]
    slowest = [max(m["latency_ms"] for m in a.members) for a in answers]
    summed = [sum(m["latency_ms"] for m in a.members) for a in answers]
    winners: dict[str, int] = {}
    for a in answers:
        winners[a.winner or "judge"] = winners.get(a.winner or "judge", 0) + 1
    unanimous = sum(
        len({m.get("answer") and final_number(m["answer"]) for m in a.members}) == 1 for a in answers
    )
    return {
        "ensemble": run.ensemble,
        "logprobs": run.logprobs,
        "questions": len(answers),
        "accuracy": sum(a.correct for a in answers) / len(answers),
        "first_member_accuracy": sum(m["correct"] for m in first) / len(first),
        "member_accuracy": {
            label: sum(a.members[i]["correct"] for a in answers) / len(answers)
            for i, label in enumerate(m["label"] for m in answers[0].members)
        },
        "mean_confidence": statistics.fmean(a.confidence for a in answers),
        "ece": ece(pairs),
        "auroc": auroc(pairs),
        "agreement_rate": unanimous / len(answers),
        "winners": winners,
        "cost_usd_per_question": statistics.fmean(a.cost_usd for a in answers),
        "member_cost_usd": {
            label: statistics.fmean(a.members[i]["cost_usd"] for a in answers)
            for i, label in enumerate(m["label"] for m in answers[0].members)
        },
        "latency_ms_mean": statistics.fmean(latencies),
        "latency_ms_p50": statistics.median(latencies),
        "slowest_member_ms_mean": statistics.fmean(slowest),
        "members_summed_ms_mean": statistics.fmean(summed),
        "wall_s": run.wall_s,
    }


# Fitting the calibration.


def fit_calibration(runs: list[Run]) -> dict[str, Any]:
    """Logistic regression of "this answer is right" on its features: members' answers (every kept
    member answer of the fit set is a sample) and judges' answers, each with and without log-probs.
    Quality multiplies the result at run time (see ensembling.confidence)."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError as exc:  # a bench/dev dependency only: run time just applies the weights
        raise CommandError("--fit needs scikit-learn: pip install -e '.[bench]'") from exc
    samples: dict[str, tuple[list[list[float]], list[int]]] = {}
    for run in runs:
        suffix = "with_logprobs" if run.logprobs else "without_logprobs"
        for answer in run.answers:
            if answer.judge is not None and answer.judge.get("features") is not None:
                x, y = samples.setdefault(f"judge_{suffix}", ([], []))
                x.append(answer.judge["features"])
                y.append(int(answer.correct))
                continue
            x, y = samples.setdefault(suffix, ([], []))
            for member in answer.members:
                if member.get("features") is not None:
                    x.append(member["features"])
                    y.append(int(member["correct"]))
    models = {}
    for name, (x, y) in sorted(samples.items()):
        if "without" in name:
            x = [[*row[:3], 0.0] for row in x]
        model = LogisticRegression(C=10.0, max_iter=1000).fit(x, y)
        models[name] = {
            "weights": [round(float(w), 6) for w in model.coef_[0]],
            "bias": round(float(model.intercept_[0]), 6),
        }
    return {
        "features": ["agreement", "margin", "single", "mean_logprob"],
        "formula": "confidence = quality * sigmoid(bias + sum(weights * features))",
        "models": models,
        "fitted": {
            "command": f"{COMMAND} --fit",
            "samples": {name: len(y) for name, (_, y) in sorted(samples.items())},
            "set": "fit (bench-ensembles-fit questions; never the eval set)",
            "runs": [f"{r.ensemble}{' +logprobs' if r.logprobs else ''}" for r in runs],
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }


# Plot.


def draw_reliability(path: str, runs: dict[str, Run]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise CommandError("--plot needs matplotlib: pip install -e '.[bench]'") from exc
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(6, 7.5), gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    for name, run in runs.items():
        pairs = [(a.confidence, a.correct) for a in run.answers]
        xs, ys = [], []
        for b in range(10):
            inside = [(c, y) for c, y in pairs if b / 10 <= c < (b + 1) / 10 or (b == 9 and c == 1.0)]
            if len(inside) >= 5:
                xs.append(sum(c for c, _ in inside) / len(inside))
                ys.append(sum(y for _, y in inside) / len(inside))
        ax.plot(xs, ys, marker="o", label=f"{name} (ECE {ece(pairs):.3f})")
        hist.hist([c for c, _ in pairs], bins=20, range=(0, 1), alpha=0.5, label=name)
    ax.set_ylabel("fraction right")
    ax.set_title("Ensemble confidence: reliability (eval set)")
    ax.legend(loc="upper left", fontsize=8)
    hist.set_xlabel("confidence of the merged answer")
    hist.set_ylabel("answers")
    fig.text(0.01, 0.005, f"made by: {COMMAND} --plot {path}", fontsize=7, color="grey")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


# The command.


def run(
    command, *, questions: int, concurrency: int, fit: bool, plot_path: str | None, json_path: str | None, **_
) -> None:
    if questions < 1:
        raise CommandError("--questions must be at least 1")
    # Member answers must be kept whole in the drafts this bench reads back.
    router_settings()["STORE_BODIES"] = "full"
    out = command.stdout
    table = build_table()
    if fit:
        out.write(f"fitting the calibration on {questions} fit questions ...")
        fit_set = make_questions("fit", questions)
        fit_plan = [(n, lp) for n in FIT_RUNS for lp in (False, True)]
        runs = asyncio.run(closing_clients(_runs(table, fit_set, concurrency, fit_plan)))
        fitted = fit_calibration(runs)
        ensembling.CALIBRATION_FILE.write_text(_dumps(fitted) + "\n")
        ensembling.CALIBRATION = ensembling.load_calibration()
        out.write(f"wrote {ensembling.CALIBRATION_FILE} ({fitted['fitted']['samples']})")
    eval_set = make_questions("eval", questions)
    plan = [(name, False) for name in REPORTED] + [
        (name, True) for name in ("trio-vote", "self5-vote", "trio-synthesize")
    ]
    runs = asyncio.run(closing_clients(_runs(table, eval_set, concurrency, plan)))
    results = [summarize(r) for r in runs]
    _report(out, results)
    if plot_path:
        draw_reliability(
            plot_path, {r.ensemble: r for r in runs if not r.logprobs and r.ensemble.endswith("vote")}
        )
        out.write(f"wrote {plot_path}")
    if json_path:
        Path(json_path).write_text(
            _dumps({"command": COMMAND, "questions": questions, "results": results}) + "\n"
        )
        out.write(f"wrote {json_path}")


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2)


async def _runs(
    table: RoutingTable, items: list[tuple[str, float]], concurrency: int, plan: list[tuple[str, bool]]
) -> list[Run]:
    return [await run_set(table, name, items, concurrency, logprobs) for name, logprobs in plan]


def _report(out, results: list[dict[str, Any]]) -> None:
    header = (
        f"{'ensemble':<18} {'logprobs':<8} {'acc':>6} {'1st':>6} {'conf':>6} {'ECE':>6} {'AUROC':>6} "
        f"{'agree':>6} {'$/q':>10} {'p50 ms':>7} {'slowest':>8} {'sum':>7}"
    )
    out.write(header)
    out.write("-" * len(header))
    for r in results:
        auc = f"{r['auroc']:.3f}" if r["auroc"] is not None else "-"
        out.write(
            f"{r['ensemble']:<18} {'yes' if r['logprobs'] else 'no':<8} {r['accuracy']:>6.1%} "
            f"{r['first_member_accuracy']:>6.1%} {r['mean_confidence']:>6.3f} {r['ece']:>6.3f} {auc:>6} "
            f"{r['agreement_rate']:>6.1%} {r['cost_usd_per_question']:>10.7f} {r['latency_ms_p50']:>7.1f} "
            f"{r['slowest_member_ms_mean']:>8.1f} {r['members_summed_ms_mean']:>7.1f}"
        )
    out.write("")
    out.write(
        "acc: merged answer right; 1st: the first member alone; agree: all members gave the same number;"
    )
    out.write("slowest / sum: mean latency of the slowest member / of all members added up (ms).")
    for r in results:
        if not r["logprobs"]:
            members = ", ".join(
                f"{label} {acc:.1%} ${r['member_cost_usd'][label]:.7f}"
                for label, acc in r["member_accuracy"].items()
            )
            out.write(f"{r['ensemble']}: members {members}; winners {r['winners']}")
