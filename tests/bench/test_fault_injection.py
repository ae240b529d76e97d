"""bench/fault_injection.py's machinery, so the script cannot rot between the runs that prove
issue 14: the table, a probe that cannot run, the orphan check, the settings it writes and the
command line it drives. (The probes themselves pass only once every part of the issue is in.)"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from faceloop.workspace import init_workspace
from faceloop.workspace.config import Settings
from tests.bench.test_scripts import bench_module

faults = bench_module("fault_injection")


def test_the_table_lines_up_and_says_pass_or_fail() -> None:
    rows = [
        faults.Row("login: 100 wrong at once", "<= 10 x 401", "100 x 401", False),
        faults.Row("disk", "exit 0", "exit 0", True),
    ]
    lines = faults.table(rows).splitlines()
    assert lines[0].split(" | ") == ["probe                   ", "expected   ", "observed ", "pass"]
    assert set(lines[1]) == {"-", "+"}
    assert lines[2].endswith("| FAIL") and lines[3].endswith("| PASS")
    assert len({line.index("|") for line in lines if "|" in line}) == 1


def test_a_probe_that_cannot_run_is_a_failed_row_and_the_rest_still_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    def broken(work: Path, photos: Path) -> list:
        raise RuntimeError("cannot mount a tmpfs (needs root)")

    def fine(work: Path, photos: Path) -> list:
        return [faults.Row("fine", "ok", "ok", True)]

    monkeypatch.setitem(faults.PROBES, "broken", broken)
    monkeypatch.setitem(faults.PROBES, "fine", fine)
    rows = faults.run_probes(["broken", "fine"], tmp_path, tmp_path)
    assert rows == [
        faults.Row(
            "broken", "the probe runs", "RuntimeError: cannot mount a tmpfs (needs root)", False
        ),
        faults.Row("fine", "ok", "ok", True),
    ]
    assert "FAIL  broken" in capsys.readouterr().out


def test_processes_that_outlive_a_killed_command_are_found(tmp_path: Path) -> None:
    parent = subprocess.Popen(["bash", "-c", "sleep 60 & sleep 60 & wait"], start_new_session=True)
    try:
        known: dict[int, int] = {}
        deadline = time.monotonic() + 30
        while len(known) < 2 and time.monotonic() < deadline:
            known = faults.descendants(parent.pid)
        assert len(known) == 2
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        left = faults.survivors(known, parent.pid, grace=0.5)
        assert sorted(int(p.split()[0]) for p in left) == sorted(known)
        assert all("sleep 60" in p for p in left)
    finally:
        for pid in faults.in_session(parent.pid):
            os.kill(pid, signal.SIGKILL)
    assert faults.survivors(known, parent.pid, grace=5) == []


def test_the_settings_it_writes_are_the_ones_faceloop_reads(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws").close()
    faults.set_settings(
        tmp_path / "ws",
        {"detect": {"min_face": 55, "detector": "cnn"}, "web": {"trusted_proxies": ["127.0.0.1"]}},
    )
    settings = Settings.load(tmp_path / "ws" / "faceloop.toml")
    assert (settings.detect.min_face, settings.detect.detector) == (55, "cnn")
    assert tuple(settings.web.trusted_proxies) == ("127.0.0.1",)
    assert faults.stored(tmp_path / "ws") == (0, 0, 0)


def test_it_drives_the_real_command_line(tmp_path: Path) -> None:
    env = faults.child_env(PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    done = faults.run("init", str(tmp_path / "ws"), env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ws" / "faceloop.toml").is_file()


def test_a_missing_photo_folder_is_one_line(tmp_path: Path, capsys) -> None:
    assert faults.main(["--data", str(tmp_path / "nowhere"), "--probe", "settings"]) == 2
    assert (
        capsys.readouterr().err
        == f"error: {tmp_path / 'nowhere'} is not a folder of person folders\n"
    )
