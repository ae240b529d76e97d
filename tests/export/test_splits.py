from __future__ import annotations

from collections import Counter

import pytest

from faceloop.export import assign_splits, split_of
from faceloop.export.splits import parse_fractions, quotas, split_from_name


@pytest.mark.parametrize("rule", ["exact", "hash"])
def test_same_seed_same_splits_other_seed_other_splits(rule):
    ids = list(range(500))
    first = assign_splits(ids, [0] * 500, seed=3, rule=rule)
    assert first == assign_splits(ids[::-1], [0] * 500, seed=3, rule=rule)
    assert first != assign_splits(ids, [0] * 500, seed=4, rule=rule)
    if rule == "hash":
        assert all(split_of(i, seed=3) == first[i] for i in ids)


def test_under_the_hash_rule_a_face_keeps_its_split_when_faces_are_added_or_relabelled():
    before = assign_splits(range(1000), [i % 5 for i in range(1000)], seed=1, rule="hash")
    after = assign_splits(range(3000), [i % 7 for i in range(3000)], seed=1, rule="hash")
    assert all(after[i] == split for i, split in before.items())


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 10, 29, 30, 31, 101, 1000])
def test_exact_rule_splits_every_label_to_within_one_face(n):
    ids = [label * 10_000 + i for label in range(3) for i in range(n + label)]
    labels = [face_id // 10_000 for face_id in ids]
    splits = assign_splits(ids, labels, fractions=(0.7, 0.2, 0.1), seed=5)
    for label in range(3):
        size = n + label
        counts = Counter(splits[i] for i in ids if i // 10_000 == label)
        got = (counts["train"], counts["validation"], counts["test"])
        assert got == quotas(size, (0.7, 0.2, 0.1))
        assert all(abs(c - size * f) <= 1 for c, f in zip(got, (0.7, 0.2, 0.1), strict=True))


def test_exact_rule_moves_few_faces_as_a_label_grows_and_none_of_other_labels():
    other = {100_000 + i: "x" for i in range(50)}
    previous = None
    moved_ever: set[int] = set()
    for n in range(10, 400):
        ids = [*range(n), *other]
        labels = [1] * n + [2] * len(other)
        splits = assign_splits(ids, labels, seed=2)
        if previous is not None:
            moved = {i for i in previous if previous[i] != splits[i]}
            # one face added: at most one face crosses each of the two cuts
            assert len(moved) <= 2
            assert not moved & set(other)
            moved_ever |= moved
        previous = splits
    assert len(moved_ever) < 0.08 * 400


def test_fixed_splits_are_kept_and_the_rest_fill_what_the_label_needs():
    ids = list(range(100))
    fixed = {i: "test" for i in range(10)}
    splits = assign_splits(ids, [1] * 100, seed=0, fixed=fixed)
    assert all(splits[i] == "test" for i in range(10))
    counts = Counter(splits.values())
    assert (counts["train"], counts["validation"], counts["test"]) == (80, 10, 10)
    # too many fixed in one split: the others still share what is left in proportion
    fixed = {i: "test" for i in range(30)}
    counts = Counter(assign_splits(ids, [1] * 100, fixed=fixed).values())
    assert counts["test"] == 30 and (counts["train"], counts["validation"]) == (62, 8)


def test_parse_fractions():
    assert parse_fractions("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    assert parse_fractions(" 70, 20 ,10") == (0.7, 0.2, 0.1)
    for bad in ("0.8,0.1", "a,b,c", "0.5,0.5,0.5", "-0.1,0.6,0.5", "nan,0,1"):
        with pytest.raises(ValueError):
            parse_fractions(bad)


def test_every_label_is_split_close_to_the_fractions_under_the_hash_rule():
    ids, labels = [], []
    for label in range(3):
        for n in range(3000):
            ids.append(label * 100_000 + n)
            labels.append(label)
    splits = assign_splits(ids, labels, fractions=(0.7, 0.2, 0.1), seed=0, rule="hash")
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
