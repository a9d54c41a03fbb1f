"""Classify a chat request into one of six task types, with a confidence.

A linear model over TF-IDF features (word unigrams and bigrams, character 3-5-grams, a few
structural flags), trained with scikit-learn by `make train-classifier` (routerapp/optimizer/training)
and shipped as `detector.npz`. Inference here is numpy only, because route() calls `detect` on every
request: the weights load once per process at import, and a prompt costs one pass over at most 2,300
characters of its latest turn (features.clip: long prompts are read at their start and end, where the
instruction usually is) and one small sparse dot product.

The features (routerapp/optimizer/features.py) read the latest user turn, with the system prompt and
the turn before it as context.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from routerapp.optimizer.features import features

TASK_TYPES = ("code", "math", "reasoning", "creative", "summarization", "qa")
ARTIFACT = Path(__file__).with_name("detector.npz")


@dataclass(frozen=True, slots=True)
class Detection:
    task_type: str
    confidence: float


class Classifier:
    """The shipped weights: vocabulary, idf and one weight row per feature."""

    def __init__(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as data:
            self.labels = tuple(str(x) for x in data["labels"])
            vocabulary = bytes(data["vocabulary"]).decode("utf-8").split("\x00")
            self.idf = data["idf"].astype(np.float64)
            self.weights = data["weights"].astype(np.float64)  # (features, labels)
            self.bias = data["bias"].astype(np.float64)
        self.index = {feature: i for i, feature in enumerate(vocabulary)}

    def probabilities(self, feats: list[str]) -> np.ndarray:
        ids = np.fromiter(map(self.index.get, feats, repeat(-1)), dtype=np.int64, count=len(feats))
        ids = ids[ids >= 0]
        if ids.size == 0:
            scores = self.bias
        else:
            unique, counts = np.unique(ids, return_counts=True)
            x = (1.0 + np.log(counts)) * self.idf[unique]  # sublinear tf, as trained
            x /= np.sqrt(x @ x)
            scores = x @ self.weights[unique] + self.bias
        exp = np.exp(scores - scores.max())
        return exp / exp.sum()

    def detect(self, messages: list[dict[str, Any]]) -> Detection:
        probabilities = self.probabilities(features(messages))
        best = int(probabilities.argmax())
        return Detection(self.labels[best], round(float(probabilities[best]), 3))


_classifier = Classifier(ARTIFACT)
assert _classifier.labels == TASK_TYPES, (
    "detector.npz was trained for other task types; run make train-classifier"
)


def detect(messages: list[dict[str, Any]]) -> Detection:
    """The task type of the conversation's latest user turn, and how sure the model is (0-1)."""
    return _classifier.detect(messages)


def as_messages(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The conversation of a `{"messages": [...]}` or `{"prompt": "..."}` object (classify, analyze).

    Raises ValueError saying what is wrong with it.
    """
    if not isinstance(item, dict):
        raise ValueError("expected a JSON object with a 'prompt' or 'messages' field")
    if "messages" in item:
        messages = item["messages"]
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            raise ValueError("'messages' must be a non-empty list of message objects")
        return messages
    prompt = item.get("prompt")
    if not isinstance(prompt, str):
        raise ValueError("expected a 'prompt' string or a 'messages' list")
    return [{"role": "user", "content": prompt}]
