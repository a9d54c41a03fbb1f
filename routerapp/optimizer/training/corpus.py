"""The labelled training conversations: generated from each type's templates, plus hand-written ones.

`build(seed)` is deterministic: the same seed gives the same corpus, so `make train-classifier`
reproduces the shipped weights. Conversations vary the way real traffic does: a system prompt or
none, earlier turns of another task before the latest one, follow-ups whose type comes from the
turn before, and surface noise (openers, closers, lower case, missing punctuation).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from routerapp.optimizer.training import coding, creative, maths, qa, reasoning, summarization
from routerapp.optimizer.training.common import GENERIC_SYSTEMS, LANGUAGES, TOPICS, decorate, fill

MODULES = {
    "code": coding,
    "math": maths,
    "reasoning": reasoning,
    "creative": creative,
    "summarization": summarization,
    "qa": qa,
}
HANDWRITTEN = Path(__file__).with_name("handwritten.jsonl")
# Hand-written examples are fewer and closer to how people really write: they count more.
HANDWRITTEN_REPEATS = 3

_REPLIES = (
    "Sure! Here is what I came up with.",
    "Here you go.",
    "Of course. Let me know if you want changes.",
    "I hope this helps!",
    "Certainly, here is a first version.",
)


def _prompt(rng: random.Random, task: str) -> str:
    generators = MODULES[task].GENERATORS
    generate = rng.choices([g for g, _ in generators], weights=[w for _, w in generators])[0]
    return decorate(rng, generate(rng))


def _system(rng: random.Random, task: str) -> str:
    if rng.random() < 0.75:
        return rng.choice(GENERIC_SYSTEMS)
    return fill(rng, rng.choice(MODULES[task].SYSTEMS), lang=LANGUAGES)


def conversation(rng: random.Random, task: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    module = MODULES[task]
    if hasattr(module, "SYSTEM_LED") and rng.random() < 0.1:
        # The system prompt carries the task; the user sends only the material.
        system = fill(
            rng, rng.choice(module.SYSTEM_LED), lang=("French", "English", "German", "Spanish", "Python")
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": module.material(rng)}]
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": _system(rng, task)})
    roll = rng.random()
    if roll < 0.07:
        # A follow-up: the latest turn alone is vague, the turn before says what it is about.
        messages.append({"role": "user", "content": _prompt(rng, task)})
        messages.append({"role": "assistant", "content": rng.choice(_REPLIES)})
        follow_up = fill(
            rng,
            rng.choice(MODULES[task].FOLLOW_UPS),
            lang=LANGUAGES,
            a="7",
            big="250",
            country=("Spain", "Japan"),
        )
        messages.append({"role": "user", "content": follow_up})
        return messages
    if roll < 0.25:
        # Earlier turns about something else: the latest turn decides.
        for _ in range(rng.randint(1, 2)):
            other = rng.choice(list(MODULES))
            messages.append({"role": "user", "content": _prompt(rng, other)})
            messages.append({"role": "assistant", "content": rng.choice(_REPLIES) + " " + rng.choice(TOPICS)})
    messages.append({"role": "user", "content": _prompt(rng, task)})
    return messages


def handwritten() -> list[tuple[list[dict[str, Any]], str]]:
    rows = []
    for line in HANDWRITTEN.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        messages = row.get("messages") or [{"role": "user", "content": row["prompt"]}]
        rows.append((messages, row["task_type"]))
    return rows


def build(seed: int = 11, per_type: int = 2500) -> list[tuple[list[dict[str, Any]], str]]:
    """Every training conversation with its label."""
    rng = random.Random(seed)
    corpus = [(conversation(rng, task), task) for task in MODULES for _ in range(per_type)]
    corpus += handwritten() * HANDWRITTEN_REPEATS
    return corpus
