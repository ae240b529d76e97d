"""The labelling-effort benchmark on real photos: faceloop's queues driven by an oracle label
every face right with fewer actions than the original workflow."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA, ROOT

SCRIPT = ROOT / "bench" / "simulate_labeling.py"


def load_script():
    spec = importlib.util.spec_from_file_location("simulate_labeling", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sim():
    if not (DATA / "orl").is_dir():
        pytest.fail(f"the ORL photos are not at {DATA / 'orl'}")
    return load_script()


def test_every_face_labelled_right_with_fewer_actions(sim, tmp_path: Path, capsys) -> None:
    people = sim.select_people(DATA / "orl", 5, 6)
    assert len(people) == 6 and all(len(p) == 10 for p in people.values())
    outcomes, original = sim.simulate(people, tmp_path / "cache", workers=1)
    [faceloop] = outcomes
    sim.report(outcomes, original)
    printed = capsys.readouterr().out
    assert "x fewer actions than the original workflow" in printed
    for outcome in (faceloop, original):
        assert outcome.labelled == outcome.faces >= 55
        assert outcome.precision == 1.0
    assert faceloop.tally.total_actions < original.tally.total_actions
    assert faceloop.tally.actions.get("groups", 0) >= 1
    assert original.tally.total_actions >= original.faces

    # the import is reused: a second run needs no detection
    again, _ = sim.simulate(people, tmp_path / "cache", original=False)
    assert again[0].tally.total_actions == faceloop.tally.total_actions


def test_the_script_refuses_bad_input(sim, tmp_path: Path, capsys) -> None:
    assert sim.main([str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert sim.main([str(DATA / "orl"), "--min-photos", "11", "--workspace", str(tmp_path)]) == 2
    assert "has 11 photos" in capsys.readouterr().err
