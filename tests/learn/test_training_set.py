from __future__ import annotations

import numpy as np
import pytest

from faceloop.learn import OTHER, build_training_set


def _labels() -> np.ndarray:
    # person 7: 40 faces, person 3: 30 (exactly the threshold), person 5: 29, 100 not-a-face
    return np.concatenate([np.full(40, 7), np.full(30, 3), np.full(29, 5), np.zeros(100, int)])


def test_only_people_with_enough_faces_become_classes() -> None:
    chosen = build_training_set(_labels(), min_per_class=30, other_ratio=0.3, seed=0)
    assert chosen.classes.tolist() == [OTHER, 3, 7]
    labels = _labels()
    for person in (3, 7):
        assert set(np.flatnonzero(labels == person)) <= set(chosen.indices.tolist())


def test_other_is_sampled_to_the_ratio_from_small_people_and_unknowns() -> None:
    labels = _labels()
    chosen = build_training_set(labels, min_per_class=30, other_ratio=0.3, seed=0)
    other = chosen.indices[chosen.y == OTHER]
    assert len(other) == round(0.3 / 0.7 * 70)  # 30 of 100 faces: 70 targets + 30 others
    assert np.isin(labels[other], [OTHER, 5]).all()
    assert (chosen.y[chosen.y != OTHER] == labels[chosen.indices[chosen.y != OTHER]]).all()
    assert np.all(np.diff(chosen.indices) > 0)


def test_other_is_capped_by_what_exists() -> None:
    labels = np.concatenate([np.full(50, 4), np.zeros(3, int)])
    chosen = build_training_set(labels, min_per_class=30, other_ratio=0.5)
    assert (chosen.y == OTHER).sum() == 3


def test_seed_decides_the_sample() -> None:
    a = build_training_set(_labels(), seed=1)
    b = build_training_set(_labels(), seed=1)
    c = build_training_set(_labels(), seed=2)
    assert np.array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)


def test_nobody_with_enough_faces_means_nothing_to_train() -> None:
    chosen = build_training_set(np.array([1, 1, 2, 0]), min_per_class=30)
    assert len(chosen.indices) == 0
    assert chosen.classes.tolist() == [OTHER]


def test_bad_ratio_is_refused() -> None:
    with pytest.raises(ValueError, match="other_ratio"):
        build_training_set(_labels(), other_ratio=1.0)
