"""Fit the prompt clusters and write routerapp/optimizer/clusters.npz (a step of `make train-classifier`).

Per task type, k-means (scikit-learn KMeans, fixed random_state) over the shipped detector's own
TF-IDF vectors of the training conversations (corpus.build, the detector's corpus: never the dev set
or the held-out public sets), restricted to the KEEP most frequent features and re-normalized, so
that request time reuses the vector detection already computed. Centroids are normalized after the
fit and every conversation is re-assigned by cosine, the rule routerapp.optimizer.clusters applies.

k per task type: the k in K_CHOICES with the best cosine silhouette on a sample of the type's
conversations (a few clusters per type; more would split the traffic too thin to learn from).
Each cluster is labelled by its top word features.

    python -m routerapp.optimizer.training.clusters
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

from routerapp.optimizer.clusters import ARTIFACT, fingerprint
from routerapp.optimizer.detect import ARTIFACT as DETECTOR
from routerapp.optimizer.detect import TASK_TYPES, Classifier
from routerapp.optimizer.features import features
from routerapp.optimizer.training import corpus
from routerapp.optimizer.training.train import SEED

KEEP = 2000
K_CHOICES = (2, 3, 4, 5, 6)
SILHOUETTE_SAMPLE = 2000
RANDOM_STATE = 0


def vectors(classifier: Classifier, conversations: list) -> sp.csr_matrix:
    """The detector's vector of each conversation, as detect() computes it."""
    rows, cols, vals = [], [], []
    for r, (messages, _) in enumerate(conversations):
        unique, x = classifier.vector(classifier.ids_of_features(features(messages)))
        rows.append(np.full(len(unique), r))
        cols.append(unique)
        vals.append(x)
    shape = (len(conversations), len(classifier.idf))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape)


def _label(centroid: np.ndarray, siblings: np.ndarray, names: list[str], terms: int = 4) -> str:
    """The word features (unigrams of five letters or more, bigrams of words) that most set the
    cluster apart from its task type's others: its centroid minus their mean."""
    out: list[str] = []
    for j in np.argsort(-(centroid - siblings)):
        name = names[j]
        word = name[1:]
        if not name.startswith("w") or not all(part.isalnum() for part in word.split(" ")):
            continue
        if len(word) < 5 and " " not in word.strip():
            continue  # could be a character n-gram
        if word not in out:
            out.append(word)
        if len(out) == terms:
            break
    return ", ".join(out)


def fit(output: Path = ARTIFACT) -> dict:
    classifier = Classifier(DETECTOR)
    names = [""] * len(classifier.index)
    for name, i in classifier.index.items():
        names[i] = name
    conversations = corpus.build(SEED)
    x = vectors(classifier, conversations)
    tasks = np.array([task for _, task in conversations])
    document_frequency = np.asarray((x > 0).sum(axis=0)).ravel()
    keep = np.sort(np.argsort(-document_frequency, kind="stable")[:KEEP])
    xk = normalize(x[:, keep])
    rng = np.random.RandomState(RANDOM_STATE)
    centroids, cluster_task, labels, sizes, chosen = [], [], [], [], {}
    for task in TASK_TYPES:
        rows = xk[np.flatnonzero(tasks == task)]
        sample = rng.choice(rows.shape[0], min(SILHOUETTE_SAMPLE, rows.shape[0]), replace=False)
        best = None
        for k in K_CHOICES:
            model = KMeans(k, random_state=RANDOM_STATE, n_init=3).fit(rows)
            unit = normalize(model.cluster_centers_)
            assigned = np.asarray(rows @ unit.T).argmax(axis=1)
            if len(set(assigned[sample])) < 2:
                continue
            score = float(silhouette_score(rows[sample], assigned[sample], metric="cosine"))
            if best is None or score > best[0]:
                best = (score, k, unit, assigned)
        assert best is not None, f"no clustering of {task}"
        score, k, unit, assigned = best
        chosen[task] = {"k": k, "silhouette": round(score, 4)}
        for c in range(k):
            centroids.append(unit[c])
            cluster_task.append(task)
            labels.append(_label(unit[c], unit.mean(axis=0), [names[i] for i in keep]))
            sizes.append(int((assigned == c).sum()))
    with np.load(DETECTOR, allow_pickle=False) as detector:
        detector_fingerprint = fingerprint(detector["vocabulary"], detector["idf"])
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        fingerprint=np.array(detector_fingerprint),
        features=np.frombuffer("\x00".join(names[i] for i in keep).encode("utf-8"), dtype=np.uint8),
        centroids=np.array(centroids).T.astype(np.float32),
        cluster_task=np.array(cluster_task),
        cluster_labels=np.array(labels),
        cluster_sizes=np.array(sizes),
    )
    output.write_bytes(buffer.getvalue())
    return {
        "clusters": len(centroids),
        "per_task": chosen,
        "labels": [
            f"{i} {t}: {label} ({n})"
            for i, (t, label, n) in enumerate(zip(cluster_task, labels, sizes, strict=True))
        ],
        "bytes": output.stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ARTIFACT)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    summary = fit(args.output)
    print(json.dumps(summary | {"seconds": round(time.perf_counter() - started, 1)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
