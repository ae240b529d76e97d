from __future__ import annotations

import pytest

from faceloop.export import assign_splits, split_of
from faceloop.export.splits import split_from_name


def test_same_seed_same_splits_other_seed_other_splits():
    ids = list(range(500))
    first = assign_splits(ids, [0] * 500, seed=3)
    assert first == assign_splits(ids, [0] * 500, seed=3)
    assert first != assign_splits(ids, [0] * 500, seed=4)
    assert all(split_of(i, seed=3) == first[i] for i in ids)


def test_a_face_keeps_its_split_when_faces_are_added_or_relabelled():
    before = assign_splits(range(1000), [i % 5 for i in range(1000)], seed=1)
    after = assign_splits(range(3000), [i % 7 for i in range(3000)], seed=1)
    assert all(after[i] == split for i, split in before.items())


def test_every_label_is_split_close_to_the_fractions():
    ids, labels = [], []
    for label in range(3):
        for n in range(3000):
            ids.append(label * 100_000 + n)
            labels.append(label)
    splits = assign_splits(ids, labels, fractions=(0.7, 0.2, 0.1), seed=0)
    for label in range(3):
        mine = [splits[i] for i, lab in zip(ids, labels, strict=True) if lab == label]
        for split, wanted in zip(("train", "validation", "test"), (0.7, 0.2, 0.1), strict=True):
            # three standard deviations of Binomial(3000, p) / 3000 is at most 0.025
            assert mine.count(split) / len(mine) == pytest.approx(wanted, abs=0.025)


def test_all_to_train_and_bad_fractions():
    assert set(assign_splits(range(100), [1] * 100, fractions=(1.0, 0.0, 0.0)).values()) == {
        "train"
    }
    with pytest.raises(ValueError, match="add up to 1"):
        assign_splits([1], [1], fractions=(0.5, 0.1, 0.1))
    with pytest.raises(ValueError, match="labels"):
        assign_splits([1, 2], [1])


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("train-00000-of-00004.tfrecord", "train"),
        ("validation.parquet", "validation"),
        ("val", "validation"),
        ("TEST", "test"),
        ("trainee", None),
        ("Alice", None),
    ],
)
def test_split_from_name(name, split):
    assert split_from_name(name) == split
