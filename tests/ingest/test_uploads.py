"""Staging uploads: paths cannot escape, non-photos are refused with a reason."""

from __future__ import annotations

import io

import pytest

from faceloop.ingest.uploads import (
    NotAPhoto,
    new_upload,
    safe_relative_path,
    stage_file,
    staged_files,
    upload_folder,
)
from tests.conftest import jpeg_bytes, noise_image


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "etc/passwd"),
        ("/abs/olute.jpg", "abs/olute.jpg"),
        ("..\\win\\x.jpg", "win/x.jpg"),
        ("idol/綾瀬/1.jpg", "idol/綾瀬/1.jpg"),
        ("a/./b/../c.jpg", "a/b/c.jpg"),
        ("ctrl\x00\x1f.jpg", "ctrl__.jpg"),
    ],
)
def test_paths_stay_inside(name, expected) -> None:
    assert str(safe_relative_path(name)) == expected


def test_photos_are_staged_and_others_refused(empty) -> None:
    upload = new_upload(empty)
    data = jpeg_bytes(noise_image())
    staged = stage_file(empty, upload, "../Aya/one.jpg", io.BytesIO(data))
    assert staged.name == "Aya/one.jpg" and staged.size == len(data)
    again = stage_file(empty, upload, "Aya/one.jpg", io.BytesIO(data))
    assert again.name == "Aya/one.jpg"
    with pytest.raises(
        NotAPhoto, match=r"notes\.txt is not a photo faceloop can read: the file is text"
    ):
        stage_file(empty, upload, "notes.txt", io.BytesIO(b"hello"))
    with pytest.raises(NotAPhoto, match="is an HTML page"):
        stage_file(empty, upload, "x.jpg", io.BytesIO(b"<!doctype html><p>404</p>"))
    with pytest.raises(NotAPhoto, match="empty"):
        stage_file(empty, upload, "zero.jpg", io.BytesIO(b""))
    with pytest.raises(NotAPhoto, match="over the"):
        stage_file(empty, upload, "big.jpg", io.BytesIO(data), max_bytes=100)
    files = staged_files(empty, upload)
    assert [p.name for p in files] == ["one-1.jpg", "one.jpg"]
    assert all(upload_folder(empty, upload) in p.parents for p in files)


@pytest.mark.parametrize("bad", ["../x", "0" * 31, "", "../../" + "a" * 32])
def test_unknown_uploads_are_not_found(empty, bad) -> None:
    with pytest.raises(LookupError):
        upload_folder(empty, bad)
