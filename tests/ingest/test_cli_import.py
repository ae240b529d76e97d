"""`faceloop import` as a person sees it: in an 80-column terminal, and what it says (and does)
about grouping the faces it added."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import termios
from pathlib import Path

from faceloop.grouping.views import count_groups, count_ungrouped
from faceloop.workspace import open_workspace
from tests.conftest import DATA, needs_data
from tests.ingest.test_ingest import FACELOOP, run_cli

pytestmark = needs_data

ESCAPE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def in_terminal(*args: str, columns: int = 80) -> tuple[str, list[str]]:
    """Run faceloop in a pseudo-terminal `columns` wide: (everything it wrote, escapes
    removed; the lines left on the screen at the end)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm"}
    process = subprocess.Popen([FACELOOP, *args], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=600) == 0
    raw = b"".join(chunks).decode()
    return ESCAPE.sub("", raw), screen(raw)


def screen(raw: str) -> list[str]:
    """What a terminal shows after `raw`: carriage returns, line feeds, cursor up and clear
    line are followed; colours and the rest are ignored."""
    lines = [""]
    row = col = 0
    position = 0
    while position < len(raw):
        found = ESCAPE.match(raw, position)
        if found:
            value, command = found.groups()
            if command == "A":
                row = max(0, row - int(value or 1))
            elif command == "K":
                lines[row] = ""
                col = 0
            position = found.end()
            continue
        char = raw[position]
        position += 1
        if char == "\r":
            col = 0
        elif char == "\n":
            row += 1
            if row == len(lines):
                lines.append("")
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + char + line[col + 1 :]
            col += 1
    return [line.rstrip() for line in lines if line.strip()]


def orl(tmp_path: Path, name: str, subjects: range, photos: range) -> Path:
    folder = tmp_path / name
    for subject in subjects:
        for n in photos:
            target = folder / f"s{subject}"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(DATA / "orl" / f"s{subject}" / f"{n}.pgm", target / f"{n}.pgm")
    return folder


def test_import_in_a_terminal_says_it_loads_the_models_and_fits_80_columns(tmp_path) -> None:
    photos = orl(tmp_path, "photos", range(1, 3), range(1, 7))
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).returncode == 0
    written, shown = in_terminal("import", str(photos), "-r", "--workers", "1", "-w", str(ws))
    assert "loading face models…" in written
    assert written.index("loading face models…") < written.index("importing")
    assert all(len(line) <= 80 for line in shown), shown
    summary = shown[shown.index(next(s for s in shown if s.startswith("Imported"))) :]
    assert summary[0].startswith("Imported 12 photos with 12 faces in ")
    # every line of the summary is a whole sentence: none was broken mid-phrase
    assert all(line.endswith(".") for line in summary), summary
    assert any(line.startswith("Grouped 12 new faces: ") for line in summary), summary


def test_import_groups_the_new_faces_or_says_how(tmp_path) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).returncode == 0
    first = orl(tmp_path, "first", range(1, 4), range(1, 6))
    grouped = run_cli("import", str(first), "-r", "--workers", "1", "-w", str(ws))
    assert grouped.returncode == 0, grouped.stderr
    assert "Grouped 15 new faces: " in grouped.stdout
    assert "name them on the Groups page" in grouped.stdout
    with open_workspace(ws) as workspace:
        assert count_groups(workspace)[0] >= 2
        assert count_ungrouped(workspace) == 0

    more = orl(tmp_path, "more", range(4, 6), range(1, 4))
    later = run_cli("import", str(more), "-r", "--no-group", "--workers", "1", "-w", str(ws))
    assert later.returncode == 0, later.stderr
    assert "6 new faces are not grouped yet." in later.stdout
    assert "Next: faceloop cluster, or Re-cluster on the Groups page." in later.stdout
    with open_workspace(ws) as workspace:
        assert count_ungrouped(workspace) == 6

    # the same photos again add no face, but the faces left ungrouped are grouped now
    again = run_cli("import", str(first), "-r", "--workers", "1", "-w", str(ws))
    assert again.returncode == 0, again.stderr
    assert "Exact duplicates: 15." in again.stdout
    assert "Grouped 6 new faces: " in again.stdout
    with open_workspace(ws) as workspace:
        assert count_ungrouped(workspace) == 0


def test_an_import_labelled_by_folder_has_nothing_to_group(tmp_path) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).returncode == 0
    photos = orl(tmp_path, "people", range(1, 3), range(1, 4))
    labelled = run_cli("import", str(photos), "--by-folder", "--workers", "1", "-w", str(ws))
    assert labelled.returncode == 0, labelled.stderr
    assert "Labelled from names: 6." in labelled.stdout
    assert "group" not in labelled.stdout.lower()
