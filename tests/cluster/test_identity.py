"""Group ids survive re-clustering."""

from __future__ import annotations

import numpy as np

from faceloop.cluster import carry_over_ids


def arrays(*groups: list[int]) -> list[np.ndarray]:
    return [np.array(g) for g in groups]


def test_a_group_that_gains_faces_keeps_its_id() -> None:
    previous = {1: 10, 2: 10, 3: 10, 4: 11, 5: 11}
    ids, vanished = carry_over_ids(arrays([1, 2, 3, 9], [4, 5]), previous)
    assert ids == [10, 11] and vanished == []


def test_the_bigger_part_of_a_split_keeps_the_id() -> None:
    previous = dict.fromkeys(range(10), 7)
    ids, vanished = carry_over_ids(arrays([0, 1, 2], [3, 4, 5, 6, 7, 8, 9]), previous)
    assert ids == [8, 7] and vanished == []


def test_a_merge_keeps_the_larger_id_and_reports_the_other_vanished() -> None:
    previous = {1: 3, 2: 3, 3: 3, 4: 5}
    ids, vanished = carry_over_ids(arrays([1, 2, 3, 4]), previous)
    assert ids == [3] and vanished == [5]


def test_labelled_faces_leaving_and_new_faces_arriving() -> None:
    previous = {1: 0, 2: 0, 3: 0, 4: 0, 5: 1, 6: 1}
    # faces 1-3 were labelled and are gone; group 1's faces now sit among many new ones
    ids, vanished = carry_over_ids(
        arrays([4, 20, 21], [5, 30, 31, 32, 33, 34]), previous, next_id=9
    )
    assert ids == [0, 1]
    ids, vanished = carry_over_ids(arrays([40, 41]), previous, next_id=9)
    assert ids == [9] and vanished == [0, 1]


def test_a_small_overlap_with_a_big_old_group_is_not_enough() -> None:
    previous = dict.fromkeys(range(10), 2)
    ids, _ = carry_over_ids(arrays(list(range(7)), [7, 50, 51, 52, 53]), previous)
    assert ids == [2, 3]
