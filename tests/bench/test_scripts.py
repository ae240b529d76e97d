"""The bench scripts that read photos run on a real folder-per-person set with the usual mess
in it (a truncated JPEG, a file that is not a photo, a photo with no face): each prints its
figures and names what it skipped, instead of stopping at the first bad file."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import DATA, ROOT

BENCH = ROOT / "bench"
PEOPLE = {1: "Ada", 2: "Bob", 3: "Cleo", 4: "Dmitri"}


@pytest.fixture(scope="module")
def messy_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four ORL people with six photos each, plus one truncated JPEG, one notes file and one
    photo of noise."""
    if not DATA.is_dir():
        pytest.fail(f"the shared test photos are not at {DATA}")
    root = tmp_path_factory.mktemp("messy") / "people"
    for subject, name in PEOPLE.items():
        (root / name).mkdir(parents=True)
        for n in range(1, 7):
            shutil.copy(DATA / "orl" / f"s{subject}" / f"{n}.pgm", root / name)
    whole = (DATA / "known" / "train" / "obama").glob("*.jpg")
    data = next(iter(sorted(whole))).read_bytes()
    (root / "Ada" / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (root / "Bob" / "notes.txt").write_text("who is who\n", encoding="utf-8")
    noise = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "Cleo" / "noise.jpg")
    return root


def assert_skip_report(output: str) -> None:
    assert "skipped 3 of 27 files:" in output
    lines = {line.split()[0]: line for line in output.splitlines() if line.startswith("  ")}
    assert "Bob/notes.txt" in lines["not"]
    assert "Ada/truncated.jpg (truncated" in lines["unreadable"]
    assert "Cleo/noise.jpg" in lines["no"]


def bench_module(name: str):
    """A bench script imported as a module, to run its main() in this process (the face
    models are loaded once for the whole test session, not once per script)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


def test_ingest_prints_its_figures_and_what_it_skipped(messy_set: Path) -> None:
    """As users run it: the script in a process of its own (it asserted nothing failed)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, str(BENCH / "ingest.py"), "--data", str(messy_set)]
    command += ["--photos", "100", "--workers", "1", "--no-baseline"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout.startswith("26 photos from ")
    assert " photos/s " in done.stdout and "faces/photo" in done.stdout
    assert_skip_report(done.stdout)
    assert "face_recognition  not run: --no-baseline" in done.stdout


def test_identify_accuracy_scores_the_photos_it_could_read(messy_set: Path, capsys) -> None:
    script = bench_module("identify_accuracy")
    assert (
        script.main([str(messy_set), "--min-photos", "5", "--cnn-folds", "0", "--workers", "1"])
        == 0
    )
    output = capsys.readouterr().out
    assert_skip_report(output)
    assert "24 photos with a face, 4 people" in output
    assert "head              top-1 " in output


def test_simulate_labeling_reports_what_it_left_out(
    messy_set: Path, tmp_path: Path, capsys
) -> None:
    script = bench_module("simulate_labeling")
    argv = [str(messy_set), "--min-photos", "5", "--workspace", str(tmp_path), "--workers", "1"]
    assert script.main(argv) == 0
    output = capsys.readouterr().out
    assert_skip_report(output)
    assert "faceloop: " in output and "fewer actions than the original workflow" in output


def test_a_folder_with_no_person_folders_gets_one_line(tmp_path: Path, capsys) -> None:
    script = bench_module("identify_accuracy")
    assert script.main([str(tmp_path), "--cnn-folds", "0"]) == 2
    assert (
        capsys.readouterr().err == f"error: no person folder in {tmp_path} has 10 or more photos\n"
    )


def test_simulate_labeling_posts_with_a_bad_table_is_one_line(tmp_path: Path, capsys) -> None:
    script = bench_module("simulate_labeling")
    table = tmp_path / "posts.csv"
    table.write_text("path,account\n", encoding="utf-8")
    argv = [str(DATA / "orl"), "--posts", str(table), "--workspace", str(tmp_path)]
    assert script.main(argv) == 2
    assert (
        capsys.readouterr().err
        == f"error: {table}: no row names a photo that exists (path,account)\n"
    )
