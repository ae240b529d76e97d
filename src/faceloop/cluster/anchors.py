""" "Probably <person>": which labelled person a group of unlabelled faces looks like.

A group is compared with each person through the same linkage that built it: the root mean
square distance between the group's faces and the person's labelled faces nearest to the group
(`local` of them, so a person photographed in several looks is matched on the look the group
shows). A person is suggested when that distance is within the threshold and the runner-up is at
least `margin` further away.

Measured on LFW (people with 5+ photos, 3 labelled faces each, the rest grouped at 0.5 among 2,838
one-photo distractors and background faces): at threshold 0.5, a margin of 0.1 suggested the right
person for 300 groups (3,033 faces) and a wrong one for 1 face; a margin of 0.05 gave 317
right (3,164 faces) and 6 wrong; no margin gave 13 wrong. With 10 labelled faces each,
comparing with the nearest three rather than all ten found 276 rather than 239 groups at about
the same precision (8 and 6 wrong); five is a compromise between the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceloop.cluster.neighbours import BLOCK_ENTRIES, pairwise_sq, squared_norms
from faceloop.cluster.stats import group_stats

#: labelled faces of a person that a group is compared with: the ones nearest the group
LOCAL_ANCHORS = 5
#: how much further the runner-up must be before a person is suggested
SUGGEST_MARGIN = 0.1
#: labelled faces nearest a group's centre among which candidate people are looked for
CANDIDATES = 64


@dataclass(frozen=True)
class Anchors:
    """Faces the user has labelled: embeddings (M, d), the person of each, and optionally the
    photo of each, so that a group holding another face of that photo is never suggested as
    that person (two faces of one photo are two people)."""

    embeddings: np.ndarray
    person_ids: np.ndarray
    image_ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.embeddings) != len(self.person_ids):
            raise ValueError("anchors need one person id per embedding")
        if self.image_ids is not None and len(self.image_ids) != len(self.person_ids):
            raise ValueError("anchors need one image id per embedding")


@dataclass(frozen=True)
class Suggestion:
    """The nearest person and how near. `distance` is the rms distance between the group and
    that person's nearest labelled faces; `runner_up_distance` the same for the next person (inf
    if none); `confident` whether the rule above offers it as "probably <person>"."""

    person_id: int
    distance: float
    runner_up_id: int | None
    runner_up_distance: float
    confident: bool

    @property
    def margin(self) -> float:
        return self.runner_up_distance - self.distance


def suggest_people(
    embeddings: np.ndarray,
    groups: list[np.ndarray],
    anchors: Anchors,
    *,
    threshold: float,
    image_ids: np.ndarray | None = None,
    margin: float = SUGGEST_MARGIN,
    local: int = LOCAL_ANCHORS,
) -> list[Suggestion | None]:
    """For each group (an index array into embeddings), the nearest labelled person, or None
    when no labelled person is near enough to be a candidate. A group of one face works too."""
    x = np.asarray(embeddings, dtype=np.float32)
    a = np.asarray(anchors.embeddings, dtype=np.float32)
    people = np.asarray(anchors.person_ids)
    if not groups:
        return []
    if len(a) == 0:
        return [None] * len(groups)
    means, spreads, _ = group_stats(x, groups)
    banned = _banned_people(groups, anchors, image_ids)
    a_sq = squared_norms(a)
    k = min(CANDIDATES, len(a))
    out: list[Suggestion | None] = []
    rows = max(1, BLOCK_ENTRIES // len(a))
    for start in range(0, len(groups), rows):
        block = means[start : start + rows].astype(np.float32)
        d = pairwise_sq(block, a, squared_norms(block), a_sq)
        near = np.argsort(d, axis=1, kind="stable")[:, :k]
        for row, nearest in enumerate(near):
            g = start + row
            out.append(
                _best_person(
                    a,
                    people,
                    nearest,
                    means[g],
                    spreads[g],
                    banned.get(g, set()),
                    threshold,
                    margin,
                    local,
                )
            )
    return out


def _best_person(
    a: np.ndarray,
    people: np.ndarray,
    nearest: np.ndarray,
    mean: np.ndarray,
    spread: float,
    banned: set[int],
    threshold: float,
    margin: float,
    local: int,
) -> Suggestion | None:
    scores: list[tuple[float, int]] = []
    for person in dict.fromkeys(people[nearest].tolist()):
        if person in banned:
            continue
        faces = a[nearest[people[nearest] == person][:local]].astype(np.float64)
        centre = faces.mean(axis=0)
        own = float(((faces - centre) ** 2).sum(axis=1).mean())
        rms = float(np.sqrt(max(spread + own + ((mean - centre) ** 2).sum(), 0.0)))
        scores.append((rms, person))
    if not scores:
        return None
    scores.sort()
    best, person = scores[0]
    second, runner = scores[1] if len(scores) > 1 else (float("inf"), None)
    confident = best <= threshold and second - best >= margin
    return Suggestion(int(person), best, None if runner is None else int(runner), second, confident)


def _banned_people(
    groups: list[np.ndarray], anchors: Anchors, image_ids: np.ndarray | None
) -> dict[int, set[int]]:
    """People who cannot be a group's person because they are labelled in a photo that also
    holds a face of the group."""
    if anchors.image_ids is None or image_ids is None:
        return {}
    labelled: dict[int, set[int]] = {}
    for image, person in zip(
        np.asarray(anchors.image_ids).tolist(), np.asarray(anchors.person_ids).tolist(), strict=True
    ):
        labelled.setdefault(image, set()).add(person)
    image_ids = np.asarray(image_ids)
    banned: dict[int, set[int]] = {}
    for g, members in enumerate(groups):
        for image in image_ids[members].tolist():
            if image in labelled:
                banned.setdefault(g, set()).update(labelled[image])
    return banned
