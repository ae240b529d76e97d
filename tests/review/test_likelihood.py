"""Suggestions carry the chance that they are right, and only sure ones are "likely"."""

from __future__ import annotations

import numpy as np
import pytest

from faceloop.labels.decisions import PERSON, UNKNOWN
from faceloop.labels.labelling import label_faces
from faceloop.learn.calibration import CONFIDENT, fit
from faceloop.readmodel import snapshot
from faceloop.review.label_queue import queue_item, suggest
from tests.builders import add_photo, make_person

#: ORL subjects labelled by name, answered "unknown person", and never labelled at all
NAMED = range(1, 31)
STRANGERS = range(31, 36)
NEVER_SEEN = range(36, 41)


@pytest.fixture
def orl_labelled(empty, orl_faces):
    """Real dlib embeddings: subjects 1-30 with all but their last photo named, 31-35
    answered "unknown person"; the last photo of each subject and every photo of 36-40 wait."""
    ws = empty
    vectors, _, subjects = orl_faces
    people = {s: make_person(ws, f"Subject {s}") for s in NAMED}
    waiting: dict[int, int] = {}
    for subject in range(1, 41):
        rows = np.flatnonzero(subjects == subject)
        *known, last = rows
        if subject in NEVER_SEEN:
            known = []
            last = rows[0]
        named = []
        for row in known:
            _, (face,) = add_photo(ws, 1, vectors=[vectors[row]], folder=f"/orl/{subject}/{row}")
            named.append(face)
        if subject in NAMED:
            label_faces(ws, named, PERSON, user_id=None, person_id=people[subject])
        elif named:
            label_faces(ws, named, UNKNOWN, user_id=None)
        _, (face,) = add_photo(ws, 1, vectors=[vectors[last]], folder=f"/orl/q{subject}")
        waiting[subject] = face
    return ws, people, waiting


def test_a_close_look_alike_is_likely_and_a_poor_one_is_not(orl_labelled) -> None:
    ws, people, waiting = orl_labelled
    sure = 0
    for subject in NAMED:
        first = queue_item(ws, waiting[subject]).suggestions[0]
        assert first.probability is not None and 0 < first.probability < 1
        if first.confident:
            sure += 1
            # a likely suggestion is right: never the wrong name on Enter
            assert first.person_id == people[subject]
            assert first.probability >= CONFIDENT
    assert sure >= len(NAMED) // 2
    for subject in [*STRANGERS, *NEVER_SEEN]:
        suggestions = queue_item(ws, waiting[subject]).suggestions
        # someone's name comes first, but nobody here is that person: not confident
        assert suggestions and not suggestions[0].confident
        assert suggestions[0].probability < CONFIDENT
    # one probability scale, best first
    item = queue_item(ws, waiting[1])
    chances = [s.probability for s in item.suggestions]
    assert chances == sorted(chances, reverse=True)
    assert sum(s.confident for s in item.suggestions) <= 1


def test_a_model_guess_is_ranked_by_its_calibrated_chance(orl_labelled) -> None:
    ws, people, waiting = orl_labelled
    state = snapshot(ws)
    pos = state.position(waiting[1])
    near = queue_item(ws, waiting[1]).suggestions[0]
    # a model that is right at 0.95 two times in three, and never wrong above 0.99
    scores = np.concatenate([np.full(300, 0.95), np.full(300, 0.999)])
    right = np.concatenate([np.arange(300) % 3 > 0, np.ones(300, dtype=bool)])
    model = fit(scores, right)
    found = suggest(
        state,
        pos,
        predicted=[(people[7], 0.95)],
        model_calibration=model,
        distance_calibration=None,
    )
    assert found[0].person_id == people[7] and found[0].reason == "model"
    assert not found[0].confident and found[0].probability < 0.7
    sure = suggest(state, pos, predicted=[(people[7], 0.999)], model_calibration=model)
    assert sure[0].confident
    # a model stored without a calibration measures nothing: never confident
    old = suggest(state, pos, predicted=[(people[7], 0.999)], model_calibration=None)
    assert all(not s.confident and s.probability is None for s in old)
    assert near.person_id == people[1]


def test_a_folder_hint_is_sure_only_for_a_photo_of_one_face(orl_labelled) -> None:
    ws, people, _ = orl_labelled
    _, (alone,) = add_photo(ws, 1, folder="/hint/one", hint=people[2])
    _, (one, two) = add_photo(ws, 2, folder="/hint/two", hint=people[2])
    first = queue_item(ws, alone).suggestions[0]
    assert first.reason == "hint" and first.confident
    for face in (one, two):
        first = queue_item(ws, face).suggestions[0]
        assert first.reason == "hint" and not first.confident
