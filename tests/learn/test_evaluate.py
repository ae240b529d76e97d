from __future__ import annotations

import json
import math

import numpy as np
import pytest

from faceloop.learn import choose_threshold, evaluate, stratified_split
from faceloop.learn.evaluate import precision_at


def test_split_holds_out_each_class_and_keeps_singletons_for_training() -> None:
    y = np.array([1] * 10 + [2] * 5 + [3] * 2 + [4])
    train, test = stratified_split(y, test_fraction=0.2, seed=0)
    assert sorted([*train, *test]) == list(range(len(y)))
    assert not set(train) & set(test)
    held = {c: int((y[test] == c).sum()) for c in (1, 2, 3, 4)}
    assert held == {1: 2, 2: 1, 3: 1, 4: 0}
    assert set(y[train]) == {1, 2, 3, 4}
    again, _ = stratified_split(y, test_fraction=0.2, seed=0)
    assert np.array_equal(train, again)


@pytest.mark.parametrize("seed", range(5))
def test_threshold_reaches_the_target_precision_on_its_own_split(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 1, 2000)
    correct = rng.uniform(0, 1, 2000) < scores**0.3  # right more often when more confident
    threshold = choose_threshold(scores, correct, target_precision=0.99)
    accepted = scores >= threshold
    assert correct[accepted].mean() >= 0.99
    # and it is the lowest such threshold: one more prediction and precision falls below
    below = scores[scores < threshold]
    if len(below):
        looser = scores >= below.max()
        assert correct[looser].mean() < 0.99


def test_threshold_keeps_ties_together() -> None:
    scores = np.array([0.9, 0.8, 0.8, 0.8, 0.5])
    correct = np.array([True, True, False, True, False])
    # accepting 0.8 means accepting all three 0.8s, one of them wrong: 75% < 99%
    assert choose_threshold(scores, correct, 0.99) == 0.9
    assert choose_threshold(scores, correct, 0.75) == 0.8


def test_threshold_accepts_everything_when_all_are_right_and_nothing_when_none() -> None:
    scores = np.array([0.3, 0.6, 0.9])
    assert choose_threshold(scores, np.ones(3, bool)) == 0.3
    nothing = choose_threshold(scores, np.zeros(3, bool))
    assert nothing > 0.9 and math.isfinite(nothing)
    assert precision_at(scores, np.zeros(3, bool), nothing)["accepted"] == 0
    with pytest.raises(ValueError):
        choose_threshold(np.zeros(0), np.zeros(0, bool))


def test_evaluate_reports_accuracy_per_class_confusions_and_threshold_as_json() -> None:
    classes = np.array([0, 5, 7])
    y_true = np.array([5, 5, 5, 7, 7, 0, 0])
    predicted = np.array([5, 5, 7, 7, 7, 0, 5])
    confidence = np.array([0.99, 0.9, 0.6, 0.95, 0.8, 0.7, 0.65])
    proba = np.full((7, 3), 0.0)
    for row, (p, c) in enumerate(zip(predicted, confidence, strict=True)):
        proba[row] = (1 - c) / 2
        proba[row, list(classes).index(p)] = c
    report = evaluate(y_true, proba, classes)
    json.dumps(report, allow_nan=False)
    assert report["accuracy"] == pytest.approx(5 / 7)
    by_class = {row["class"]: row for row in report["per_class"]}
    assert by_class[5]["precision"] == pytest.approx(2 / 3)
    assert by_class[5]["recall"] == pytest.approx(2 / 3)
    assert by_class[7]["precision"] == pytest.approx(2 / 3)
    assert by_class[7]["recall"] == 1.0
    assert {(c["true"], c["predicted"]) for c in report["confused"]} == {(5, 7), (0, 5)}
    # person predictions: 0.99 R, 0.95 R, 0.9 R, 0.8 R, 0.65 W, 0.6 W -> accept from 0.8 up
    assert report["threshold"]["threshold"] == pytest.approx(0.8)
    assert report["threshold"]["precision"] == 1.0
    assert report["threshold"]["accepted"] == 4
