"""The labelling-effort simulation on real photos: faceloop's queues driven by an oracle label
every face right with fewer actions than the original workflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceloop.testing.simulate import (
    SimulationError,
    read_posts_csv,
    report,
    select_people,
    simulate,
)
from tests.conftest import DATA

ORL = DATA / "orl"


@pytest.fixture(scope="module")
def orl() -> Path:
    if not ORL.is_dir():
        pytest.fail(f"the ORL photos are not at {ORL}")
    return ORL


def test_every_face_labelled_right_with_fewer_actions(orl: Path, tmp_path: Path) -> None:
    people = select_people(orl, 5, 6)
    assert len(people) == 6 and all(len(p) == 10 for p in people.values())
    said: list[str] = []
    outcomes, original = simulate(people, tmp_path / "cache", workers=1, say=said.append)
    [faceloop] = outcomes
    assert said[0].startswith("importing 60 photos of 6 people")
    assert "x fewer actions than the original workflow" in report(outcomes, original)
    for outcome in (faceloop, original):
        assert outcome.labelled == outcome.faces >= 55
        assert outcome.precision == 1.0
    assert faceloop.tally.total_actions < original.tally.total_actions
    assert faceloop.tally.actions.get("groups", 0) >= 1
    assert original.tally.total_actions >= original.faces

    # the import is reused: a second run needs no detection
    said.clear()
    again, _ = simulate(people, tmp_path / "cache", original=False, say=said.append)
    assert not any(line.startswith("importing") for line in said)
    assert again[0].tally.total_actions == faceloop.tally.total_actions


def test_a_dataset_with_no_one_to_label_is_refused(orl: Path, tmp_path: Path) -> None:
    with pytest.raises(SimulationError, match="is not a folder"):
        select_people(tmp_path / "missing", 5, None)
    with pytest.raises(SimulationError, match="has 11 photos"):
        select_people(orl, 11, None)


def test_posts_by_accounts_are_linked_and_their_selfies_confirmed(
    orl: Path, tmp_path: Path
) -> None:
    """Every photo posted by its person's own account (a CSV): the oracle links each account
    the accounts page suggests and answers the pages of their selfies, and every face still
    ends labelled right."""
    people = select_people(orl, 5, 4)
    table = tmp_path / "posts.csv"
    rows = ["path,account"] + [
        f"{photo},@{name}_own" for name, photos in people.items() for photo in photos
    ]
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    authors = read_posts_csv(table)
    assert len(authors) == 40
    outcomes, _ = simulate(
        people, tmp_path / "cache", workers=1, original=False, posts=True, authors=authors
    )
    plain, posted = outcomes
    assert posted.name == "faceloop, with accounts"
    assert posted.labelled == posted.faces == plain.faces and posted.precision == 1.0
    assert posted.tally.actions.get("accounts: link", 0) >= 1
    assert posted.tally.shown.get("confirm: account selfies", 0) >= 1
    assert "of the actions per labelled face of faceloop" in report(outcomes, None)


def test_a_posts_table_naming_no_photo_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "posts.csv"
    table.write_text("path,account\nnowhere.jpg,@aya\n", encoding="utf-8")
    with pytest.raises(SimulationError, match="no row names a photo"):
        read_posts_csv(table)
