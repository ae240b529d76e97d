"""Which labelled faces a classifier trains on, and under which class.

A person becomes a class of her own only once she has enough faces for the model to learn her
(`min_per_class`); until then her faces are still useful as examples of "someone else". Class 0,
"other", gathers those faces together with faces people marked not-a-face or unknown person, so
that the model learns to say "none of my people" instead of forcing every face onto a target.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

OTHER = 0


class TrainingSet(NamedTuple):
    #: positions, in the caller's arrays, of the faces to train on (ascending)
    indices: np.ndarray
    #: the class id of each chosen face: its person id, or 0 for "other"
    y: np.ndarray
    #: 0 first, then the target people in ascending id order
    classes: np.ndarray


def build_training_set(
    person_ids: np.ndarray,
    min_per_class: int = 30,
    other_ratio: float = 0.3,
    seed: int = 0,
) -> TrainingSet:
    """Choose the training faces from the label of every labelled face (0 for not-a-face or
    unknown person).

    Every face of a target person is kept. "Other" faces are sampled uniformly without
    replacement so that they make up about `other_ratio` of the result: enough for the model to
    learn a reject class, not so many that it drowns the people. With no target person the result
    is empty and `classes` is just `[0]`: there is nothing to train yet.
    """
    if not 0.0 <= other_ratio < 1.0:
        raise ValueError(f"other_ratio must be in [0, 1), not {other_ratio}")
    person_ids = np.asarray(person_ids, dtype=np.int64)
    if person_ids.ndim != 1:
        raise ValueError("person_ids must be one-dimensional")
    if (person_ids < 0).any():
        raise ValueError("person ids must be non-negative (0 means not-a-face or unknown)")

    ids, counts = np.unique(person_ids[person_ids != OTHER], return_counts=True)
    targets = ids[counts >= min_per_class]
    is_target = np.isin(person_ids, targets)
    target_idx = np.flatnonzero(is_target)
    classes = np.concatenate([[OTHER], targets]).astype(np.int64)
    if len(targets) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return TrainingSet(empty, empty.copy(), classes)

    pool = np.flatnonzero(~is_target)
    wanted = round(other_ratio / (1.0 - other_ratio) * len(target_idx))
    rng = np.random.default_rng(seed)
    other_idx = rng.choice(pool, size=min(wanted, len(pool)), replace=False)

    indices = np.sort(np.concatenate([target_idx, other_idx]))
    y = np.where(is_target[indices], person_ids[indices], OTHER)
    return TrainingSet(indices, y, classes)
