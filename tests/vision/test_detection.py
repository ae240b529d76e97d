"""Detection against hand-drawn ground truth and on LFW, with the real dlib models."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from concurrent.futures import ProcessPoolExecutor

from faceloop.api import detect_faces, load_image
from faceloop.vision.base import Box
from tests.conftest import DATA, needs_data

DLIB_FACES = DATA / "group" / "dlib_faces"


def ground_truth() -> dict[str, list[Box]]:
    boxes: dict[str, list[Box]] = {}
    for name in ("training.xml", "testing.xml"):
        for image in ET.parse(DLIB_FACES / name).getroot().iter("image"):
            boxes[image.get("file")] = [
                Box(
                    int(b.get("left")),
                    int(b.get("top")),
                    int(b.get("left")) + int(b.get("width")),
                    int(b.get("top")) + int(b.get("height")),
                )
                for b in image.iter("box")
            ]
    return boxes


def match(truth: list[Box], found: list[Box], min_iou: float = 0.4) -> int:
    """Greedy one-to-one matching, best overlaps first."""
    pairs = sorted(
        ((t.iou(f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)),
        reverse=True,
    )
    used_t, used_f, hits = set(), set(), 0
    for overlap, i, j in pairs:
        if overlap < min_iou:
            break
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
            hits += 1
    return hits


@needs_data
def test_small_faces_in_group_photos() -> None:
    truth = ground_truth()
    total = hits = false = 0
    for name, boxes in truth.items():
        found = [d.box for d in detect_faces(load_image(DLIB_FACES / name))]
        matched = match(boxes, found)
        total += len(boxes)
        hits += matched
        false += len(found) - matched
    print(f"dlib_faces: {hits}/{total} found, {false} false detections")
    assert total == 43
    assert hits / total >= 0.95
    assert false / total <= 0.05


def _has_face(path: str) -> bool:
    return bool(detect_faces(load_image(path)))


@needs_data
def test_a_face_in_nearly_every_lfw_photo() -> None:
    """A fixed quarter of the 9,525 photos, spread over every person, on both cores."""
    photos = sorted(str(p) for p in (DATA / "lfw-devtrain").glob("*/*.jpg"))[::4]
    with ProcessPoolExecutor(2) as pool:
        found = list(pool.map(_has_face, photos, chunksize=32))
    rate = sum(found) / len(found)
    print(f"lfw-devtrain: a face in {sum(found)}/{len(found)} photos ({rate:.2%})")
    assert len(photos) > 2000
    assert rate >= 0.99


@needs_data
def test_cnn_detector_is_selectable() -> None:
    """Obama, Biden and the child at the edge, at the places HOG finds them."""
    image = load_image(DATA / "group" / "face_recognition_obama_and_biden.jpg")
    hog = [d.box for d in detect_faces(image)]
    cnn = [d.box for d in detect_faces(image, detector="cnn")]
    assert len(cnn) == 3
    assert match(hog, cnn, min_iou=0.3) == len(hog) == 3
