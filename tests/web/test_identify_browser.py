"""The identify page in a real browser against a real `faceloop serve` with a trained model: no
broken image before a photo is chosen, photos in formats a browser cannot show (PGM) shown all
the same, and name tags inside the photo however small it is."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image

from tests.conftest import DATA, needs_data
from tests.web.browsing import serving

pytestmark = needs_data

LONG_NAME = "Alexandra Ocasio-Cortez of the Bronx"
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def server(tmp_path_factory, learning_template):
    root = tmp_path_factory.mktemp("identify-browser") / "ws"
    shutil.copytree(learning_template, root)
    with serving(root, "--no-worker") as server:
        # a long name on a small photo is what ran off the edge
        people = server.api("GET", "/people?q=s1")["people"]
        person = next(p for p in people if p["name"] == "s1")
        server.api("POST", f"/people/{person['id']}/rename", {"name": LONG_NAME})
        yield server


BROKEN = (
    "() => [...document.images].filter((i) => i.getClientRects().length"
    " && (!i.getAttribute('src') || (i.complete && i.naturalWidth === 0))).length"
)


@pytest.mark.parametrize("width", WIDTHS)
def test_before_a_photo_is_chosen_nothing_looks_broken(server, page, width) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server.base + "/identify")
    assert page.locator("#dropzone").is_visible()
    assert page.locator("#identify-result").is_hidden()
    assert page.evaluate(BROKEN) == 0
    assert page.js_errors == []


def small_jpeg(tmp_path) -> str:
    """Biden and Obama cut close, Obama's face near the right edge, 400 pixels wide."""
    photo = Image.open(DATA / "group" / "face_recognition_obama_and_biden.jpg")
    photo = photo.crop((600, 250, 1380, 800))
    photo.thumbnail((400, 400))
    path = tmp_path / "small.jpg"
    photo.save(path, quality=90)
    return str(path)


def identify(page, path: str) -> None:
    page.set_input_files("#identify-file", path)
    page.wait_for_function(
        "() => / found, /.test(document.getElementById('identify-status').textContent)"
        " && document.getElementById('identify-photo')?.complete"
    )


def tags_and_photo(page) -> dict:
    return page.evaluate(
        """() => {
          const photo = document.getElementById('identify-photo').getBoundingClientRect();
          const tags = [...document.querySelectorAll('#identify-boxes text')].map((t) => {
            const r = t.getBoundingClientRect();
            return {text: t.textContent, left: r.left, top: r.top, right: r.right,
                    bottom: r.bottom};
          });
          const image = document.getElementById('identify-photo');
          return {photo: {left: photo.left, top: photo.top, right: photo.right,
                          bottom: photo.bottom},
                  natural: [image.naturalWidth, image.naturalHeight], tags};
        }"""
    )


def overlap(a: dict, b: dict) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_name_tags_stay_inside_small_photos(server, page, width, tmp_path) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(server.base + "/identify")
    # every face named by its most likely person: the longest tags
    page.fill("input[name=threshold]", "0.05")
    for path, names in (
        (str(DATA / "orl" / "s1" / "9.pgm"), [LONG_NAME]),
        (small_jpeg(tmp_path), ["obama", "biden"]),
    ):
        identify(page, path)
        shown = tags_and_photo(page)
        assert shown["natural"][0] > 0, f"{path} shows as a broken image"
        assert page.evaluate(BROKEN) == 0
        box = shown["photo"]
        natural_w, natural_h = shown["natural"]
        # the photo keeps its shape, so the boxes drawn in its pixels stay on the faces
        displayed = (box["right"] - box["left"]) / (box["bottom"] - box["top"])
        assert displayed == pytest.approx(natural_w / natural_h, rel=0.02)
        texts = " ".join(t["text"] for t in shown["tags"])
        assert all(name in texts for name in names), texts
        for tag in shown["tags"]:
            assert box["left"] - 0.5 <= tag["left"] and tag["right"] <= box["right"] + 0.5, tag
            assert box["top"] - 0.5 <= tag["top"] and tag["bottom"] <= box["bottom"] + 0.5, tag
        tags = shown["tags"]
        assert not any(overlap(a, b) for i, a in enumerate(tags) for b in tags[i + 1 :]), tags
    assert page.js_errors == []


def test_the_preview_is_an_upright_jpeg_of_the_photo_and_refuses_other_files(client) -> None:
    import io

    pgm = DATA / "orl" / "s1" / "9.pgm"
    answer = client.post(
        "/api/v1/identify/preview", files={"file": (pgm.name, pgm.read_bytes(), "")}
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    preview = Image.open(io.BytesIO(answer.content))
    assert (preview.format, preview.size) == ("JPEG", Image.open(pgm).size)
    refused = client.post(
        "/api/v1/identify/preview", files={"file": ("notes.txt", b"not a photo", "text/plain")}
    )
    assert refused.status_code == 422 and "not a photo" in refused.json()["message"]
