"""Import throughput: faceloop against the face_recognition package's own loop, same photos.

    .venv/bin/python bench/ingest.py [--photos 1000] [--data ../shared/data/lfw-devtrain]
        [--workers N] [--no-baseline]

--data is any folder with a folder of photos per person. Files that are not photos, that
faceloop cannot read and photos with no face are counted and named in a skip report; the
figures are over every photo file tried, as a user's import would be timed.

face_recognition must be installed beside dlib-bin without its source-only dlib dependency:
`.venv/bin/pip install --no-deps face-recognition==1.3.0` (`make bench-deps` does it); without
it, or with --no-baseline, only faceloop's figures are printed.

Prints photos/s, faces/s and faces per photo for both, the ratio, and peak memory (faceloop's
main process and its largest worker; face_recognition's process). Target: faceloop at least
1.8x face_recognition's throughput on 2 cores while finding at least as many faces.
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import resource
import sys
import tempfile
import threading
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photo_set import PhotoSet, PhotoSetError, Skipped, import_skips, read_set, spread

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lfw-devtrain"


def install_pkg_resources_shim() -> None:
    """face_recognition_models asks pkg_resources for its files; setuptools 81+ no longer has
    pkg_resources, so answer that one question from the package's own folder."""
    if importlib.util.find_spec("pkg_resources") is not None:
        return
    shim = types.ModuleType("pkg_resources")

    def resource_filename(package: str, name: str) -> str:
        spec = importlib.util.find_spec(package)
        return str(Path(next(iter(spec.submodule_search_locations))) / name)

    shim.resource_filename = resource_filename
    sys.modules["pkg_resources"] = shim


def face_recognition_loop(paths: list[str], results: multiprocessing.Queue) -> None:
    """The loop face_recognition's users write, in a process of its own, with the try/except
    a real folder needs (PIL refuses a truncated JPEG)."""
    install_pkg_resources_shim()
    import face_recognition

    started = time.perf_counter()
    faces = 0
    unreadable = []
    for path in paths:
        try:
            image = face_recognition.load_image_file(path)
        except (OSError, ValueError) as exc:
            unreadable.append(f"{Path(path).name} ({exc})")
            continue
        locations = face_recognition.face_locations(image)
        faces += len(face_recognition.face_encodings(image, locations))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put((seconds, faces, peak, unreadable))


def baseline_missing() -> str | None:
    """Why the face_recognition comparison cannot run here, or None when it can."""
    if importlib.util.find_spec("face_recognition") is None:
        return "face_recognition is not installed (make bench-deps)"
    return None


class PeakMemory:
    """Samples the peak resident memory (VmHWM) of every process below this one."""

    def __init__(self) -> None:
        self.peak_mb: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for pid in _descendants(os.getpid()):
                peak = _vm_hwm_mb(pid)
                if peak:
                    self.peak_mb[pid] = max(peak, self.peak_mb.get(pid, 0.0))


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _vm_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_faceloop(
    photo_set: PhotoSet, paths: list[Path], workers: int | None
) -> tuple[float, int, float, float, Skipped]:
    from faceloop.ingest.run import import_photos
    from faceloop.workspace import init_workspace

    with tempfile.TemporaryDirectory() as folder, init_workspace(folder) as ws:
        with PeakMemory() as memory:
            started = time.perf_counter()
            summary = import_photos(ws, paths, workers=workers)
            seconds = time.perf_counter() - started
        main_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker_peak = max(memory.peak_mb.values(), default=0.0)
        skipped = import_skips(ws, photo_set, paths)
        return seconds, summary.faces, main_peak, worker_peak, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", type=int, default=None, help="default: every core")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the face_recognition comparison"
    )
    args = parser.parse_args(argv)
    if args.photos < 1:
        print("error: --photos must be at least 1", file=sys.stderr)
        return 2
    try:
        photo_set = read_set(args.data)
    except PhotoSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    paths = spread(photo_set.photos, args.photos)
    print(f"{len(paths)} photos from {args.data}, {len(os.sched_getaffinity(0))} cores")

    seconds, faces, main_peak, worker_peak, skipped = run_faceloop(photo_set, paths, args.workers)
    print(
        f"faceloop          {len(paths) / seconds:7.2f} photos/s {faces / seconds:7.2f} faces/s "
        f"{faces / len(paths):.3f} faces/photo  {seconds:6.1f} s  "
        f"peak {main_peak:.0f} MB main, {worker_peak:.0f} MB largest worker"
    )
    print(skipped.report(len(paths) + len(photo_set.not_photos)))

    missing = "--no-baseline" if args.no_baseline else baseline_missing()
    if missing:
        print(f"face_recognition  not run: {missing}")
        return 0
    results: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    baseline = multiprocessing.get_context("spawn").Process(
        target=face_recognition_loop, args=([str(p) for p in paths], results)
    )
    baseline.start()
    base_seconds, base_faces, base_peak, unreadable = results.get()
    baseline.join()
    print(
        f"face_recognition  {len(paths) / base_seconds:7.2f} photos/s "
        f"{base_faces / base_seconds:7.2f} faces/s {base_faces / len(paths):.3f} faces/photo  "
        f"{base_seconds:6.1f} s  peak {base_peak:.0f} MB"
    )
    ratio = base_seconds / seconds
    print(f"ratio             {ratio:.2f}x throughput (target >= 1.8x)")
    print(f"faces found       faceloop {faces}, face_recognition {base_faces} (target: >=)")
    if unreadable:
        print(
            f"face_recognition could not read {len(unreadable)}: {', '.join(unreadable[:3])}"
            + (", ..." if len(unreadable) > 3 else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
