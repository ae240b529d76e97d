from __future__ import annotations

import io

import pytest
from PIL import Image

from faceloop.export import detect_format, guess_image_kind, read_dataset

from .conftest import make_jpeg


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 100, 50)).save(buffer, "PNG")
    return buffer.getvalue()


def test_plain_folder_per_person_tree(tmp_path):
    (tmp_path / "Alice" / "2023").mkdir(parents=True)
    (tmp_path / "ボブ").mkdir()
    (tmp_path / "Alice" / "a.jpg").write_bytes(make_jpeg(1))
    (tmp_path / "Alice" / "2023" / "b.png").write_bytes(png(40, 40))
    (tmp_path / "Alice" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / "ボブ" / "c.jpeg").write_bytes(make_jpeg(2))
    (tmp_path / "ボブ" / "notes.txt").write_text("not an image")
    (tmp_path / "ボブ" / "empty.jpg").write_bytes(b"")
    (tmp_path / "stray.jpg").write_bytes(make_jpeg(3))

    reader = read_dataset(tmp_path)
    assert reader.format == "folder_tree"
    faces = list(reader)
    assert [(f.person_name, f.file.name, f.label, f.split) for f in faces] == [
        ("Alice", "b.png", None, None),
        ("Alice", "a.jpg", None, None),
        ("ボブ", "c.jpeg", None, None),
    ]
    assert faces[1].image == make_jpeg(1)
    problems = {p.file.name: p.reason for p in reader.problems}
    assert set(problems) == {"notes.txt", "empty.jpg", "stray.jpg"}
    assert "not an image" in problems["notes.txt"]
    assert all(p.record is None for p in reader.problems)


def test_split_folders_above_person_folders(tmp_path):
    for split, person, seed in [("train", "Alice", 1), ("val", "Alice", 2), ("test", "Bob", 3)]:
        (tmp_path / split / person).mkdir(parents=True)
        (tmp_path / split / person / f"{seed}.jpg").write_bytes(make_jpeg(seed))
    faces = list(read_dataset(tmp_path))
    assert sorted((f.split, f.person_name) for f in faces) == [
        ("test", "Bob"),
        ("train", "Alice"),
        ("validation", "Alice"),
    ]


def test_a_person_called_like_a_split_is_still_a_person(tmp_path):
    for person in ("Test", "Yui"):
        (tmp_path / person).mkdir()
        (tmp_path / person / "1.jpg").write_bytes(make_jpeg(1))
    assert sorted(f.person_name for f in read_dataset(tmp_path)) == ["Test", "Yui"]


def test_detect_format_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        detect_format(tmp_path / "missing")
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="no TFRecord"):
        detect_format(tmp_path)
    with pytest.raises(ValueError, match="not a TFRecord or Parquet"):
        detect_format(tmp_path / "x.csv")


def test_guess_image_kind():
    assert guess_image_kind(make_jpeg(1)) == "crop"
    assert guess_image_kind(make_jpeg(1, size=150)) == "crop"
    assert guess_image_kind(png(1024, 768)) == "photo"
    assert guess_image_kind(png(1080, 1080)) == "photo"
    assert guess_image_kind(png(300, 120)) == "photo"
    with pytest.raises(ValueError, match="not an image"):
        guess_image_kind(b"<html>")
