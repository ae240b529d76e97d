"""How good a model is, measured on faces it did not train on, and the score below which its
suggestions should not be shown.

Everything returned is plain JSON (dicts, lists, ints, floats, None) so that it can be stored
beside the model and shown in the web app as is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from faceloop.learn.calibration import fit
from faceloop.learn.training_set import OTHER


def stratified_split(
    y: np.ndarray, test_fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test positions, with about `test_fraction` of each class held out.

    Every class with at least two faces gives at least one to the test side and keeps at least
    one for training; a class with a single face stays in training, since a model cannot be
    asked to recognise a person it has never seen.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), not {test_fraction}")
    y = np.asarray(y).ravel()
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if len(members) < 2:
            continue
        n_test = min(max(1, round(test_fraction * len(members))), len(members) - 1)
        test.append(rng.choice(members, size=n_test, replace=False))
    test_idx = np.sort(np.concatenate(test)) if test else np.zeros(0, dtype=np.int64)
    train_idx = np.setdiff1d(np.arange(len(y)), test_idx)
    return train_idx.astype(np.int64), test_idx.astype(np.int64)


def choose_threshold(
    max_scores: np.ndarray, correct: np.ndarray, target_precision: float = 0.99
) -> float:
    """The lowest score t such that predictions scoring >= t are at least `target_precision`
    right, on the data given; predictions below t should be shown as "unknown".

    The lowest such t accepts the most predictions. Faces with equal scores are accepted or
    refused together. When no t reaches the target, the result is just above the highest score:
    nothing is accepted. The precision holds on this split; on new faces it is an estimate.
    """
    scores = np.asarray(max_scores, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=bool).ravel()
    if len(scores) != len(correct):
        raise ValueError("max_scores and correct differ in length")
    if len(scores) == 0:
        raise ValueError("cannot choose a threshold without held-out predictions")
    order = np.argsort(-scores, kind="stable")
    scores, correct = scores[order], correct[order]
    precision = np.cumsum(correct) / np.arange(1, len(scores) + 1)
    # a cut after position i is possible only where the next score is strictly lower
    cut = np.append(scores[1:] < scores[:-1], True)
    good = np.flatnonzero(cut & (precision >= target_precision))
    if len(good) == 0:
        return math.nextafter(float(scores[0]), math.inf)
    return float(scores[good[-1]])


def precision_at(max_scores: np.ndarray, correct: np.ndarray, threshold: float) -> dict[str, Any]:
    """Precision and coverage of the predictions a threshold accepts."""
    scores = np.asarray(max_scores, dtype=np.float64).ravel()
    correct = np.asarray(correct, dtype=bool).ravel()
    accepted = scores >= threshold
    n = int(accepted.sum())
    return {
        "threshold": float(threshold),
        "accepted": n,
        "total": len(scores),
        "coverage": n / len(scores) if len(scores) else 0.0,
        "precision": float(correct[accepted].mean()) if n else None,
    }


def evaluate(
    y_true: np.ndarray,
    proba: np.ndarray,
    classes: np.ndarray,
    target_precision: float = 0.99,
    n_confused: int = 10,
) -> dict[str, Any]:
    """Top-1 accuracy, per-class precision and recall, the most confused pairs, the
    suggestion threshold and the calibration of its scores (`calibration.fit`), from a model's
    probabilities on held-out faces.

    The threshold is chosen on predictions of a person (not of class 0): those are what people
    are asked to confirm, and a wrong one is what costs them. Precision of a class the model never
    predicted is None.
    """
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    classes = np.asarray(classes, dtype=np.int64)
    proba = np.asarray(proba)
    if proba.shape != (len(y_true), len(classes)):
        raise ValueError(f"proba has shape {proba.shape}, expected {(len(y_true), len(classes))}")
    predicted = classes[proba.argmax(axis=1)] if len(y_true) else y_true.copy()
    max_scores = proba.max(axis=1) if len(y_true) else np.zeros(0)
    correct = predicted == y_true

    per_class = []
    for c in classes:
        support = int((y_true == c).sum())
        n_predicted = int((predicted == c).sum())
        hits = int(((predicted == c) & correct).sum())
        per_class.append(
            {
                "class": int(c),
                "support": support,
                "predicted": n_predicted,
                "precision": hits / n_predicted if n_predicted else None,
                "recall": hits / support if support else None,
            }
        )

    pairs: dict[tuple[int, int], int] = {}
    for t, p in zip(y_true[~correct].tolist(), predicted[~correct].tolist(), strict=True):
        pairs[(t, p)] = pairs.get((t, p), 0) + 1
    confused = [
        {"true": t, "predicted": p, "count": n}
        for (t, p), n in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
    ][:n_confused]

    suggested = predicted != OTHER
    result: dict[str, Any] = {
        "n": len(y_true),
        "accuracy": float(correct.mean()) if len(y_true) else None,
        "per_class": per_class,
        "confused": confused,
        "target_precision": target_precision,
        "threshold": None,
        # P(right | score) of its guesses of a person, so the pages can say how likely each
        # guess is and pre-check only the sure ones
        "calibration": fit(max_scores[suggested], correct[suggested]).to_json(),
    }
    if suggested.any():
        threshold = choose_threshold(max_scores[suggested], correct[suggested], target_precision)
        result["threshold"] = precision_at(max_scores[suggested], correct[suggested], threshold)
    return result
