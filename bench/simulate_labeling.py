"""How much labelling a person does with faceloop: an oracle that knows every face drives
faceloop's own queues until every face is labelled, and the same oracle labels the same photos
the original way, in one run.

    .venv/bin/python bench/simulate_labeling.py DATASET [--min-photos 5] [--limit-people N]
        [--workspace CACHE] [--recluster-after 100] [--retrain-after 200] [--page 24]
        [--fill 12] [--no-original]

The command line over `faceloop.testing.simulate`, whose docstring says what is counted and how
the oracle and the original workflow work.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from faceloop.testing.simulate import FILL, SimulationError, report, select_people, simulate

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
    args = parser.parse_args(argv)
    try:
        people = select_people(args.dataset, args.min_photos, args.limit_people)
    except SimulationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.min_photos < 1 or args.page < 1 or args.recluster_after < 0:
        print("error: --min-photos and --page must be at least 1", file=sys.stderr)
        return 2
    photos = sum(len(p) for p in people.values())
    print(f"{args.dataset}: {len(people)} people with {args.min_photos}+ photos, {photos:,} photos")
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
        say=say,
    )
    print(report(outcomes, baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
