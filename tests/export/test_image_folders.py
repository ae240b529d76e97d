from __future__ import annotations

import json
import unicodedata
from dataclasses import replace

import pytest

from faceloop.export import (
    ExportOptions,
    read_dataset,
    safe_name,
    write_image_folders,
)

from .conftest import make_face


def test_round_trip(tmp_path, faces):
    summary = write_image_folders(iter(faces), tmp_path / "out")
    assert summary.faces == len(faces)
    reader = read_dataset(tmp_path / "out")
    assert reader.format == "image_folders"
    back = {f.source_face_id: f for f in reader}
    assert reader.problems == []
    assert set(back) == {f.face_id for f in faces}
    for face in faces:
        got = back[face.face_id]
        assert (got.image, got.label, got.split) == (face.crop_jpeg, face.label, face.split)
        assert got.person_name == (face.person_name if face.label else None)
        assert got.aliases == (face.aliases if face.label else ())


def test_layout_is_split_person_face_id(tmp_path, faces):
    write_image_folders(iter(faces), tmp_path / "out", ExportOptions(contact_sheets=False))
    labels = json.loads((tmp_path / "out" / "labels.json").read_text("utf-8"))
    folders = {int(k): v["folder"] for k, v in labels.items()}
    # "mei" and "Mei" are one folder on macOS and Windows, so they must differ by more than case
    assert folders == {0: "other", 1: "アリス", 2: "Bob_.._", 3: "mei", 4: "Mei-4"}
    for face in faces:
        assert (
            tmp_path / "out" / face.split / folders[face.label] / f"{face.face_id}.jpg"
        ).is_file()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("アリス", "アリス"),
        ("a/b\\c", "a_b_c"),
        ("..", "_"),
        ("../../etc/passwd", "_.._etc_passwd"),
        (".hidden", "hidden"),
        ("name. ", "name"),
        ("-rf", "_rf"),
        ("CON", "CON_"),
        ("com1.txt", "com1.txt_"),
        ('a:b*c?"d<e>f|g', "a_b_c__d_e_f_g"),
        ("tab\there\nnew", "tab_here_new"),
        ("evil\u202etxt.exe", "evil_txt.exe"),
        ("  two   spaces  ", "two spaces"),
        ("", "_"),
    ],
)
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_safe_name_joins_decomposed_kana_and_caps_length():
    decomposed = unicodedata.normalize("NFD", "がくと")
    assert safe_name(decomposed) == "がくと"
    long = safe_name("あ" * 200)
    assert len(long.encode()) <= 120 and set(long) == {"あ"}


def test_hostile_names_stay_inside_the_output(tmp_path):
    names = ["../../escape", "/abs/path", "..", ".", "C:\\Windows", "other", "OTHER", "nul"]
    records = [
        replace(make_face(i + 1, 1, split="train"), label=i + 1, person_name=name, person_id=None)
        for i, name in enumerate(names)
    ]
    out = tmp_path / "out"
    write_image_folders(iter(records), out, ExportOptions(contact_sheets=False))
    written = [p for p in (out / "train").rglob("*") if p.is_file()]
    assert len(written) == len(names)
    for path in written:
        assert path.resolve().is_relative_to(out.resolve() / "train")
    folders = {p.parent.name for p in written}
    assert len(folders) == len(names) and "other" not in folders
    assert not (tmp_path / "escape").exists()
    assert {f.person_name for f in read_dataset(out)} == set(names)
