"""Photos: faces and flags, display sizes, and faces drawn by hand (embedded for real)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from faceloop.ingest.run import import_photos
from faceloop.labels.labelling import label_faces
from faceloop.readmodel import snapshot
from faceloop.review.label_queue import next_faces
from faceloop.review.photos import add_face, display_jpeg, face_blob, photo_info
from tests.builders import add_photo, make_person
from tests.conftest import DATA, needs_data


def test_one_person_twice_is_flagged(empty) -> None:
    ws = empty
    person = make_person(ws, "Twin")
    image, (a, b, c) = add_photo(ws, 3)
    label_faces(ws, [a], "person", user_id=None, person_id=person)
    label_faces(ws, [b], "person", user_id=None, person_id=person, confirm=True)
    label_faces(ws, [c], "not_face", user_id=None)
    info = photo_info(ws, image)
    assert [(f.face_id, f.flagged) for f in info.faces] == [(a, True), (b, True), (c, False)]
    assert info.faces[2].verdict == "not_face"
    assert info.origins[0].folder == "/photos/a"


def test_display_sizes_are_cached_and_checked(small) -> None:
    ws, info = small
    path, etag = display_jpeg(ws, 1, 256)
    assert path.exists() and etag.endswith("-256")
    assert display_jpeg(ws, 1, 256)[0] == path
    with Image.open(path) as picture:
        assert max(picture.size) <= 256
    with pytest.raises(ValueError, match="size must be one of"):
        display_jpeg(ws, 1, 300)
    with pytest.raises(LookupError):
        display_jpeg(ws, info.images + 1, 256)
    chip, _ = face_blob(ws, 1, "chip")
    assert chip.read_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(LookupError):
        face_blob(ws, 10**6, "chip")


@needs_data
def test_a_drawn_face_is_embedded_like_a_detected_one(empty) -> None:
    ws = empty
    import_photos(ws, [DATA / "known" / "train" / "obama"], workers=1)
    [item] = next_faces(ws, None, limit=1).items
    left, top, right, bottom = item.box
    pad = (right - left) // 10
    drawn = add_face(ws, item.image_id, (left - pad, top - pad, right + pad, bottom + pad))
    info = photo_info(ws, item.image_id)
    manual = next(f for f in info.faces if f.face_id == drawn)
    assert manual.detector == "manual" and manual.verdict is None
    page = next_faces(ws, None, limit=5)
    assert drawn in [i.face_id for i in page.items]

    state = snapshot(ws)
    one, two = (state.embeddings[state.position(f)] for f in (item.face_id, drawn))
    assert float(np.linalg.norm(one - two)) < 0.3  # the same face, so nearly the same vector
    for box, message in [
        ((0, 0, 4, 4), "at least"),
        ((-1, 0, 50, 50), "inside the photo"),
        ((10, 10, 10**5, 50), "inside the photo"),
    ]:
        with pytest.raises(ValueError, match=message):
            add_face(ws, item.image_id, box)
    with pytest.raises(LookupError):
        add_face(ws, 999, (0, 0, 50, 50))
