"""`faceloop source …` and `faceloop collect --once` as a user types them, on a folder source:
what each command says, that a paused source is left alone until it is resumed, and that a
wrong source number is one clear line and exit code 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import DATA, needs_data

pytestmark = needs_data
FACELOOP = str(Path(sys.executable).with_name("faceloop"))


def faceloop(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FACELOOP, *args], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}
    )


def test_add_list_pause_collect_resume_remove(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for path in sorted((DATA / "lfw-devtrain" / "George_W_Bush").glob("*.jpg"))[:3]:
        shutil.copy(path, photos)
    ws = str(tmp_path / "ws")
    assert faceloop("init", ws).returncode == 0

    added = faceloop("source", "add", "folder", str(photos), "-w", ws)
    assert added.returncode == 0, added.stderr
    assert "Added source #1" in added.stdout
    listed = faceloop("source", "list", "-w", ws).stdout
    assert "folder" in listed and "every 30 min" in listed and "never" in listed

    assert "paused" in faceloop("source", "pause", "1", "-w", ws).stdout
    assert "paused" in faceloop("source", "list", "-w", ws).stdout
    idle = faceloop("collect", "--once", "-w", ws)
    assert idle.returncode == 0, idle.stderr
    assert "Nothing to collect" in idle.stdout

    assert "resumed" in faceloop("source", "resume", "1", "-w", ws).stdout
    ran = faceloop("collect", "--once", "-w", ws)
    assert ran.returncode == 0, ran.stderr
    assert "3 new posts, 3 new photos (0 seen before), 3 faces" in ran.stdout
    again = faceloop("collect", "--once", "-w", ws)
    assert "0 new posts, 0 new photos" in again.stdout
    listed = faceloop("source", "list", "-w", ws).stdout
    assert "never" not in listed and "│ 3     │ 3      │ 3" in listed

    wrong = faceloop("source", "pause", "7", "-w", ws)
    assert wrong.returncode == 2
    assert "no source called '7'" in wrong.stderr and "Traceback" not in wrong.stderr

    removed = faceloop("source", "remove", "1", "-w", ws)
    assert "photos, faces and labels stay" in removed.stdout
    assert "No sources yet" in faceloop("source", "list", "-w", ws).stdout
