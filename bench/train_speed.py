"""How long training and predicting take at the scale the issue sets: 13,000 labelled faces in
1,000 classes, 100,000 unlabelled faces, on this machine's CPU.

Synthetic embeddings shaped like dlib's (see faceloop.testing.faces): class 0 ("other") holds
30% of the labelled faces, drawn from people who are not targets; the unlabelled faces are 60%
target people and 40% strangers. Prints figures; not a test.

    .venv/bin/python bench/train_speed.py [--threads N] [--cnn-photos 256]

Two threads on two cores ran three times slower than one whenever anything else ran (torch's
threads wait on each other), so the default is what faceloop's jobs use.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from faceloop.learn import CnnClassifier, EmbeddingHead, build_training_set
from faceloop.learning.job import background_threads
from faceloop.testing.faces import EmbeddingWorld, synthetic_crops


def synthetic_faces(labelled: int, classes: int, unlabelled: int, seed: int):
    """Labelled faces (person id per face, 0 for strangers) and unlabelled faces (true person
    per face, 0 for strangers never seen labelled)."""
    people = classes - 1
    world = EmbeddingWorld(people + 2 * labelled, seed)
    rng = np.random.default_rng(seed)
    n_targets = round(labelled * 0.7)
    # uneven counts, as real labelling gives, with at least three faces per person
    weights = rng.gamma(2.0, 1.0, people)
    counts = 3 + rng.multinomial(n_targets - 3 * people, weights / weights.sum())
    strangers = people + rng.integers(0, labelled, labelled - n_targets)
    who = np.concatenate([np.repeat(np.arange(people), counts), strangers])
    n_known = round(unlabelled * 0.6)
    unseen = np.concatenate(
        [
            rng.integers(0, people, n_known),
            people + labelled + rng.integers(0, labelled, unlabelled - n_known),
        ]
    )
    truth = np.where(unseen < people, unseen + 1, 0)
    return world.faces(who), np.where(who < people, who + 1, 0), world.faces(unseen), truth


def bench_head(args: argparse.Namespace) -> None:
    X, person_ids, U, truth = synthetic_faces(
        args.labelled, args.classes, args.unlabelled, args.seed
    )
    chosen = build_training_set(person_ids, min_per_class=1, other_ratio=0.3, seed=args.seed)
    X, y = X[chosen.indices], chosen.y
    print(f"head: {len(X):,} labelled faces, {len(chosen.classes):,} classes (0 = other)")

    start = time.perf_counter()
    head = EmbeddingHead(seed=args.seed).fit(X, y)
    train = time.perf_counter() - start
    print(f"  train            {train:6.2f} s  ({head.n_iter_} epochs, {head.n_steps_} steps)")

    start = time.perf_counter()
    predicted = head.predict(U)
    predict = time.perf_counter() - start
    print(f"  predict all      {predict:6.2f} s  ({len(U):,} faces)")

    start = time.perf_counter()
    head.predict_top_k(U, k=5)
    ranked = time.perf_counter() - start
    print(f"  top-5 of all     {ranked:6.2f} s")

    known = truth != 0
    print(
        f"  unlabelled: {np.mean(predicted[known] == truth[known]):.3f} of target faces right, "
        f"{np.mean(predicted[~known] == 0):.3f} of strangers called other"
    )


def bench_cnn(args: argparse.Namespace) -> None:
    n_classes = 8
    crops, labels = synthetic_crops(n_classes, args.cnn_photos // n_classes, seed=args.seed)
    cnn = CnnClassifier(max_epochs=args.cnn_epochs, n_iter_no_change=args.cnn_epochs, seed=0)
    start = time.perf_counter()
    cnn.fit(crops, labels)
    train = time.perf_counter() - start
    seen = len(crops) * cnn.n_iter_
    print(f"cnn: {len(crops)} synthetic 112x112 crops, {cnn.n_iter_} epoch(s)")
    print(f"  train            {seen / train:6.1f} photos/s (with augmentation)")
    start = time.perf_counter()
    cnn.predict(crops)
    print(f"  predict          {len(crops) / (time.perf_counter() - start):6.1f} photos/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelled", type=int, default=13_000)
    parser.add_argument("--classes", type=int, default=1_000)
    parser.add_argument("--unlabelled", type=int, default=100_000)
    parser.add_argument("--cnn-photos", type=int, default=256)
    parser.add_argument("--cnn-epochs", type=int, default=1)
    parser.add_argument(
        "--threads",
        type=int,
        default=background_threads(),
        help="torch threads (default: what faceloop's jobs use on this machine)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-cnn", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); load average {load}")
    bench_head(args)
    if not args.skip_cnn:
        bench_cnn(args)


if __name__ == "__main__":
    main()
