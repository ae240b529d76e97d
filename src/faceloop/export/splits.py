"""Train / validation / test assignment that never moves a face once it has a split.

The rule is a hash: u = first 8 bytes of SHA-256("{seed}:{face_id}") read as a fraction of 2**64,
then train if u < f_train, validation if u < f_train + f_validation, else test.

Why a hash of (seed, face_id) and nothing else: models are retrained with a warm start from the
last model, so a face that was in train last time and in test this time would leak into the
evaluation. A split that depends only on the face itself cannot change when other faces are
added, removed or relabelled. The price is that stratification by label holds in expectation,
not exactly: each label's faces are split by the same independent rule, so a label with n faces
gets Binomial(n, f) of them in a split (for n = 1000, validation is 100 ± 9). Exact per-label
quotas would have to look at the other faces of the label, and any such rule moves faces when new
ones arrive. SHA-256 rather than Python's `hash` because the result must be the same in every
process, version and language that wants to reproduce it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable

from faceloop.export.records import SPLITS, Split

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
_SCALE = float(2**64)
_NAMES = {"train": "train", "validation": "validation", "valid": "validation", "val": "validation"}
_NAMES |= {"eval": "validation", "test": "test"}
_PREFIX = re.compile(r"^([a-z]+)(?:[-_.]|$)")


def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions):
        raise ValueError(f"fractions must be three non-negative numbers, not {fractions!r}")
    if not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
        raise ValueError(f"fractions must add up to 1, not {sum(fractions)}")


def split_of(
    face_id: int, seed: int = 0, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> Split:
    """The split of one face; the same answer for the same (seed, face_id), always."""
    _check_fractions(fractions)
    return _split(face_id, seed, fractions)


def _split(face_id: int, seed: int, fractions: tuple[float, float, float]) -> Split:
    digest = hashlib.sha256(f"{seed}:{face_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / _SCALE
    if u < fractions[0]:
        return SPLITS[0]
    if u < fractions[0] + fractions[1]:
        return SPLITS[1]
    return SPLITS[2]


def assign_splits(
    face_ids: Iterable[int],
    labels: Iterable[int],
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> dict[int, Split]:
    """Splits for many faces at once, stratified by label in expectation (see the module doc).

    `labels` is taken so that a call reads like the stratified splitters people know and so that
    a mismatch between the two lists is caught; the rule itself does not need it, which is
    exactly what keeps a relabelled face in the split it had.
    """
    _check_fractions(fractions)
    ids = list(face_ids)
    label_list = list(labels)
    if len(ids) != len(label_list):
        raise ValueError(f"{len(ids)} face ids but {len(label_list)} labels")
    return {face_id: _split(face_id, seed, fractions) for face_id in ids}


def split_from_name(name: str) -> Split | None:
    """The split a file or folder name starts with: "train-00000-of-00004", "val", "test"."""
    match = _PREFIX.match(name.lower())
    return _NAMES.get(match.group(1)) if match else None  # type: ignore[return-value]
