"""Grouping quality on a workspace that imported LFW (`faceloop import lfw-devtrain -r`), or on
any folder-per-person set, imported here into a temporary workspace first.

    .venv/bin/python bench/cluster_quality.py WORKSPACE|DATASET [--min-photos 5] [--seed 0]
        [--workers N]

A DATASET's files that are not photos, that faceloop cannot read and photos with no face are
left out and named in a skip report before the figures.

Truth: a photo's folder names its person, who is the photo's largest face (ties: nearest the
centre); other faces are unknown background people. Faces of people with at least --min-photos
photos are the ones scored; people with one photo and the background faces are grouped along
with them as distractors. People are split in half: thresholds and the projection are learned on
one half's faces as if labelled, and everything is measured on the other half's.

Printed: faces in groups of 2+ (coverage), purity (share of grouped faces whose group's majority
is their person), wrong faces in groups led by a scored person, groups per scored person, and
for the projection the share of same-person pairs accepted at a false-match rate of 1e-3 / 1e-4.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from collections import defaultdict
from pathlib import Path, PurePath

import numpy as np
from scipy.spatial.distance import pdist

from faceloop.cluster import fit_projection, group_faces, learn_threshold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photo_set import PhotoSetError, import_skips, read_set


def load(workspace: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(embeddings, image ids, person index or -1 for background faces)."""
    db = sqlite3.connect(f"file:{workspace / 'faceloop.db'}?mode=ro", uri=True)
    folders: dict[int, set[str]] = defaultdict(set)
    for image_id, path in db.execute("select image_id, path from image_origin"):
        folders[image_id].add(PurePath(path).parent.name)
    sizes = {i: (w, h) for i, w, h in db.execute("select id, width, height from image")}
    faces: dict[int, list[tuple]] = defaultdict(list)
    query = 'select image_id, "left", top, "right", bottom, embedding from face order by id'
    for row in db.execute(query):
        faces[row[0]].append(row)
    names = sorted({n for s in folders.values() for n in s})
    index = {n: i for i, n in enumerate(names)}
    vectors, images, people = [], [], []
    for image_id, rows in faces.items():
        if len(folders[image_id]) != 1:
            continue
        w, h = sizes[image_id]

        def key(r: tuple, w: int = w, h: int = h) -> tuple[float, float]:
            cx, cy = (r[1] + r[3]) / 2, (r[2] + r[4]) / 2
            return (-(r[3] - r[1]) * (r[4] - r[2]), (cx - w / 2) ** 2 + (cy - h / 2) ** 2)

        main = min(rows, key=key)
        for r in rows:
            vectors.append(np.frombuffer(r[5], dtype=np.float32))
            images.append(image_id)
            people.append(index[next(iter(folders[image_id]))] if r is main else -1)
    return np.stack(vectors), np.array(images), np.array(people)


def score(labels: np.ndarray, people: np.ndarray, scored: np.ndarray) -> str:
    truth = people.copy()
    background = np.flatnonzero(truth < 0)
    truth[background] = truth.max() + 1 + np.arange(len(background))
    grouped = labels >= 0
    majority = {}
    for g in np.unique(labels[grouped]):
        majority[g] = np.bincount(truth[labels == g]).argmax()
    lead = np.array([majority.get(g, -1) for g in labels])
    right = grouped & (lead == truth)
    led_by_scored = grouped & np.isin(lead, np.unique(people[scored]))
    wrong = int((led_by_scored & ~right).sum())
    per_person = [
        len(set(labels[(people == p) & grouped])) + int(((people == p) & ~grouped).sum())
        for p in np.unique(people[scored])
    ]
    return (
        f"in groups {grouped[scored].mean():.3f}, purity {right[scored & grouped].mean():.4f}, "
        f"wrong faces {wrong}, groups {len(majority)}, per person {np.mean(per_person):.2f}"
    )


def accepted(x: np.ndarray, people: np.ndarray, rate: float) -> float:
    d = pdist(x)
    i, j = np.triu_indices(len(x), 1)
    same = people[i] == people[j]
    return float((d[same] <= np.quantile(d[~same], rate)).mean())


def import_dataset_here(dataset: Path, into: Path, workers: int | None) -> None:
    """Import a folder-per-person set unlabelled (the truth is read from the paths) and print
    what was skipped."""
    from faceloop.ingest.run import import_photos
    from faceloop.workspace import init_workspace

    photo_set = read_set(dataset)
    with init_workspace(into) as ws:
        summary = import_photos(ws, photo_set.photos, workers=workers)
        print(f"imported {summary.imported} photos, {summary.faces} faces from {dataset}")
        total = len(photo_set.photos) + len(photo_set.not_photos)
        print(import_skips(ws, photo_set, photo_set.photos).report(total))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workspace", type=Path, help="a workspace, or a folder-per-person set")
    parser.add_argument("--min-photos", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="import worker processes")
    args = parser.parse_args(argv)

    if (args.workspace / "faceloop.db").exists():
        return measure(args.workspace, args)
    with tempfile.TemporaryDirectory(prefix="faceloop-cluster-quality-") as scratch:
        try:
            import_dataset_here(args.workspace, Path(scratch) / "ws", args.workers)
        except PhotoSetError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return measure(Path(scratch) / "ws", args)


def measure(workspace: Path, args: argparse.Namespace) -> int:
    x, images, people = load(workspace)
    counts = np.bincount(people[people >= 0])
    photos_of = np.where(people >= 0, counts[np.maximum(people, 0)], 0)
    many = np.flatnonzero(counts >= args.min_photos)
    if len(many) < 4:
        print(
            f"error: {len(many)} people with {args.min_photos}+ photos with a face: half learn "
            "and half are scored, so at least 4 are needed",
            file=sys.stderr,
        )
        return 2
    rng = np.random.default_rng(args.seed)
    fit_people = rng.choice(many, len(many) // 2, replace=False)
    fit = np.isin(people, fit_people)
    singles = photos_of == 1
    kept_images = np.unique(images[~fit & ((photos_of >= args.min_photos) | singles)])
    pool = ~fit & np.isin(images, kept_images) & ((people < 0) | (photos_of >= args.min_photos))
    pool |= ~fit & singles
    scored = photos_of[pool] >= args.min_photos
    print(
        f"{len(many)} people with {args.min_photos}+ photos: {len(fit_people)} to learn from "
        f"({fit.sum()} faces); {scored.sum()} faces of the other {len(many) - len(fit_people)} "
        f"grouped among {pool.sum() - scored.sum()} distractors"
    )
    xp, ip, pp = x[pool], images[pool], people[pool]
    learned = learn_threshold(x[fit], people[fit])
    print(f"learned threshold {learned.value:.3f} (precision {learned.precision:.4f} on labels)")
    for threshold in (0.45, learned.value, 0.5):
        grouping = group_faces(xp, ip, threshold=threshold)
        print(f"  raw {threshold:.3f}: {score(grouping.labels, pp, scored)}")
    projection = fit_projection(x[fit], people[fit])
    learned_p = learn_threshold(projection.transform(x[fit]), people[fit])
    grouping = group_faces(xp, ip, threshold=learned_p.value, projection=projection)
    print(f"  projected {learned_p.value:.3f}: {score(grouping.labels, pp, scored)}")
    held = xp[scored], pp[scored]
    for rate in (1e-3, 1e-4):
        before = accepted(held[0], held[1], rate)
        after = accepted(projection.transform(held[0]), held[1], rate)
        print(
            f"held-out same-person pairs accepted at {rate:g} false matches: "
            f"{before:.4f} -> {after:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
