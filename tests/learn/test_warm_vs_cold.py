"""After one person is added, a warm-started run reaches the previous model's accuracy in fewer
steps than a cold start: the reason the loop retrains from the last model.

Each test prints both step counts (see them with `pytest -s`).
"""

from __future__ import annotations

import numpy as np
import pytest

from faceloop.learn import CnnClassifier, EmbeddingHead, stratified_split
from faceloop.learn.estimator import TorchClassifier
from faceloop.testing.faces import EmbeddingWorld


def steps_to_reach(model: TorchClassifier, accuracy: float) -> int | None:
    """The first optimiser step after which the watched accuracy reached `accuracy`."""
    for entry in model.history_:
        if entry["eval_accuracy"] >= accuracy - 1e-9:
            return int(entry["step"])
    return None


def compare(
    make: type[TorchClassifier], params: dict, X: np.ndarray, y: np.ndarray, newcomer: int
) -> tuple[int | None, int | None, float]:
    """Train a model without `newcomer`, then with her: warm from that model and cold."""
    train, test = stratified_split(y, test_fraction=0.25, seed=0)
    old_train, old_test = train[y[train] != newcomer], test[y[test] != newcomer]
    previous = make(**params).fit(X[old_train], y[old_train])
    reached = float(np.mean(previous.predict(X[old_test]) == y[old_test]))

    watch = {"eval_set": (X[test], y[test])}
    patient = {**params, "n_iter_no_change": 10**6}
    warm = make(**patient).fit(X[train], y[train], init_from=previous, **watch)
    cold = make(**patient).fit(X[train], y[train], **watch)
    warm_steps, cold_steps = steps_to_reach(warm, reached), steps_to_reach(cold, reached)
    print(
        f"\n{make.__name__}: previous accuracy {reached:.3f}; steps to reach it after adding "
        f"one person: warm start {warm_steps}, cold start {cold_steps}"
    )
    return warm_steps, cold_steps, reached


def assert_warm_is_quicker(warm_steps: int | None, cold_steps: int | None) -> None:
    assert warm_steps is not None, "the warm start never reached the previous accuracy"
    assert cold_steps is None or warm_steps < cold_steps


def test_head_on_synthetic_embeddings() -> None:
    world = EmbeddingWorld(80, seed=5)
    people = np.repeat(np.arange(80), 20)
    X = world.faces(people)
    y = np.where(people < 40, people + 1, 0)  # 40 targets; faces of 40 others are class 0
    warm, cold, reached = compare(EmbeddingHead, {"max_epochs": 30}, X, y, newcomer=40)
    assert reached > 0.9
    assert_warm_is_quicker(warm, cold)


@pytest.mark.usefixtures("orl_embeddings")
def test_head_on_orl(orl_embeddings) -> None:
    X, y = orl_embeddings
    warm, cold, reached = compare(EmbeddingHead, {"max_epochs": 30}, X, y, newcomer=40)
    assert reached > 0.95
    assert_warm_is_quicker(warm, cold)


def test_cnn_on_orl(orl_crops) -> None:
    X, y = orl_crops
    few = y <= 8
    params = {"max_epochs": 10}
    warm, cold, _ = compare(CnnClassifier, params, X[few], y[few], newcomer=12)
    assert_warm_is_quicker(warm, cold)
