"""The warm-start rule, checked parameter by parameter and row by row."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceloop.learn import CnnClassifier, EmbeddingHead, class_order
from faceloop.learn.warmstart import warm_start
from faceloop.testing.faces import synthetic_crops, synthetic_embeddings


def test_class_order_keeps_previous_order_appends_new_and_drops_the_gone() -> None:
    order = class_order(np.array([0, 9, 2, 5]), np.array([11, 2, 4, 9]))
    assert order.tolist() == [0, 9, 2, 4, 11]


def test_class_order_always_starts_with_other() -> None:
    assert class_order(np.array([0]), np.array([3, 1])).tolist() == [0, 1, 3]
    assert class_order(np.array([0, 3]), np.array([0, 3])).tolist() == [0, 3]


def _rows(model: EmbeddingHead, name: str) -> dict[int, torch.Tensor]:
    weights = model.module_.state_dict()[name]
    return {int(c): weights[i] for i, c in enumerate(model.classes_)}


@pytest.fixture(scope="module")
def previous() -> tuple[EmbeddingHead, np.ndarray, np.ndarray]:
    X, y = synthetic_embeddings(6, 20, seed=3)
    y[y == 6] = 0  # the sixth person plays "other"
    keep = y != 5  # person 5 is not a target yet
    model = EmbeddingHead(hidden=32, max_epochs=5, seed=1).fit(X[keep], y[keep])
    assert model.classes_.tolist() == [0, 1, 2, 3, 4]
    return model, X, y


def test_matching_parameters_are_copied_bit_for_bit(previous) -> None:
    model, X, y = previous
    # person 2 dropped out, person 5 arrives: same number of classes as before
    keep = y != 2
    warm = EmbeddingHead(hidden=32, max_epochs=0, seed=7).fit(X[keep], y[keep], init_from=model)
    assert warm.classes_.tolist() == [0, 1, 3, 4, 5]
    old, new = model.module_.state_dict(), warm.module_.state_dict()
    for name in ("hidden.weight", "hidden.bias"):
        assert torch.equal(new[name], old[name]), name
    assert warm.warm_start_["copied"] == ["hidden.weight", "hidden.bias"]
    assert warm.warm_start_["remapped"] == ["out.weight", "out.bias"]
    assert warm.warm_start_["kept_classes"] == [0, 1, 3, 4]
    assert warm.warm_start_["new_classes"] == [5]


def test_each_known_person_keeps_her_row_and_new_people_start_fresh(previous) -> None:
    model, X, y = previous
    keep = y != 2
    warm = EmbeddingHead(hidden=32, max_epochs=0, seed=7).fit(X[keep], y[keep], init_from=model)
    cold = EmbeddingHead(hidden=32, max_epochs=0, seed=7).fit(X[keep], y[keep])
    for name in ("out.weight", "out.bias"):
        old, new, fresh = _rows(model, name), _rows(warm, name), _rows(cold, name)
        for person in (0, 1, 3, 4):
            assert torch.equal(new[person], old[person]), (name, person)
        # person 5 took the place person 2 had, but not her weights: it is initialised fresh
        assert torch.equal(new[5], fresh[5])
        assert not torch.equal(new[5], old[2])


def test_mismatched_parameters_are_initialised_fresh(previous) -> None:
    model, X, y = previous
    warm = EmbeddingHead(hidden=48, max_epochs=0, seed=7).fit(X, y, init_from=model)
    cold = EmbeddingHead(hidden=48, max_epochs=0, seed=7).fit(X, y)
    new, fresh = warm.module_.state_dict(), cold.module_.state_dict()
    assert warm.warm_start_["copied"] == []
    assert set(warm.warm_start_["fresh"]) == {"hidden.weight", "hidden.bias", "out.weight"}
    for name in ("hidden.weight", "hidden.bias", "out.weight"):
        assert torch.equal(new[name], fresh[name]), name
    # the output bias has no input dimension, so each known person's bias still carries over
    assert torch.equal(_rows(warm, "out.bias")[3], _rows(model, "out.bias")[3])


def test_warm_start_needs_the_same_kind() -> None:
    X, y = synthetic_embeddings(2, 5)
    head = EmbeddingHead(max_epochs=1).fit(X, y)
    crops, labels = synthetic_crops(2, 2)
    with pytest.raises(ValueError, match="cannot warm-start"):
        CnnClassifier(max_epochs=0).fit(crops, labels, init_from=head)


def test_cnn_follows_the_same_rule() -> None:
    crops, labels = synthetic_crops(3, 2, seed=1)
    old = CnnClassifier(max_epochs=1, seed=1).fit(crops, labels)
    keep = labels != 2
    labels = labels.copy()
    labels[~keep] = 4
    new = CnnClassifier(max_epochs=0, seed=2).fit(crops, labels, init_from=old)
    assert new.classes_.tolist() == [0, 1, 3, 4]
    before, after = old.module_.state_dict(), new.module_.state_dict()
    copied = [name for name in after if not name.startswith("out.")]
    assert new.warm_start_["copied"] == copied
    for name in copied:
        assert torch.equal(after[name], before[name]), name
    for person in (0, 1, 3):
        assert torch.equal(
            after["out.weight"][new.classes_.tolist().index(person)],
            before["out.weight"][old.classes_.tolist().index(person)],
        )


def test_warm_start_function_reports_what_it_did() -> None:
    module = torch.nn.Linear(4, 3)
    previous = {"weight": torch.ones(2, 4), "bias": torch.zeros(2)}
    report = warm_start(module, previous, np.array([0, 7]), np.array([0, 8, 7]), ("weight",))
    assert report.remapped == ["weight"]
    assert report.fresh == ["bias"]  # shape (2,) is not (3,), and bias was not declared an output
    assert torch.equal(module.weight[0], torch.ones(4))
    assert torch.equal(module.weight[2], torch.ones(4))
    assert not torch.equal(module.weight[1], torch.ones(4))
