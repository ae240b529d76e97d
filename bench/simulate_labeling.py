"""How much labelling a person does with faceloop: an oracle that knows every face drives
faceloop's own queues until every face is labelled, and the same oracle labels the same photos
the original way, in one run.

    .venv/bin/python bench/simulate_labeling.py DATASET [--min-photos 5] [--limit-people N]
        [--workspace CACHE] [--recluster-after 100] [--retrain-after 200] [--page 24]
        [--fill 12] [--no-original]

The command line over `faceloop.testing.simulate`, whose docstring says what is counted and how
the oracle and the original workflow work. DATASET is any folder-per-person set: files that are
not photos, that faceloop cannot read and photos with no face are left out of the simulation and
named in a skip report before the figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from faceloop.testing.simulate import (
    FILL,
    SimulationError,
    cached_import,
    read_posts_csv,
    report,
    select_people,
    simulate,
)
from faceloop.workspace import open_workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photo_set import PhotoSet, import_skips, read_set

DEFAULT_CACHE = Path(tempfile.gettempdir()) / "faceloop-simulate"


def say(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="a folder with one folder of photos per person")
    parser.add_argument("--min-photos", type=int, default=5)
    parser.add_argument("--limit-people", type=int, default=None)
    parser.add_argument("--workspace", type=Path, default=DEFAULT_CACHE, help="cache folder")
    parser.add_argument("--recluster-after", type=int, default=100)
    parser.add_argument("--retrain-after", type=int, default=200)
    parser.add_argument("--page", type=int, default=24)
    parser.add_argument(
        "--fill", type=int, default=FILL, help="faces a look-alike page needs while groups wait"
    )
    parser.add_argument("--workers", type=int, default=None, help="import worker processes")
    parser.add_argument("--no-original", action="store_true", help="skip the original workflow")
    parser.add_argument(
        "--compare-adapt", action="store_true", help="also run faceloop without the projection"
    )
    parser.add_argument(
        "--posts",
        nargs="?",
        const="generate",
        default=None,
        metavar="CSV",
        help="also run faceloop with every photo posted by an account: from a CSV of "
        "photo path,account, or generated (each person's own account posts 60%% of her "
        "photos, 20 fan accounts the rest)",
    )
    args = parser.parse_args(argv)
    try:
        people = select_people(args.dataset, args.min_photos, args.limit_people)
    except SimulationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    authors = None
    if args.posts not in (None, "generate"):
        try:
            authors = read_posts_csv(Path(args.posts))
        except (OSError, SimulationError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.min_photos < 1 or args.page < 1 or args.recluster_after < 0:
        print("error: --min-photos and --page must be at least 1", file=sys.stderr)
        return 2
    photos = sum(len(p) for p in people.values())
    print(f"{args.dataset}: {len(people)} people with {args.min_photos}+ photos, {photos:,} photos")
    args.workspace.mkdir(parents=True, exist_ok=True)
    print(
        skip_report(args.dataset, people, cached_import(people, args.workspace, args.workers, say))
    )
    outcomes, baseline = simulate(
        people,
        args.workspace,
        recluster_after=args.recluster_after,
        retrain_after=args.retrain_after,
        page=args.page,
        fill=args.fill,
        workers=args.workers,
        original=not args.no_original,
        compare_adapt=args.compare_adapt,
        posts=args.posts is not None,
        authors=authors,
        say=say,
    )
    print(report(outcomes, baseline))
    return 0


def skip_report(dataset: Path, people: dict[str, list[Path]], imported: Path) -> str:
    """What the simulation leaves out, read from the (cached) import it runs on; the import
    is the one `simulate` then reuses, so nothing is imported twice."""
    whole = read_set(dataset, 1)
    chosen = PhotoSet(
        dataset,
        people,
        [f for f in whole.not_photos if f.parent.name in people],
    )
    files = [f.resolve() for f in chosen.photos]
    with open_workspace(imported) as ws:
        return import_skips(ws, chosen, files).report(len(files) + len(chosen.not_photos))


if __name__ == "__main__":
    sys.exit(main())
