"""A screenshot of every page of the web app at desktop and phone width, so a person can look
at all of them at once (`make screenshots`).

It builds a demo workspace from ../shared/data (read there, never copied into the project):
LFW people imported by folder, more of their photos and photos of several people left to
label, then grouped, a model trained and its guesses made. The workspace is cached under
$XDG_CACHE_HOME/faceloop (~/.cache/faceloop), keyed by the photos chosen and the library's code,
so a second run only serves and shoots. Each run serves a fresh copy on a free port and stops
it at the end.

    python tools/screenshots.py [--out screenshots] [--data ../shared/data] [--workspace WS]
                                [--docs docs]

--docs also writes the label and groups pages, small, for the README (docs/label-page.jpg,
docs/groups-page.jpg).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from faceloop.db.models import Face, FaceGroup, FaceLabel  # noqa: E402
from faceloop.web.security import set_password  # noqa: E402
from faceloop.workspace import Workspace, init_workspace, open_workspace  # noqa: E402
from tests.web.browsing import ARGS, CHROMIUM, serving  # noqa: E402

#: raise it when the demo's recipe changes, so cached workspaces are built again
RECIPE = 1
PEOPLE = 30
LABELLED = 6
UNLABELLED = 8
#: photos of people with one photo only: faces nobody in the workspace matches
STRANGERS = 40
#: the model learns everyone with this many labelled faces (the settings' default asks for more)
MIN_PER_CLASS = 4
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
#: a full-page screenshot is cut at this height: a long list says enough in its first screens
MAX_HEIGHT = 4000

#: every page, by the file name its screenshots get; "{person}" and the like are filled in from
#: the workspace. The same pages as tests/web/test_layout_browser.py.
PAGES = {
    "home": "/",
    "label": "/label",
    "groups": "/groups",
    "groups-list": "/groups?view=list",
    "passers-by": "/passers-by",
    "similar": "/similar/{face}",
    "confirm": "/confirm",
    "confirm-one": "/confirm?mode=one",
    "confirm-page": "/confirm?mode=page",
    "people": "/people",
    "person": "/people/{person}",
    "photo": "/photos/{photo}",
    "upload": "/upload",
    "sources": "/sources",
    "accounts": "/accounts",
    "activity": "/activity",
    "models": "/models",
    "identify": "/identify",
    "export": "/export",
}


def chosen_photos(data: Path) -> tuple[dict[str, list[Path]], list[Path]]:
    """LFW people with enough photos (the first PEOPLE by name): each one's first photos to
    import by folder, the next ones to label; then strangers' photos and photos of several
    people each, to label too."""
    lfw = data / "lfw-devtrain"
    people: dict[str, list[Path]] = {}
    others: list[Path] = []
    for folder in sorted(p for p in lfw.iterdir() if p.is_dir()):
        photos = sorted(folder.glob("*.jpg"))
        if len(photos) > LABELLED + UNLABELLED and len(people) < PEOPLE:
            people[folder.name] = photos[: LABELLED + UNLABELLED]
        elif len(photos) == 1 and len(others) < STRANGERS:
            others += photos
    others += sorted((data / "group").glob("face_recognition_*.jpg"))
    others += [data / "group" / "dlib_faces" / "2007_007763.jpg"]
    return people, [p for p in others if p.exists()]


def identify_photo(data: Path) -> Path:
    """A photo of the first demo person that is not in the workspace: the model knows them."""
    first = next(iter(chosen_photos(data)[0]))
    return sorted((data / "lfw-devtrain" / first).glob("*.jpg"))[LABELLED + UNLABELLED]


def cache_key(data: Path) -> str:
    """The photos chosen (names and sizes) and the library's code: either changed, the demo is
    built again."""
    people, crowds = chosen_photos(data)
    digest = hashlib.sha256(f"recipe {RECIPE}\n".encode())
    for path in [p for photos in people.values() for p in photos] + crowds:
        digest.update(f"{path.relative_to(data)} {path.stat().st_size}\n".encode())
    library = ROOT / "src" / "faceloop"
    for source in sorted(library.rglob("*.py")):
        if "web" not in source.relative_to(library).parts:
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def build_demo(root: Path, data: Path) -> None:
    from faceloop.grouping.run import recluster
    from faceloop.ingest.run import import_photos
    from faceloop.learning.predict import predict
    from faceloop.learning.train import train

    people, crowds = chosen_photos(data)
    with init_workspace(root) as ws:
        started = time.monotonic()
        labelled = [p for photos in people.values() for p in photos[:LABELLED]]
        unlabelled = [p for photos in people.values() for p in photos[LABELLED:]]
        print(f"importing {len(labelled)} labelled and {len(unlabelled) + len(crowds)} photos")
        import_photos(ws, labelled, by_folder=True)
        import_photos(ws, unlabelled + crowds)
        print("grouping, training, guessing")
        recluster(ws)
        train(ws, min_per_class=MIN_PER_CLASS)
        predict(ws)
        print(f"demo workspace built in {time.monotonic() - started:.0f} s")


def demo_workspace(data: Path) -> Path:
    """The cached demo workspace for these photos, built first if need be."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "faceloop"
    root = cache / f"demo-{cache_key(data)}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        building = cache / f"building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        build_demo(building, data)
        building.rename(root)
        (root / ".complete").touch()
    return root


def page_ids(ws: Workspace) -> dict[str, int]:
    """A person with the most faces, a photo with the most faces, an open group and a face
    nobody labelled: what the pages about one thing show."""
    with ws.reader() as session:
        return {
            "person": session.scalar(
                select(FaceLabel.person_id)
                .where(FaceLabel.person_id.is_not(None))
                .group_by(FaceLabel.person_id)
                .order_by(func.count().desc())
            ),
            "photo": session.scalar(
                select(Face.image_id).group_by(Face.image_id).order_by(func.count().desc())
            ),
            "group": session.scalar(select(FaceGroup.id).order_by(FaceGroup.id)),
            "face": session.scalar(
                select(Face.id)
                .outerjoin(FaceLabel, FaceLabel.face_id == Face.id)
                .where(FaceLabel.face_id.is_(None))
                .order_by(Face.id)
            ),
        }


def shoot(base: str, pages: dict[str, str], out: Path, photo: Path | None = None) -> list[Path]:
    """Each page at each width, once its fetches are done and its images are in; the identify
    page with `photo` identified."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for width_name, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height})
            context.set_default_timeout(30_000)
            page = context.new_page()
            for name, path in pages.items():
                page.goto(base + path)
                settle(page)
                if name == "identify" and photo is not None:
                    page.set_input_files("#identify-file", str(photo))
                    page.wait_for_selector("#identify-result:not([hidden])")
                    settle(page)
                target = out / f"{name}-{width_name}.png"
                full = page.evaluate("() => document.documentElement.scrollHeight")
                page.screenshot(
                    path=str(target),
                    full_page=True,
                    clip={"x": 0, "y": 0, "width": width, "height": min(full, MAX_HEIGHT)},
                )
                written.append(target)
            context.close()
        browser.close()
    return written


#: the README's pictures: which screenshot, under which name
DOCS = {"label-desktop.png": "label-page.jpg", "groups-desktop.png": "groups-page.jpg"}
DOCS_WIDTH = 800


def docs_images(shots: Path, docs: Path) -> list[Path]:
    """The first screen of each, 800 px wide, as JPEG: photos of faces keep well in it, and
    each is well under 150 KB."""
    from PIL import Image

    docs.mkdir(parents=True, exist_ok=True)
    written = []
    for shot, name in DOCS.items():
        with Image.open(shots / shot) as image:
            width, height = WIDTHS["desktop"]
            first = image.convert("RGB").crop((0, 0, width, min(height, image.height)))
            small = first.resize(
                (DOCS_WIDTH, round(first.height * DOCS_WIDTH / width)), Image.LANCZOS
            )
            small.save(docs / name, quality=82, optimize=True, progressive=True)
        written.append(docs / name)
    return written


def settle(page) -> None:
    """Fetches done and images in, those further down too (they load as they come in view)."""
    page.wait_for_load_state("networkidle")
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_load_state("networkidle")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_function(
        "() => [...document.images].every((i) => i.complete || i.loading === 'lazy')"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument(
        "--workspace", type=Path, help="shoot this workspace (a copy of it) instead of the demo"
    )
    parser.add_argument("--docs", type=Path, help="also write the README's two pictures here")
    options = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"no chromium at {CHROMIUM}: `make test` installs it")
    if options.workspace is None and not (options.data / "lfw-devtrain").is_dir():
        sys.exit(f"the shared photos are not at {options.data}")
    source = options.workspace or demo_workspace(options.data)
    with tempfile.TemporaryDirectory(prefix="faceloop-shots-") as scratch:
        root = Path(scratch) / "ws"
        shutil.copytree(source, root, ignore=shutil.ignore_patterns("serve.log", ".complete"))
        with open_workspace(root) as ws:
            ids = page_ids(ws)
        missing = [k for k, v in ids.items() if v is None]
        if missing:
            sys.exit(f"the workspace has no {', '.join(missing)} to show")
        pages = {name: path.format(**ids) for name, path in PAGES.items()}
        with serving(root) as server:
            written = shoot(server.base, pages, options.out, identify_photo(options.data))
        # the login page shows only where a password is set: an empty workspace with one
        locked = Path(scratch) / "locked"
        with init_workspace(locked) as ws:
            set_password(ws, secrets.token_urlsafe(12))
        with serving(locked) as server:
            written += shoot(server.base, {"login": "/login"}, options.out)
    print(f"{len(written)} screenshots in {options.out}")
    if options.docs:
        for path in docs_images(options.out, options.docs):
            print(f"{path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
