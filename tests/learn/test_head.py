from __future__ import annotations

import numpy as np
import pytest
import torch

from faceloop.learn import EmbeddingHead, top_k
from faceloop.testing.faces import EmbeddingWorld, synthetic_embeddings


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    world = EmbeddingWorld(30, seed=2)
    people = np.repeat(np.arange(30), 12)
    X, test = world.faces(people), world.faces(people)
    y = np.where(people < 20, people + 1, 0)  # ten people are "other"
    return X, y, test, y


@pytest.fixture(scope="module")
def fitted(data) -> EmbeddingHead:
    X, y, _, _ = data
    return EmbeddingHead(seed=0).fit(X, y)


def test_learns_people_and_other(fitted, data) -> None:
    _, _, X_test, y_test = data
    assert fitted.classes_.tolist() == list(range(21))
    assert np.mean(fitted.predict(X_test) == y_test) > 0.95


def test_proba_rows_are_distributions_in_class_order(fitted, data) -> None:
    _, _, X_test, _ = data
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 21)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(X_test))


def test_batched_top_k_equals_top_k_of_the_full_matrix(fitted, data) -> None:
    _, _, X_test, _ = data
    ids, scores = fitted.predict_top_k(X_test, k=3, batch_size=50)
    expected_ids, expected_scores = top_k(fitted.predict_proba(X_test), fitted.classes_, 3)
    assert np.array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-7)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_top_k_with_more_k_than_classes() -> None:
    proba = np.array([[0.2, 0.5, 0.3]], dtype=np.float32)
    ids, scores = top_k(proba, np.array([0, 4, 9]), k=5)
    assert ids.tolist() == [[4, 9, 0]]
    np.testing.assert_allclose(scores, [[0.5, 0.3, 0.2]])


def test_same_seed_same_model_and_global_rng_untouched(data) -> None:
    X, y, _, _ = data
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = EmbeddingHead(max_epochs=3, seed=4).fit(X, y)
    assert torch.equal(torch.rand(1), expected_next)
    b = EmbeddingHead(max_epochs=3, seed=4).fit(X, y)
    c = EmbeddingHead(max_epochs=3, seed=5).fit(X, y)
    assert torch.equal(a.module_.out.weight, b.module_.out.weight)
    assert not torch.equal(a.module_.out.weight, c.module_.out.weight)


def test_history_records_steps_and_early_stopping(data) -> None:
    X, y, X_test, y_test = data
    model = EmbeddingHead(max_epochs=200, tol=1e-2, n_iter_no_change=2).fit(
        X, y, eval_set=(X_test, y_test)
    )
    assert model.n_iter_ < 200
    assert model.history_[0]["step"] == 0 and model.history_[0]["loss"] is None
    steps = [h["step"] for h in model.history_]
    assert steps == sorted(steps) and steps[-1] == model.n_steps_
    assert model.history_[-1]["loss"] < model.history_[1]["loss"]


def test_hidden_layer_variant_trains(data) -> None:
    X, y, X_test, y_test = data
    model = EmbeddingHead(hidden=64, seed=0).fit(X, y)
    assert np.mean(model.predict(X_test) == y_test) > 0.9


def test_explicit_classes_and_refusal_of_unknown_labels(data) -> None:
    X, y, _, _ = data
    model = EmbeddingHead(max_epochs=1).fit(X, y, classes=np.arange(0, 25))
    assert model.classes_.tolist() == list(range(25))
    with pytest.raises(ValueError, match="missing from classes"):
        EmbeddingHead(max_epochs=1).fit(X, y, classes=np.array([0, 1]))


def test_unfitted_and_misshapen_inputs_are_refused(fitted) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        EmbeddingHead().predict(np.zeros((1, 128), np.float32))
    with pytest.raises(ValueError, match="features"):
        fitted.predict(np.zeros((1, 64), np.float32))


def test_negatives_lower_the_probability_of_the_refused_person() -> None:
    """People said "no, not person 1" to faces of a look-alike the model gave to person 1."""
    X, y = synthetic_embeddings(6, 20, seed=8)
    world = EmbeddingWorld(6, seed=8)
    look_alike = world.centres[0] + 0.4 * (world.centres[1] - world.centres[0])
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.01, (40, 128)).astype(np.float32)
    refused, held_out = (look_alike + noise[:20]), (look_alike + noise[20:])
    refused_ids = np.ones(20, dtype=np.int64)

    plain = EmbeddingHead(seed=0).fit(X, y)
    told = EmbeddingHead(seed=0).fit(X, y, negatives=(refused, refused_ids))
    column = list(plain.classes_).index(1)
    before = plain.predict_proba(held_out)[:, column].mean()
    after = told.predict_proba(held_out)[:, column].mean()
    print(f"\np(person 1) on look-alikes: {before:.3f} without negatives, {after:.3f} with")
    assert after < 0.5 * before
    assert np.mean(told.predict(X) == y) > 0.95  # the people themselves are still recognised


def test_negatives_for_unknown_classes_are_ignored(data) -> None:
    X, y, _, _ = data
    negatives = (X[:3], np.array([999, 999, 999]))
    a = EmbeddingHead(max_epochs=2, seed=1).fit(X, y)
    b = EmbeddingHead(max_epochs=2, seed=1).fit(X, y, negatives=negatives)
    assert torch.equal(a.module_.out.weight, b.module_.out.weight)
