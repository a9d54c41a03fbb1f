"""Accuracy of a trained classifier on a labelled JSONL file: per type, macro, and a confusion matrix.

python -m routerapp.optimizer.training.evaluate tests/data/detect_dev.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from routerapp.optimizer.detect import ARTIFACT, TASK_TYPES, Classifier


def load(path: Path) -> list[tuple[list[dict], str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append(
                (row.get("messages") or [{"role": "user", "content": row["prompt"]}], row["task_type"])
            )
    return rows


def confusion(path: Path, artifact: Path = ARTIFACT) -> dict[str, dict[str, int]]:
    classifier = Classifier(artifact)
    matrix = {truth: dict.fromkeys(TASK_TYPES, 0) for truth in TASK_TYPES}
    for messages, truth in load(path):
        matrix[truth][classifier.detect(messages).task_type] += 1
    return matrix


def report(path: Path, artifact: Path = ARTIFACT) -> str:
    """A Markdown table: one row per true type, one column per predicted type, then its accuracy."""
    matrix = confusion(path, artifact)
    lines = [
        "| true \\ predicted | " + " | ".join(TASK_TYPES) + " | n | accuracy |",
        "|---" * (len(TASK_TYPES) + 3) + "|",
    ]
    accuracies = []
    for truth in TASK_TYPES:
        row = matrix[truth]
        total = sum(row.values())
        accuracy = row[truth] / total if total else 0.0
        accuracies.append(accuracy)
        cells = " | ".join(f"**{row[p]}**" if p == truth else str(row[p]) for p in TASK_TYPES)
        lines.append(f"| {truth} | {cells} | {total} | {accuracy:.2f} |")
    lines.append(f"\nMacro accuracy: {sum(accuracies) / len(accuracies):.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else ARTIFACT))
