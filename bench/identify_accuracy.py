"""How often identification names the right person: 5-fold cross-validation on the people of a
folder-per-person dataset with at least N photos (default: lfw-devtrain, 10 photos, 111 people).

Each photo is imported through faceloop's own import; its labelled face is the one nearest the
photo's centre (LFW photos are centred on the named person). Per fold, stratified by person:

- `head`, faceloop's default classifier on the 128-d embeddings (`EmbeddingHead`);
- `cnn`, the original workflow's network on the 112x112 crops (`CnnClassifier`); it trains
  slowly on a CPU, so by default only on the first fold (`--cnn-folds 5` for all);
- the baseline face_recognition users get: the nearest known face, a match when its distance
  is at most 0.6 (`compare_faces`' tolerance), otherwise "unknown" (counted wrong). The
  distance is face_recognition's own (`face_distance`: Euclidean on the same dlib descriptor,
  which faceloop computes to within 5e-7), so no second, slower detection pass is needed.

    .venv/bin/python bench/identify_accuracy.py [DATA] [--min-photos 10] [--workspace DIR]
        [--face centre|largest] [--workers N]

`--face largest` takes each photo's largest face instead (ties: nearest the centre), as
`../shared/data/eastasian` is labelled. For the head it also prints how many faces are named
at 99% precision, with "unknown" below a threshold chosen on a fifth of each fold's training
faces (`choose_threshold`, as training does), never on the faces it is scored on.

DATA is any folder with a folder of photos per person. Files that are not photos, that faceloop
cannot read and photos with no face are left out and named in a skip report; a person left with
fewer photos than folds is still scored (on the folds their photos fall in).

Prints figures; not a test. Target: head top-1 >= 98.5%.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from sqlalchemy import select

from faceloop.api import face_distance
from faceloop.db.models import Face, Image, ImageOrigin
from faceloop.ingest.run import import_photos
from faceloop.learn import CnnClassifier, EmbeddingHead, choose_threshold, stratified_split
from faceloop.learning.train import crops
from faceloop.workspace import Workspace, init_workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photo_set import PhotoSetError, import_skips, read_set

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw-devtrain"
FOLDS = 5
TOLERANCE = 0.6


def chosen_faces(ws: Workspace, pick: str) -> tuple[list[str], np.ndarray, list[str]]:
    """Per photo, the face nearest its centre, or with pick "largest" the largest face (ties:
    nearest the centre): (person name, embedding, crop key). A photo is counted once, named
    after the folder it was first imported from, however many paths reached it: a reused
    workspace, or one file in two folders, would otherwise put it on both sides of a fold."""
    best: dict[int, tuple[tuple[float, float], bytes, str]] = {}
    with ws.transaction() as session:
        first_path = dict(
            session.execute(
                select(ImageOrigin.image_id, ImageOrigin.path).order_by(ImageOrigin.id.desc())
            ).all()
        )
        rows = session.execute(
            select(
                Image.id,
                Face.left,
                Face.top,
                Face.right,
                Face.bottom,
                Face.embedding,
                Face.crop_key,
                Image.width,
                Image.height,
            ).join(Image, Image.id == Face.image_id)
        )
        for image, left, top, right, bottom, vector, crop_key, width, height in rows:
            off = ((left + right) / 2 - width / 2) ** 2 + ((top + bottom) / 2 - height / 2) ** 2
            area = -(right - left) * (bottom - top) if pick == "largest" else 0.0
            if image not in best or (area, off) < best[image][0]:
                best[image] = ((area, off), vector, crop_key)
    images = sorted((i for i in best if i in first_path), key=lambda i: first_path[i])
    names = [Path(first_path[i]).parent.name for i in images]
    vectors = np.stack([np.frombuffer(best[i][1], dtype=np.float32) for i in images])
    return names, vectors, [best[i][2] for i in images]


def stratified_folds(y: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(y), dtype=int)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        rng.shuffle(members)
        folds[members] = np.arange(len(members)) % FOLDS
    return folds


def nearest_known(train: np.ndarray, train_y: np.ndarray, test: np.ndarray) -> np.ndarray:
    out = np.empty(len(test), dtype=train_y.dtype)
    for i, face in enumerate(test):
        distances = face_distance(train, face)
        j = int(np.argmin(distances))
        out[i] = train_y[j] if distances[j] <= TOLERANCE else -1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, nargs="?", default=DEFAULT_DATA)
    parser.add_argument("--min-photos", type=int, default=10)
    parser.add_argument("--workspace", type=Path, help="reuse this workspace's import if present")
    parser.add_argument("--cnn-folds", type=int, default=1, help="0 skips the CNN")
    parser.add_argument("--cnn-epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--face", choices=("centre", "largest"), default="centre")
    parser.add_argument("--workers", type=int, default=None, help="import worker processes")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        photo_set = read_set(args.data, args.min_photos)
    except PhotoSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    photos = photo_set.photos
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.workspace or Path(scratch) / "ws"
        started = time.perf_counter()
        with init_workspace(folder) as ws:
            summary = import_photos(ws, photos, workers=args.workers)
            print(
                f"{len(photos)} photos of people with >= {args.min_photos} in {args.data}: "
                f"{summary.imported} imported now, {summary.failed} failed "
                f"({time.perf_counter() - started:.0f} s)"
            )
            print(
                import_skips(ws, photo_set, photos).report(len(photos) + len(photo_set.not_photos))
            )
            names, X, crop_keys = chosen_faces(ws, args.face)
            if len(set(names)) < 2 or len(names) < FOLDS:
                print(
                    f"error: {len(names)} photos of {len(set(names))} people with a face: "
                    f"{FOLDS}-fold identification needs at least two people and {FOLDS} photos",
                    file=sys.stderr,
                )
                return 2
            classes = sorted(set(names))
            y = np.array([classes.index(n) + 1 for n in names])
            print(
                f"{len(y)} photos with a face, {len(classes)} people "
                f"(min {min(Counter(names).values())} photos); {FOLDS}-fold, stratified; "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            folds = stratified_folds(y, args.seed)
            report(args, ws, X, y, crop_keys, folds)
    return 0


def named_at_precision(args, model, X_train, y_train, X_test, y_test) -> tuple[int, int]:
    """Faces of the test fold that `model` names (score at or above the threshold chosen for
    99% precision on a fifth of its training faces, held out from a second fit) and how many
    of them are right."""
    fit, held = stratified_split(y_train, test_fraction=0.2, seed=args.seed)
    probe = EmbeddingHead(seed=args.seed).fit(X_train[fit], y_train[fit])
    scores = probe.predict_proba(X_train[held])
    right = probe.classes_[scores.argmax(axis=1)] == y_train[held]
    threshold = choose_threshold(scores.max(axis=1), right, 0.99)
    scores = model.predict_proba(X_test)
    named = scores.max(axis=1) >= threshold
    guesses = model.classes_[scores.argmax(axis=1)]
    return int(named.sum()), int((named & (guesses == y_test)).sum())


def report(args, ws: Workspace, X, y, crop_keys, folds) -> None:
    head, base, cnn = [], [], []
    named = right = 0
    head_seconds = 0.0
    for fold in range(FOLDS):
        train, test = folds != fold, folds == fold
        started = time.perf_counter()
        model = EmbeddingHead(seed=args.seed).fit(X[train], y[train])
        head_seconds += time.perf_counter() - started
        head.append(np.mean(model.predict(X[test]) == y[test]))
        base.append(np.mean(nearest_known(X[train], y[train], X[test]) == y[test]))
        fold_named, fold_right = named_at_precision(
            args, model, X[train], y[train], X[test], y[test]
        )
        named, right = named + fold_named, right + fold_right
        print(
            f"  fold {fold + 1}: head {head[-1]:.2%}, face_recognition {base[-1]:.2%}; head "
            f"names {fold_named / test.sum():.1%} at 99% precision ({fold_right} of "
            f"{fold_named} right)"
        )
    images = crops(ws, crop_keys) if args.cnn_folds else None
    for fold in range(min(args.cnn_folds, FOLDS)):
        train, test = folds != fold, folds == fold
        started = time.perf_counter()
        net = CnnClassifier(max_epochs=args.cnn_epochs, seed=args.seed)
        net.fit(images[train], y[train])
        seconds = time.perf_counter() - started
        cnn.append(np.mean(net.predict(images[test]) == y[test]))
        print(
            f"  fold {fold + 1}: cnn {cnn[-1]:.2%} after {net.n_iter_} epochs, "
            f"{train.sum() * net.n_iter_ / seconds:.0f} photos/s"
        )
    print(
        f"head              top-1 {np.mean(head):.2%} (folds {min(head):.2%}-{max(head):.2%}), "
        f"{head_seconds / FOLDS:.1f} s per training (target >= 98.5%)"
    )
    print(
        f"head, unknown below the threshold for 99% precision: names {named / len(y):.1%} of "
        f"the faces, {right / max(named, 1):.2%} of them right"
    )
    if cnn:
        print(f"cnn               top-1 {np.mean(cnn):.2%} on {len(cnn)} fold(s)")
    print(f"face_recognition  top-1 {np.mean(base):.2%} (nearest known face, tolerance 0.6)")


if __name__ == "__main__":
    sys.exit(main())
