"""Classify a chat request into one of six task types, with a confidence.

A linear model over TF-IDF features (word unigrams and bigrams, character 3-5-grams, a few
structural flags), trained with scikit-learn by `make train-classifier` (routerapp/optimizer/training)
and shipped as `detector.npz`. Inference here is numpy only, because every request is detected: the
weights load once per process (`model()`, on first use), and a prompt costs one pass over at most 2,300
characters of its latest turn (features.clip: long prompts are read at their start and end, where the
instruction usually is) and one small sparse dot product.

The features (routerapp/optimizer/features.py) read the latest user turn, with the system prompt and
the turn before it as context.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from routerapp.optimizer import clusters as clustering
from routerapp.optimizer.features import CHAR_SIZES, WORD_PREFIXES, Parts, char_grams, parts

TASK_TYPES = ("code", "math", "reasoning", "creative", "summarization", "qa")
ARTIFACT = Path(__file__).with_name("detector.npz")


@dataclass(frozen=True, slots=True)
class Detection:
    task_type: str
    confidence: float
    # The prompt cluster within the task type (routerapp.optimizer.clusters); None without one.
    cluster: int | None = None


# A 64-bit polynomial hash of a character n-gram's code points: how the Classifier finds character
# n-grams in its vocabulary without building them as strings (numpy hashes every n-gram of a text
# at once, a sliding window times a vector of powers). 64 bits over ~70k n-grams: a false match is a
# ~1e-14 chance per lookup. The size is part of the hash, so n-grams of different sizes never meet.
_PRIME = 0x100000001B3
_POWERS = {
    size: np.array([pow(_PRIME, size - 1 - j, 2**64) for j in range(size)], dtype=np.uint64)
    for size in CHAR_SIZES
}
_SEEDS = {size: np.uint64(size * pow(_PRIME, size, 2**64) % 2**64) for size in CHAR_SIZES}


def _gram_hashes(windows: np.ndarray) -> np.ndarray:
    """The hash of each row of code points (uint64 arithmetic wraps: the hash is modulo 2**64)."""
    size = windows.shape[1]
    return windows @ _POWERS[size] + _SEEDS[size]


def _text_gram_hashes(text: str) -> list[np.ndarray]:
    codes = _code_points(text)
    return [_gram_hashes(sliding_window_view(codes, size)) for size in CHAR_SIZES if codes.size >= size]


SHORT_TEXT = 160


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


class Classifier:
    """The shipped weights: vocabulary, idf and one weight row per feature.

    A request's features are looked up from their parts (features.Parts) rather than spelled out as
    strings first: words through one table per prefix (bigrams keyed by token pairs, whose string
    hashes Python has already computed), character n-grams through their hashes. The ids found are
    exactly those of `features()`'s strings (tests/optimizer/test_detect.py checks it), at about
    half the cost for a long prompt.
    """

    def __init__(self, path: Path) -> None:
        with np.load(path, allow_pickle=False) as data:
            self.labels = tuple(str(x) for x in data["labels"])
            self._vocabulary = data["vocabulary"]  # NUL-separated UTF-8, for `index`
            vocabulary = bytes(self._vocabulary).decode("utf-8").split("\x00")
            self.fingerprint = clustering.fingerprint(data["vocabulary"], data["idf"])
            # Kept as shipped (float32: half the memory of float64, 2.6 MB less per process); the
            # rows a prompt gathers are widened to float64 before any arithmetic, so every sum is
            # what it would be over float64 copies of the whole tables.
            self.idf = data["idf"]
            self.weights = data["weights"]  # (features, labels)
            self.bias = data["bias"].astype(np.float64)
        # What requests look up by string: character n-grams (of a short text) and flags. Word
        # features are found through the tables below; the full vocabulary index (`index`) is
        # built only for training and the clusters' load, not kept in the server (~2 MB).
        self._grams = {f: i for i, f in enumerate(vocabulary) if len(f) in CHAR_SIZES or f.startswith("#")}
        self._unigrams: dict[str, dict[str, int]] = {prefix: {} for prefix in WORD_PREFIXES}
        self._bigrams: dict[str, dict[tuple[str, str], int]] = {prefix: {} for prefix in WORD_PREFIXES}
        # A string may be several kinds of feature at once ("wha": the word "ha", or the 3-gram
        # "wha"): it goes in every table it could be found through, under its one id.
        for i, feature in enumerate(vocabulary):
            for prefix in WORD_PREFIXES:
                if feature.startswith(prefix) and len(feature) > len(prefix):
                    rest = feature[len(prefix) :]
                    first, space, second = rest.partition(" ")
                    if not space:
                        self._unigrams[prefix][rest] = i
                    elif first and second and " " not in second:
                        self._bigrams[prefix][(first, second)] = i
        hashes, ids = [], []
        for size in CHAR_SIZES:
            grams = [(i, f) for i, f in enumerate(vocabulary) if len(f) == size]
            if grams:
                codes = _code_points("".join(f for _, f in grams)).reshape(len(grams), size)
                hashes.append(_gram_hashes(codes))
                ids.append(np.array([i for i, _ in grams], dtype=np.int64))
        all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        order = np.argsort(all_hashes)
        self._gram_hashes = all_hashes[order]
        self._gram_ids = (np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64))[order]

    @functools.cached_property
    def index(self) -> dict[str, int]:
        """Every feature's id: what training's spelled-out features are looked up in."""
        return self.vocabulary_index()

    def vocabulary_index(self) -> dict[str, int]:
        """A new {feature: id} of the whole vocabulary (not kept: see `index`)."""
        vocabulary = bytes(self._vocabulary).decode("utf-8").split("\x00")
        return {feature: i for i, feature in enumerate(vocabulary)}

    def ids(self, p: Parts) -> np.ndarray:
        """The vocabulary ids of a conversation's features (repeats included; unknown ones left out)."""
        found, hashed = self._found(p)
        ids = np.array(found, dtype=np.int64)
        return ids if hashed is None else np.concatenate([ids, hashed])

    def _found(self, p: Parts) -> tuple[list[int], np.ndarray | None]:
        """`ids` in two parts: those looked up one by one, and those found by hash (None if none)."""
        found: list[int] = []
        for prefix, tokens, bigrams in p.words:
            unigrams = self._unigrams[prefix]
            found += [i for t in tokens if (i := unigrams.get(t)) is not None]
            if bigrams:
                pairs = self._bigrams[prefix]
                found += [
                    i for pair in zip(tokens, tokens[1:], strict=False) if (i := pairs.get(pair)) is not None
                ]
        grams = self._grams
        found += [i for flag in p.flags if (i := grams.get(flag)) is not None]
        # A short text's n-grams are cheaper spelled out and looked up than hashed: numpy's fixed
        # cost per call outweighs the per-n-gram work below about SHORT_TEXT characters.
        wanted = []
        for text in p.chars:
            if len(text) < SHORT_TEXT:
                found += [i for gram in char_grams(text) if (i := grams.get(gram)) is not None]
            else:
                wanted += _text_gram_hashes(f" {text} ")
        if not wanted or not self._gram_hashes.size:
            return found, None
        hashes = np.concatenate(wanted)
        at = np.minimum(np.searchsorted(self._gram_hashes, hashes), self._gram_hashes.size - 1)
        return found, self._gram_ids[at[self._gram_hashes[at] == hashes]]

    def ids_of_features(self, feats: list[str]) -> np.ndarray:
        """The same ids from the spelled-out feature strings (what training saw)."""
        ids = np.fromiter(map(self.index.get, feats, repeat(-1)), dtype=np.int64, count=len(feats))
        return ids[ids >= 0]

    def vector(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The TF-IDF vector of feature ids, as (unique ids, L2-normalized weights); empty if none."""
        if ids.size == 0:
            return ids, np.zeros(0)
        unique, counts = np.unique(ids, return_counts=True)
        return unique, self._weighted(unique, counts)

    def _weighted(self, unique: np.ndarray, counts: np.ndarray | None) -> np.ndarray:
        """The normalized TF-IDF weights; counts None: every id once (each tf 1, and 1 + log 1 is 1)."""
        x = self.idf[unique].astype(np.float64)
        if counts is not None:
            x *= 1.0 + np.log(counts)  # sublinear tf, as trained
        x /= np.sqrt(x @ x)
        return x

    def _vector_of(self, found: list[int], hashed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """`vector(ids)` from `_found`'s parts. Without hashed ids (a short prompt, most requests)
        the ids are counted in Python: np.unique costs more than the whole count for a few dozen."""
        if hashed is not None:
            return self.vector(np.concatenate([np.array(found, dtype=np.int64), hashed]))
        if not found:
            return self.vector(np.zeros(0, dtype=np.int64))
        distinct = set(found)
        if len(distinct) == len(found):  # no repeats, a short prompt's usual case: no count needed
            unique = np.array(sorted(distinct), dtype=np.int64)  # np.unique's order: the same sums
            return unique, self._weighted(unique, None)
        counted = Counter(found)
        order = sorted(counted)  # np.unique's order, so the sums below add up in the same order
        unique = np.array(order, dtype=np.int64)
        return unique, self._weighted(unique, np.array([counted[i] for i in order], dtype=np.int64))

    def probabilities(self, ids: np.ndarray) -> np.ndarray:
        return self._probabilities(*self.vector(ids))

    def _scores(self, unique: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.bias if unique.size == 0 else x @ self.weights[unique].astype(np.float64) + self.bias

    def _probabilities(self, unique: np.ndarray, x: np.ndarray) -> np.ndarray:
        scores = self._scores(unique, x)
        exp = np.exp(scores - scores.max())
        return exp / exp.sum()

    def detect(self, messages: list[dict[str, Any]]) -> Detection:
        unique, x = self._vector_of(*self._found(parts(messages)))
        # Six scores: plain floats from here on, a numpy call costs more than the arithmetic.
        scores = self._scores(unique, x).tolist()
        top = max(scores)
        best = scores.index(top)  # argmax's choice: the first of equals
        # The softmax's value at the best label alone: exp(0) over the sum, as _probabilities has it.
        confidence = 1.0 / sum(math.exp(s - top) for s in scores)
        task_type = self.labels[best]
        # The cluster reuses the vector just computed: one gather and a (k,) product more.
        clusters = model()[1]
        cluster = clusters.assign(task_type, unique, x) if clusters is not None and unique.size else None
        return Detection(task_type, round(confidence, 3), cluster)


@functools.cache
def model() -> tuple[Classifier, clustering.Clusters | None]:
    """The shipped classifier and its prompt clusters, loaded on first use rather than at import.

    Loading builds the vocabulary's lookup tables (~0.5 s): a management command that never detects
    (`--help`, `apikey`, `stats`) should not pay for it. The server loads it at startup
    (asgi.freeze_startup_objects), before its first request.
    """
    classifier = Classifier(ARTIFACT)
    assert classifier.labels == TASK_TYPES, (
        "detector.npz was trained for other task types; run make train-classifier"
    )
    return classifier, clustering.load(classifier.vocabulary_index(), TASK_TYPES, classifier.fingerprint)


def __getattr__(name: str) -> Any:
    # `detect._classifier` and `detect.clusters`, as module attributes, load the model when first read.
    if name == "_classifier":
        return model()[0]
    if name == "clusters":
        return model()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cluster_label(cluster: int | None) -> str:
    """A human name for a cluster id: its task type and top terms ('code: sql, select, join')."""
    clusters = model()[1]
    if cluster is None or clusters is None or not 0 <= cluster < len(clusters.info):
        return f"cluster {cluster}"
    info = clusters.info[cluster]
    return f"{info.task_type}: {info.label}"


def detect(messages: list[dict[str, Any]]) -> Detection:
    """The task type of the conversation's latest user turn, and how sure the model is (0-1)."""
    return model()[0].detect(messages)


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
