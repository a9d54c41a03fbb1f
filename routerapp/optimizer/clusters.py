"""Prompt clusters: finer kinds of query than the task type, for learned routing.

`make train-classifier` fits them after the detector (routerapp/optimizer/training/clusters.py):
k-means, per task type, over the detector's own TF-IDF vector of each training conversation,
restricted to its most frequent features; shipped as `clusters.npz`. A cluster belongs to one task
type, so a cluster pattern always backs off to its task type's (routerapp.optimizer.chooser).

At request time the detector already has the prompt's sparse, L2-normalized vector (`unique` feature
ids and their weights `x`); the cluster is the argmax of x · centroid over the detected type's
centroids: a gather of `unique` rows of a (kept features × clusters) matrix and one small product,
no second pass over the text.

The clusters are fitted in the detector's feature space, so they are only valid with the detector
they were fitted against: the artifact holds a fingerprint of the detector's vocabulary and idf, and
clusters from another detector are refused (logged, and no request gets a cluster) rather than
silently wrong; tests/optimizer/test_clusters.py fails on the mismatch.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

ARTIFACT = Path(__file__).with_name("clusters.npz")


def fingerprint(vocabulary: np.ndarray, idf: np.ndarray) -> str:
    """What identifies a detector's feature space: its vocabulary bytes and idf (as shipped)."""
    digest = hashlib.sha256(np.ascontiguousarray(vocabulary).tobytes())
    digest.update(np.ascontiguousarray(idf, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    id: int
    task_type: str
    label: str  # its top terms
    size: int  # training conversations assigned to it


class Clusters:
    def __init__(self, path: Path, index: dict[str, int], task_types: tuple[str, ...]) -> None:
        with np.load(path, allow_pickle=False) as data:
            self.fingerprint = str(data["fingerprint"])
            kept = bytes(data["features"]).decode("utf-8").split("\x00")
            centroids = data["centroids"].astype(np.float64)  # (kept features, clusters)
            cluster_task = [str(t) for t in data["cluster_task"]]
            labels = [str(t) for t in data["cluster_labels"]]
            sizes = [int(s) for s in data["cluster_sizes"]]
        self.info = tuple(
            ClusterInfo(i, t, label, size)
            for i, (t, label, size) in enumerate(zip(cluster_task, labels, sizes, strict=True))
        )
        # The detector's feature id -> row of `centroids` (-1: a feature the clusters do not read).
        self.rows = np.full(len(index), -1, dtype=np.int64)
        for row, feature in enumerate(kept):
            if (i := index.get(feature)) is not None:
                self.rows[i] = row
        self.centroids = centroids
        # Per task type, the ids of its clusters and their centroid columns, contiguous (one gather).
        self.by_task: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for t in task_types:
            ids = np.array([c.id for c in self.info if c.task_type == t], dtype=np.int64)
            self.by_task[t] = (ids, np.ascontiguousarray(centroids[:, ids]))

    def assign(self, task_type: str, unique: np.ndarray, x: np.ndarray) -> int | None:
        """The nearest (by cosine) of the task type's clusters; None when the prompt shares no
        feature with them or the type has none."""
        found = self.by_task.get(task_type)
        if found is None or found[0].size == 0:
            return None
        ids, centroids = found
        rows = self.rows[unique]
        known = rows >= 0
        rows = rows[known]
        if not rows.size:
            return None
        scores = x[known] @ centroids[rows]
        return int(ids[int(scores.argmax())])


def load(index: dict[str, int], task_types: tuple[str, ...], detector_fingerprint: str) -> Clusters | None:
    """The shipped clusters, or None (logged) when they are missing or fitted to another detector."""
    if not ARTIFACT.exists():
        logger.warning("optimizer: no %s; requests get no cluster (make train-classifier)", ARTIFACT.name)
        return None
    clusters = Clusters(ARTIFACT, index, task_types)
    if clusters.fingerprint != detector_fingerprint:
        logger.error(
            "optimizer: %s was fitted to another detector (%s, the detector is %s); requests get no "
            "cluster until `make train-classifier` refits both",
            ARTIFACT.name,
            clusters.fingerprint,
            detector_fingerprint,
        )
        return None
    return clusters
