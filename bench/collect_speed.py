"""Collection throughput: photos posted on a local Mastodon-shaped server, collected through
face detection, against a plain `faceloop import` of the same files, in the same run.

    .venv/bin/python bench/collect_speed.py [--posts 10000] [--data ../shared/data/lfw-devtrain]
        [--workers N]

--data is any folder with a folder of photos per person; each photo becomes one post (one
image) by its person's account on the hashtag the source follows, up to --posts. Collection
does everything a real one does: pages of the timeline, the address guard, each image fetched
over HTTP and checked, posts and accounts recorded, the import, the cursor stored.

Prints posts/s and photos/s of the collection, photos/s of the import, faces found by each,
peak memory, and the ratio. Target: collection at least 90% of the plain import's throughput.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photo_set import PhotoSetError, read_set, spread

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lfw-devtrain"


def serve(photos: list[Path], pipe: Connection) -> None:
    """The instance, in a process of its own as a real one would be: its work does not take
    the collector's interpreter lock."""
    from faceloop.testing.mastodon import mastodon

    with mastodon() as server:
        server.record = False
        for photo in photos:
            server.post(photo.parent.name.lower(), [photo])
        pipe.send(server.url)
        pipe.recv()


def peak_mb() -> tuple[float, float]:
    """(this process, its largest finished child) peak resident memory, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", type=int, default=None, help="default: every core")
    args = parser.parse_args()

    from faceloop.collect.run import add_source, collect
    from faceloop.ingest.run import import_photos
    from faceloop.testing.mastodon import open_to_local

    try:
        photo_set = read_set(args.data)
    except PhotoSetError as exc:
        sys.exit(f"collect_speed: {exc}")
    photos = spread(photo_set.photos, args.posts)
    print(f"{len(photos)} posts of one photo each from {args.data}, 2 cores")

    for photo in photos:  # both runs read the files from the page cache, not the first alone
        photo.read_bytes()
    ours, theirs = multiprocessing.Pipe()
    instance = multiprocessing.get_context("spawn").Process(target=serve, args=(photos, theirs))
    instance.start()
    url = ours.recv()
    with tempfile.TemporaryDirectory(prefix="faceloop-collect-") as tmp:
        with open_to_local(Path(tmp) / "collected") as ws:
            options = {"tag": "CHEERZ", "backfill": len(photos)}
            source = add_source(ws, "mastodon", url, options)
            started = time.perf_counter()
            (run,) = collect(ws, [source.id], workers=args.workers)
            collect_seconds = time.perf_counter() - started
        collect_peak = peak_mb()
        if run.error:
            print(f"collection stopped: {run.error}")

        with open_to_local(Path(tmp) / "imported") as ws:
            started = time.perf_counter()
            imported = import_photos(ws, photos, workers=args.workers)
            import_seconds = time.perf_counter() - started
        import_peak = peak_mb()
    ours.send("stop")
    instance.join(30)

    collect_rate = run.photos / collect_seconds
    import_rate = imported.imported / import_seconds
    print(
        f"collect   {run.posts / collect_seconds:8.2f} posts/s {collect_rate:8.2f} photos/s "
        f"{run.photos:6} photos {run.faces:6} faces {run.failed:4} failed "
        f"{collect_seconds:7.1f} s  peak {collect_peak[0]:.0f} MB main, "
        f"{collect_peak[1]:.0f} MB largest worker"
    )
    print(
        f"import    {'':8} {'':7} {import_rate:8.2f} photos/s {imported.imported:6} photos "
        f"{imported.faces:6} faces {imported.failed:4} failed {import_seconds:7.1f} s  "
        f"peak {import_peak[0]:.0f} MB main, {import_peak[1]:.0f} MB largest worker"
    )
    ratio = collect_rate / import_rate if import_rate else float("nan")
    verdict = "meets" if ratio >= 0.9 else "misses"
    print(f"collection at {ratio:.1%} of the plain import's photos/s ({verdict} the 90% target)")


if __name__ == "__main__":
    main()
