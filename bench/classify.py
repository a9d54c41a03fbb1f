"""Benchmark task-type detection: latency per prompt (min/p50/p99/max) on one core, by prompt length.

detect() includes the prompt's cluster (routerapp.optimizer.clusters); the last table times that
step alone (the gather and product over the vector detection computed), to show what it adds.

    .venv/bin/python bench/classify.py [--rounds 20] [--cpu 0]

The prompts are the dev set (tests/data/detect_dev.jsonl) plus long pastes built from it (about 2,000,
6,000, 50,000 and 200,000 characters), so that the p99 covers the longest prompts the router sees;
detect() reads at most 2,300 characters of the latest turn (`clip` in routerapp/optimizer/features.py).
Each prompt is timed separately with perf_counter_ns (wall time) and thread_time_ns (CPU time) after
a warm-up, garbage collection off during the timed loop. Numbers vary with the machine and its load:
run it on a quiet machine (`taskset` via --cpu pins it to one core); on a loaded one, the CPU-time
table is the fairer one.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from routerapp.optimizer import detect as detection  # noqa: E402
from routerapp.optimizer.detect import detect  # noqa: E402


def prompts() -> list[list[dict]]:
    rows = [
        json.loads(line) for line in (ROOT / "tests/data/detect_dev.jsonl").read_text().splitlines() if line
    ]
    conversations = [r.get("messages") or [{"role": "user", "content": r["prompt"]}] for r in rows]
    text = " ".join(r.get("prompt", "") for r in rows)
    for size in (2_000, 6_000, 50_000, 200_000):
        paste = (text * (size // len(text) + 1))[:size]
        conversations.append([{"role": "user", "content": "Summarize the following text:\n\n" + paste}])
    return conversations


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cpu", type=int, help="pin to this CPU (Linux)")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    conversations = prompts()
    for messages in conversations:
        detect(messages)
    # Two clocks per call: wall time (perf_counter) is what a request waits, and includes any time the
    # scheduler gave the core to another process; CPU time (thread_time) is what the classifier itself
    # used, which a loaded machine inflates only through cache misses.
    buckets = ("< 500 chars", "500-5,000", "> 5,000")
    wall: dict[str, list[float]] = {name: [] for name in buckets}
    cpu: dict[str, list[float]] = {name: [] for name in buckets}
    gc.disable()
    for _ in range(args.rounds):
        for messages in conversations:
            size = sum(len(str(m.get("content", ""))) for m in messages)
            bucket = buckets[0] if size < 500 else buckets[1] if size <= 5000 else buckets[2]
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            detect(messages)
            cpu[bucket].append((time.thread_time_ns() - started_cpu) / 1e6)
            wall[bucket].append((time.perf_counter_ns() - started) / 1e6)
    gc.enable()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"detect(): {len(conversations)} prompts x {args.rounds} rounds, load average {load} ({os.cpu_count()} cores)"
    )
    for clock, by_length in (("wall", wall), ("CPU", cpu)):
        everything = [t for times in by_length.values() for t in times]
        print(
            f"\n{clock} time {'prompts':<9}{'n':>7}{'min ms':>10}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}"
        )
        for name, times in [*by_length.items(), ("all", everything)]:
            print(
                f"{name:<19}{len(times):>7}{min(times):>10.3f}{statistics.median(times):>10.3f}"
                f"{percentile(times, 0.99):>10.3f}{max(times):>10.3f}"
            )
        print(f"overall p99 ({clock} time): {percentile(everything, 0.99):.3f} ms (target: 1 ms on one core)")
    cluster_step(conversations, args.rounds)
    return 0


def cluster_step(conversations: list[list[dict]], rounds: int) -> None:
    """The cluster assignment alone, on the vectors detect() computes (CPU time per prompt)."""
    clusters, classifier = detection.clusters, detection._classifier
    if clusters is None:
        print("\nno clusters loaded (clusters.npz missing or fitted to another detector)")
        return
    inputs = []
    for messages in conversations:
        unique, x = classifier.vector(classifier.ids(detection.parts(messages)))
        inputs.append((detect(messages).task_type, unique, x))
    times = []
    gc.disable()
    for _ in range(rounds):
        for task, unique, x in inputs:
            started = time.thread_time_ns()
            clusters.assign(task, unique, x)
            times.append((time.thread_time_ns() - started) / 1e6)
    gc.enable()
    print(
        f"\ncluster step alone ({len(clusters.info)} clusters), CPU time: min {min(times):.4f}  "
        f"p50 {statistics.median(times):.4f}  p99 {percentile(times, 0.99):.4f}  max {max(times):.4f} ms "
        "(target: well under 0.05 ms)"
    )


if __name__ == "__main__":
    sys.exit(main())
