"""How far apart two faces may be and still be grouped: learned from the user's own labels.

dlib's descriptor puts two photos of one person usually under 0.5 apart and two people 0.6-0.9
apart, but not for every population: East-Asian faces and children sit closer together, so a
constant that is safe for one user merges different people for another. The threshold is therefore
estimated from labelled faces: the largest distance t such that, of the labelled pairs closer than
t, at least the target share are one person.

Pairs are not independent: 45 pairs of people give all 2,880 different-person pairs among ten
ORL people with eight photos each, and one look-alike pair of people decides the tail. So the
estimate is repeated on people resampled with replacement (a bootstrap over people, pairs
re-weighted rather than recomputed) and the 10th percentile is taken: with few people the
threshold comes out lower, and with no certain answer the conservative default is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: dlib's distance for faces of one person, where nothing better is known (no faces to measure
#: the population's scale on, no grouping run yet); below the 0.5 of dlib's own example because
#: purity costs more than coverage (a wrong face in a group is a click, or a wrong label)
DEFAULT_THRESHOLD = 0.45
#: the start, as a share of the median distance between two faces of the workspace (see
#: `start_threshold`)
START_SHARE = 0.55
#: random pairs of faces that measure that median
START_PAIRS = 20_000
#: bootstrap replicates over people, and the percentile of their thresholds that is used
REPLICATES = 64
PERCENTILE = 10.0


@dataclass(frozen=True)
class Threshold:
    """A grouping threshold and where it came from. `precision`: the share of one-person pairs
    among labelled pairs closer than `value` (nan for the default); `learned` is False when
    there were too few labelled pairs and `value` is the default."""

    value: float
    learned: bool
    precision: float
    same_pairs: int
    different_pairs: int

    def __float__(self) -> float:
        return self.value


def labelled_pairs(
    embeddings: np.ndarray,
    person_ids: np.ndarray,
    *,
    per_person: int = 40,
    max_faces: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distances of all pairs among a sample of labelled faces and the two people of each pair
    (as indices into the sorted person ids). At most `per_person` faces of each person are
    kept, so that one person with hundreds of photos does not decide the threshold for
    everyone; at most `max_faces` in all, sampled uniformly (two million pairs)."""
    x = np.asarray(embeddings, dtype=np.float32)
    _, y = np.unique(np.asarray(person_ids), return_inverse=True)
    rng = np.random.default_rng(seed)
    keep = []
    for person in np.unique(y):
        faces = np.flatnonzero(y == person)
        if len(faces) > per_person:
            faces = rng.choice(faces, per_person, replace=False)
        keep.append(faces)
    chosen = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
    if len(chosen) > max_faces:
        chosen = np.sort(rng.choice(chosen, max_faces, replace=False))
    x, y = x[chosen].astype(np.float64), y[chosen]
    i, j = np.triu_indices(len(x), 1)
    sq = np.einsum("ij,ij->i", x, x)
    d2 = (sq[:, None] + sq[None, :] - 2 * x @ x.T)[i, j]
    return np.sqrt(np.maximum(d2, 0.0)), y[i], y[j]


def _largest_precise(same: np.ndarray, weight: np.ndarray, target: float) -> int:
    """Index of the last (sorted) same-person pair up to which the weighted share of
    same-person pairs is at least target, or -1."""
    hits = np.cumsum(np.where(same, weight, 0.0))
    totals = np.cumsum(weight)
    ok = np.flatnonzero((hits >= target * totals) & same & (weight > 0))
    return int(ok[-1]) if len(ok) else -1


def learn_threshold(
    embeddings: np.ndarray,
    person_ids: np.ndarray,
    *,
    target_precision: float = 0.995,
    default: float = DEFAULT_THRESHOLD,
    min_same_pairs: int = 30,
    seed: int = 0,
) -> Threshold:
    """The largest distance t such that, among labelled pairs closer than t, the share that are
    one person is at least `target_precision`, made robust by the bootstrap over people in the
    module docstring. Works in whatever space the embeddings are in, so a threshold for
    projected faces is learned from projected ones. With fewer than `min_same_pairs`
    same-person pairs, or when a tenth of the replicates find no such t, the default."""
    distance, first, second = labelled_pairs(embeddings, person_ids, seed=seed)
    same = first == second
    n_same, n_diff = int(same.sum()), int((~same).sum())
    fallback = Threshold(float(default), False, float("nan"), n_same, n_diff)
    if n_same < min_same_pairs:
        return fallback
    order = np.argsort(distance, kind="stable")
    distance, first, second, same = distance[order], first[order], second[order], same[order]
    people = int(max(first.max(), second.max())) + 1
    rng = np.random.default_rng(seed)
    found = []
    for _ in range(REPLICATES):
        copies = np.bincount(rng.integers(0, people, people), minlength=people).astype(float)
        weight = np.where(same, copies[first], copies[first] * copies[second])
        last = _largest_precise(same, weight, target_precision)
        found.append(distance[last] if last >= 0 else -np.inf)
    value = float(np.percentile(found, PERCENTILE))
    if not np.isfinite(value):
        return fallback
    close = distance <= value
    return Threshold(value, True, float(same[close].mean()), n_same, n_diff)


def pair_precision(
    embeddings: np.ndarray, person_ids: np.ndarray, threshold: float, *, seed: int = 0
) -> tuple[float, float]:
    """(precision, recall) of "closer than threshold means one person" on labelled pairs: how a
    threshold is checked on people it was not learned from."""
    distance, first, second = labelled_pairs(embeddings, person_ids, seed=seed)
    same = first == second
    close = distance <= threshold
    precision = float(same[close].mean()) if close.any() else 1.0
    recall = float(close[same].mean()) if same.any() else 0.0
    return precision, recall


def start_threshold(
    embeddings: np.ndarray,
    *,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    share: float = START_SHARE,
    seed: int = 0,
) -> float:
    """Where grouping starts before any label: `share` of the median distance between two of the
    workspace's faces (nearly all pairs are two different people), so that the start follows the
    population's own scale. dlib's descriptor packs a population it was not trained on into a
    small part of its space: the median pair is 0.81 apart on lfw-devtrain (5+ photos) but 0.52
    on eastasian, and the threshold that all their labels give (`learn_threshold` at 0.98) is
    0.44 and 0.25. A constant 0.45 suits LFW and merges different idols in nearly every group;
    0.55 of the median gives 0.445 and 0.28. `transform` (a projection's) is applied to the
    sampled faces only, so a hundred thousand faces are not projected for 20,000 pairs. Falls
    back to `DEFAULT_THRESHOLD` with fewer than two faces."""
    x = np.asarray(embeddings, dtype=np.float32)
    if len(x) < 2:
        return DEFAULT_THRESHOLD
    rng = np.random.default_rng(seed)
    first = rng.integers(0, len(x), START_PAIRS)
    second = (first + rng.integers(1, len(x), START_PAIRS)) % len(x)
    a, b = x[first], x[second]
    if transform is not None:
        a, b = transform(a), transform(b)
    median = float(np.median(np.linalg.norm(a - b, axis=1)))
    return float(share * median) if median > 0 else DEFAULT_THRESHOLD
