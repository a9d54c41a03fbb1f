"""Build the replay workload: mixed prompts, each answered by every simulated model, scored.

    .venv/bin/python bench/learned/make_workload.py            # writes bench/learned/workload.jsonl

Each answer comes from the simulated provider (routerapp.providers.simulated, no network) with the
options of bench/learned/models.py; its score is 1 when the simulator made a good answer and 0 when
it made a degraded one, its cost the simulator's token usage at the model's price.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent.parent)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routerapp.settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402
import orjson  # noqa: E402
from models import MODELS  # noqa: E402
from prompts import mixed  # noqa: E402

from routerapp.providers.base import ChatRequest, ProviderConfig, Timeouts  # noqa: E402
from routerapp.providers.simulated import SimulatedAdapter  # noqa: E402


async def build(n: int, seed: int) -> list[dict]:
    async with httpx.AsyncClient() as client:
        adapters = {
            name: SimulatedAdapter(
                ProviderConfig(
                    id=i,
                    name=f"sim-{name}",
                    kind="simulated",
                    options={"seed": seed, "latency_ms": 0, "jitter_ms": 0, "quality": spec["quality"]},
                ),
                client,
            )
            for i, (name, spec) in enumerate(MODELS.items())
        }
        lines = []
        for index, (task, text) in enumerate(mixed(n, seed)):
            messages = [{"role": "user", "content": text}]
            results = {}
            for name, adapter in adapters.items():
                answer = await adapter.complete(ChatRequest(model=name, messages=messages), name, Timeouts())
                inp, out = MODELS[name]["price"]
                cost = (answer.usage.prompt_tokens * inp + answer.usage.completion_tokens * out) / 1e6
                good = answer.body["x_simulated"]["good"]
                results[name] = {"score": 1.0 if good else 0.0, "cost_usd": round(cost, 9)}
            lines.append({"id": f"q{index + 1}", "task": task, "prompt": text, "results": results})
        return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(HERE / "workload.jsonl"))
    args = parser.parse_args()
    lines = asyncio.run(build(args.prompts, args.seed))
    Path(args.out).write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    print(f"{len(lines)} prompts written to {args.out}")


if __name__ == "__main__":
    main()
