"""The grouping threshold is learned from labels, and holds on people it was not learned from."""

from __future__ import annotations

import numpy as np

from faceloop.cluster import DEFAULT_THRESHOLD, learn_threshold, pair_precision


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
