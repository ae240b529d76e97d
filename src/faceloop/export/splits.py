"""Train / validation / test assignment: exactly stratified by label, reproducible, and stable
enough to retrain on successive exports.

Each face gets a key, u = first 8 bytes of SHA-256("{seed}:{face_id}") read as a fraction of
2**64. A label's faces are ordered by u (then id) and cut at the rounded proportions: with
n faces, the first floor(n * f_train + 0.5) go to train, the faces up to
floor(n * (f_train + f_validation) + 0.5) to validation, the rest to test. Every label is split
to within one face of the fractions, so a person with 30 faces always has 3 validation and 3
test faces (a per-face rule leaves 4% of such people with no test face at all).

Why the key depends only on (seed, face_id): the order of a label's faces never changes, so a
face moves only when the cut points pass over it. Adding a face moves at most one face per cut
of its own label and none of any other label; in a simulation of a label growing one face at a
time from 10 to 1,000 faces, 0.5 faces moved per added face and 4.6% of all faces ever changed
split (from 100 to 1,000 in steps of ten: 3.7%). That is the price of exact quotas; `rule="hash"`
keeps the per-face rule (train if u < f_train, validation if u < f_train + f_validation, else
test), under which no face ever moves, when zero movement matters more than exact proportions.

Faces whose split is already decided (read from an imported dataset, say) are passed as
`fixed`: they keep it, and only the other faces of their label are cut, so that the label as a
whole comes as close to the fractions as the fixed faces allow.

SHA-256 rather than Python's `hash` because the result must be the same in every process,
version and language that wants to reproduce it.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Literal

from faceloop.export.records import SPLITS, Split

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
SplitRule = Literal["exact", "hash"]
_SCALE = float(2**64)
_NAMES = {"train": "train", "validation": "validation", "valid": "validation", "val": "validation"}
_NAMES |= {"eval": "validation", "test": "test"}
_PREFIX = re.compile(r"^([a-z]+)(?:[-_.]|$)")


def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions):
        raise ValueError(f"fractions must be three non-negative numbers, not {fractions!r}")
    if not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
        raise ValueError(f"fractions must add up to 1, not {sum(fractions)}")


def parse_fractions(text: str) -> tuple[float, float, float]:
    """ "0.8,0.1,0.1" (or "80,10,10", read as percentages) to checked fractions."""
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"split must be three numbers such as 0.8,0.1,0.1, not {text!r}") from None
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"split must be three numbers such as 0.8,0.1,0.1, not {text!r}")
    if math.isclose(sum(values), 100.0, abs_tol=1e-6):
        values = [v / 100 for v in values]
    fractions = (values[0], values[1], values[2])
    _check_fractions(fractions)
    return fractions


def split_key(face_id: int, seed: int = 0) -> float:
    """The face's place in [0, 1): the order faces are cut in, the same everywhere."""
    digest = hashlib.sha256(f"{seed}:{face_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def split_of(
    face_id: int, seed: int = 0, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> Split:
    """The split of one face under the per-face rule ("hash"): the same answer for the same
    (seed, face_id), always, whatever other faces there are."""
    _check_fractions(fractions)
    return _by_threshold(split_key(face_id, seed), fractions)


def _by_threshold(u: float, fractions: tuple[float, float, float]) -> Split:
    if u < fractions[0]:
        return SPLITS[0]
    if u < fractions[0] + fractions[1]:
        return SPLITS[1]
    return SPLITS[2]


def quotas(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """How many of n faces each split gets: cumulative cuts rounded half up, so they add to n
    and each is within one face of n times its fraction."""
    first = math.floor(n * fractions[0] + 0.5)
    second = max(first, math.floor(n * (fractions[0] + fractions[1]) + 0.5))
    second = min(second, n)
    return first, second - first, n - second


def assign_splits(
    face_ids: Iterable[int],
    labels: Iterable[int],
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    *,
    rule: SplitRule = "exact",
    fixed: Mapping[int, Split] | None = None,
) -> dict[int, Split]:
    """Splits for many faces at once, stratified by label (see the module doc for the rules).

    `fixed` maps face ids to splits they must keep; the others fill up what their label
    still needs.
    """
    _check_fractions(fractions)
    if rule not in ("exact", "hash"):
        raise ValueError(f"unknown split rule {rule!r}; choose exact or hash")
    ids = list(face_ids)
    label_list = list(labels)
    if len(ids) != len(label_list):
        raise ValueError(f"{len(ids)} face ids but {len(label_list)} labels")
    fixed = fixed or {}
    result: dict[int, Split] = {}
    by_label: dict[int, list[int]] = defaultdict(list)
    pinned: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for face_id, label in zip(ids, label_list, strict=True):
        chosen = fixed.get(face_id)
        if chosen is not None:
            if chosen not in SPLITS:
                raise ValueError(f"face {face_id}: split {chosen!r} is not one of {SPLITS}")
            result[face_id] = chosen
            pinned[label][SPLITS.index(chosen)] += 1
        elif rule == "hash":
            result[face_id] = _by_threshold(split_key(face_id, seed), fractions)
        else:
            by_label[label].append(face_id)
    for label, free in by_label.items():
        order = sorted(free, key=lambda face_id: (split_key(face_id, seed), face_id))
        counts = _still_needed(len(free), pinned.get(label, [0, 0, 0]), fractions)
        start = 0
        for split, count in zip(SPLITS, counts, strict=True):
            for face_id in order[start : start + count]:
                result[face_id] = split
            start += count
    return result


def _still_needed(
    free: int, pinned: list[int], fractions: tuple[float, float, float]
) -> tuple[int, int, int]:
    """Shares of `free` faces so that free + pinned per split come closest to the quotas."""
    if not any(pinned):
        return quotas(free, fractions)
    wanted = quotas(free + sum(pinned), fractions)
    gaps = [max(0, w - p) for w, p in zip(wanted, pinned, strict=True)]
    total = sum(gaps)
    if total == 0:
        return quotas(free, fractions)
    # the gaps add up to at least `free`; share `free` out in proportion, largest remainder
    exact = [free * g / total for g in gaps]
    shares = [math.floor(x) for x in exact]
    order = sorted(range(3), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: free - sum(shares)]:
        shares[i] += 1
    return shares[0], shares[1], shares[2]


def split_from_name(name: str) -> Split | None:
    """The split a file or folder name starts with: "train-00000-of-00004", "val", "test"."""
    match = _PREFIX.match(name.lower())
    return _NAMES.get(match.group(1)) if match else None  # type: ignore[return-value]
