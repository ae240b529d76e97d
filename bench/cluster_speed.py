"""Grouping speed: 100,000 synthetic faces grouped on this machine, with time, peak memory and
quality against the synthetic truth.

    .venv/bin/python bench/cluster_speed.py [--faces 100000] [--threshold 0.45] [--seed 0]

The faces come from `faceloop.testing.embeddings`: a few people with 1,000+ faces, some with
30-300 and many with 1-5, one person's faces about 0.4 apart and two people's about 0.75, and a
tenth of the faces sharing their photo with others (cannot-link). Quality: purity is the share of
grouped faces whose group's majority person is their own; recall is the share of same-person
pairs that end up in one group.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from faceloop.cluster import DEFAULT_THRESHOLD, group_faces, learn_threshold
from faceloop.testing.embeddings import realistic_sizes, synthetic_faces, synthetic_photos


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality(labels: np.ndarray, people: np.ndarray) -> dict[str, float]:
    grouped = labels >= 0
    lab, person = labels[grouped], people[grouped]
    pairs = np.unique(np.stack([lab, person], axis=1), axis=0, return_counts=True)
    (keys, counts) = pairs
    order = np.lexsort((-counts, keys[:, 0]))
    keys, counts = keys[order], counts[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:, 0] != keys[:-1, 0]
    majority_faces = counts[first].sum()
    purity = majority_faces / max(grouped.sum(), 1)
    together = (counts * (counts - 1) // 2).sum()
    sizes = np.bincount(people)
    all_pairs = (sizes * (sizes - 1) // 2).sum()
    return {
        "purity": float(purity),
        "pair_recall": float(together / max(all_pairs, 1)),
        "grouped": float(grouped.mean()),
        "wrong_faces": int(grouped.sum() - majority_faces),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument(
        "--learn",
        action="store_true",
        help="learn the threshold from the faces of 60 people with 30+ faces, as if labelled",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    sizes = realistic_sizes(args.faces, seed=args.seed)
    embeddings, people = synthetic_faces(sizes, seed=args.seed)
    photos = synthetic_photos(people, seed=args.seed)
    print(
        f"{len(embeddings):,} faces of {len(sizes):,} people "
        f"({(sizes >= 1000).sum()} with 1,000+, {((sizes >= 30) & (sizes < 1000)).sum()} "
        f"with 30-999, {(sizes <= 5).sum():,} with 1-5); "
        f"{(np.bincount(photos)[photos] > 1).mean():.0%} of faces share a photo"
    )
    before = peak_rss_mb()
    start = time.perf_counter()
    threshold = args.threshold
    if args.learn:
        labelled_people = np.flatnonzero((sizes >= 30) & (sizes < 1000))[:60]
        labelled = np.isin(people, labelled_people)
        learned = learn_threshold(embeddings[labelled], people[labelled], seed=args.seed)
        threshold = learned.value
        print(
            f"threshold {threshold:.3f} learned from {labelled.sum():,} labelled faces of "
            f"{len(labelled_people)} people (precision >= {learned.precision:.4f} on "
            f"{learned.same_pairs:,} + {learned.different_pairs:,} pairs)"
        )
    grouping = group_faces(embeddings, photos, threshold=threshold, seed=args.seed)
    seconds = time.perf_counter() - start
    q = quality(grouping.labels, people)
    print(
        f"grouped at {threshold:.3f} in {seconds:.1f} s; "
        f"peak RSS {peak_rss_mb():.0f} MB ({before:.0f} MB before)"
    )
    largest = grouping.groups[0].size if grouping.groups else 0
    print(
        f"{len(grouping.groups):,} groups of 2+ ({largest} largest), "
        f"{len(grouping.singletons):,} single faces; "
        f"{q['grouped']:.1%} of faces in groups, purity {q['purity']:.4f} "
        f"({q['wrong_faces']} wrong faces), same-person pairs grouped {q['pair_recall']:.3f}"
    )
    per_person = {
        "1-5": sizes <= 5,
        "30-999": (sizes >= 30) & (sizes < 1000),
        "1000+": sizes >= 1000,
    }
    for name, mask in per_person.items():
        wanted = np.flatnonzero(mask)
        if not len(wanted):
            print(f"  people with {name:>6} faces: none at {args.faces:,} faces")
            continue
        faces = np.isin(people, wanted)
        grouped = (grouping.labels[faces] >= 0).mean()
        counts = [
            len(np.unique(grouping.labels[(people == p) & (grouping.labels >= 0)]))
            for p in wanted[:500]
        ]
        print(
            f"  people with {name:>6} faces: {grouped:.1%} of their faces in groups, "
            f"{np.mean(counts):.2f} groups each"
        )


if __name__ == "__main__":
    main()
