"""The grouping threshold is learned from labels, and holds on people it was not learned from."""

from __future__ import annotations

import numpy as np

from faceloop.cluster import (
    DEFAULT_THRESHOLD,
    group_faces,
    learn_threshold,
    pair_precision,
    start_threshold,
)


def test_too_few_labels_give_the_default(crowd) -> None:
    two_people = np.isin(crowd.people, [0, 1])
    few = np.flatnonzero(two_people)[:6]
    learned = learn_threshold(crowd.embeddings[few], crowd.people[few])
    assert not learned.learned and learned.value == DEFAULT_THRESHOLD
    assert not learn_threshold(np.zeros((0, 128)), np.zeros(0)).learned


def test_learned_threshold_meets_its_precision_on_held_out_people(crowd) -> None:
    people = crowd.people
    fit = people < 15
    held = (people >= 15) & (people < 30)
    learned = learn_threshold(crowd.embeddings[fit], people[fit], target_precision=0.99)
    assert learned.learned and learned.precision >= 0.99
    assert learned.value != DEFAULT_THRESHOLD
    precision, recall = pair_precision(crowd.embeddings[held], people[held], learned.value)
    print(f"learned {learned.value:.3f}: held-out precision {precision:.4f}, recall {recall:.3f}")
    assert precision >= 0.98 and recall > 0.5


def test_a_stricter_target_gives_a_smaller_threshold(crowd) -> None:
    fit = crowd.people < 30
    loose = learn_threshold(crowd.embeddings[fit], crowd.people[fit], target_precision=0.95)
    strict = learn_threshold(crowd.embeddings[fit], crowd.people[fit], target_precision=0.999)
    assert strict.value < loose.value


def population(spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Twenty people of eight faces around one shared component; `spread` scales both how far
    apart people are and how far one person's photos vary, as dlib does to a population it
    was not trained on."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=128)
    common *= 1.4 / np.linalg.norm(common)
    people = np.repeat(np.arange(20), 8)
    centres = rng.normal(scale=0.05 * spread, size=(20, 128))
    faces = common + centres[people] + rng.normal(scale=0.015 * spread, size=(len(people), 128))
    return faces.astype(np.float32), people


def test_the_start_follows_the_population_scale() -> None:
    wide, _ = population(1.0, seed=1)
    tight, people = population(0.5, seed=2)
    assert start_threshold(tight) < 0.6 * start_threshold(wide)
    assert start_threshold(tight[:1]) == DEFAULT_THRESHOLD
    assert start_threshold(tight) == start_threshold(tight), "the same every run"
    # dlib's usual threshold merges the tight population's people; the start keeps them apart
    photos = np.arange(len(tight))
    merged = group_faces(tight, photos, threshold=DEFAULT_THRESHOLD)
    apart = group_faces(tight, photos, threshold=start_threshold(tight))
    assert max(len(np.unique(people[g.members])) for g in merged.groups) > 1
    assert all(len(np.unique(people[g.members])) == 1 for g in apart.groups)
    assert sum(g.size for g in apart.groups) >= 0.9 * len(tight)
