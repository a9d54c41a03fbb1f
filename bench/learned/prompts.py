"""Mixed prompts of six task types for the learned-routing benchmark and replay workload.

Seeded and self-written: templates with words and numbers drawn from small lists, so each prompt
is a different text (the simulated provider draws an answer's quality from the text) while its
task type stays clear.
"""

from __future__ import annotations

import random

TYPES = ("code", "math", "reasoning", "creative", "summarization", "qa")

_THINGS = [
    "list",
    "dictionary",
    "string",
    "tree",
    "graph",
    "queue",
    "matrix",
    "file",
    "date",
    "invoice",
    "order",
    "user",
]
_ACTIONS = [
    "removes duplicates from a {t}",
    "reverses a {t}",
    "counts the items in a {t}",
    "merges two {t}s",
    "validates a {t}",
    "sorts a {t} by its keys",
    "finds the largest element of a {t}",
]
_LANGS = ["python", "javascript", "python", "go", "rust"]
_TOPICS = [
    "sea",
    "autumn",
    "city",
    "mountains",
    "rain",
    "coffee",
    "trains",
    "winter",
    "friendship",
    "robots",
    "the",
    "moon",
    "gardens",
]
_FORMS = ["a short poem", "a haiku", "a limerick", "a short story", "a slogan"]
_PLACES = ["Paris", "Lisbon", "Oslo", "Cairo", "Lima", "Hanoi", "Nairobi", "Quito", "Seoul", "Dublin"]
_FACTS = [
    "What is the capital of the country whose largest city is {p}?",
    "Who was the first person to describe the climate of {p}?",
    "What language is spoken in {p}?",
    "When was the main university of {p} founded?",
    "What is the population of {p}?",
]
_SUBJECTS = ["council", "school", "hospital", "museum", "library", "company", "team", "club"]


def prompt(task: str, rng: random.Random) -> str:
    if task == "code":
        action = rng.choice(_ACTIONS).format(t=rng.choice(_THINGS))
        return f"Write a {rng.choice(_LANGS)} function that {action}."
    if task == "math":
        a, b, c = rng.randint(11, 99), rng.randint(11, 99), rng.randint(2, 60)
        op = rng.choice(["+", "-"])
        return f"What is {a} * {b} {op} {c}?"
    if task == "reasoning":
        x, y, z = rng.sample(["cats", "birds", "engineers", "poets", "farmers", "pilots", "dancers"], 3)
        return (
            f"If all {x} are {y} and some {y} are {z}, can we conclude that some {x} are {z}? "
            "Think step by step and explain your reasoning."
        )
    if task == "creative":
        return f"Write {rng.choice(_FORMS)} about {rng.choice(_TOPICS)}."
    if task == "summarization":
        subject, place = rng.choice(_SUBJECTS), rng.choice(_PLACES)
        n = rng.randint(3, 40)
        sentences = [
            f"The {subject} in {place} met on Tuesday to discuss a plan for {n} new projects.",
            f"Members argued about the budget, the schedule and the {rng.choice(_TOPICS)}.",
            f"Several residents said the {subject} had ignored their letters for {n} weeks.",
            f"The chair promised a decision next month after a public survey of {n * 10} people.",
            "Critics called the plan rushed, while supporters said it was long overdue.",
            f"A final vote is expected before the end of the year, the {subject} said.",
        ]
        rng.shuffle(sentences)
        return "Summarize the following article:\n\n" + " ".join(sentences * 2)
    if task == "qa":
        return rng.choice(_FACTS).format(p=rng.choice(_PLACES))
    raise ValueError(task)


def mixed(n: int, seed: int) -> list[tuple[str, str]]:
    """`n` (task type, prompt) pairs, types in random order, evenly mixed."""
    rng = random.Random(seed)
    return [(task, prompt(task, rng)) for task in (rng.choice(TYPES) for _ in range(n))]
