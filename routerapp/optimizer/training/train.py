"""Train the task-type classifier and write routerapp/optimizer/detector.npz (`make train-classifier`).

scikit-learn does the fitting: a TfidfVectorizer over `routerapp.optimizer.features.features` (the
same function inference uses) and a multinomial logistic regression. The shipped file holds only
what numpy needs to score a prompt: the vocabulary, the idf, the weights and the biases.

    python -m routerapp.optimizer.training.train [--dev tests/data/detect_dev.jsonl]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from routerapp.optimizer.features import features
from routerapp.optimizer.training import corpus

TASK_TYPES = ("code", "math", "reasoning", "creative", "summarization", "qa")
OUTPUT = Path(__file__).resolve().parent.parent / "detector.npz"
SEED = 11
MIN_DF = 2
C = 2.0


def _identity(feats: list[str]) -> list[str]:
    return feats


def train(output: Path = OUTPUT, c: float = C) -> dict[str, int]:
    conversations = corpus.build(SEED)
    docs = [features(messages) for messages, _ in conversations]
    labels = [TASK_TYPES.index(task) for _, task in conversations]
    vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=MIN_DF, dtype=np.float64)
    x = vectorizer.fit_transform(docs)
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(x, np.array(labels))
    vocabulary = vectorizer.get_feature_names_out()
    assert tuple(model.classes_) == tuple(range(len(TASK_TYPES)))
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        labels=np.array(TASK_TYPES),
        vocabulary=np.frombuffer("\x00".join(vocabulary).encode("utf-8"), dtype=np.uint8),
        idf=vectorizer.idf_.astype(np.float32),
        weights=model.coef_.T.astype(np.float32),
        bias=model.intercept_.astype(np.float32),
    )
    output.write_bytes(buffer.getvalue())
    return {"conversations": len(conversations), "features": len(vocabulary), "bytes": output.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("-C", type=float, default=C, help="inverse regularization strength")
    parser.add_argument("--dev", type=Path, help="a labelled JSONL file to report accuracy on afterwards")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    summary = train(args.output, args.C)
    print(json.dumps(summary | {"seconds": round(time.perf_counter() - started, 1)}))
    if args.dev:
        from routerapp.optimizer.training import evaluate

        print(evaluate.report(args.dev, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
