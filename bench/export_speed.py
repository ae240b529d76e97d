"""How fast faceloop writes a large dataset, and how much memory it needs doing it.

Exports N synthetic faces (default 100,000) to TFRecord and to Parquet, each in a fresh child
process so that each peak resident set size (ru_maxrss) is that format's alone, from two
sources:
- "stream": ExportFace values made here and handed straight to the writer (the writers alone);
  the crops are a handful of ~4 KB JPEGs, reused under different face ids;
- "workspace": a synthetic workspace of N labelled faces (review.synthetic, built once, its
  build time reported) exported with `export_workspace`, the path `faceloop export` takes:
  the plan, the chunked database reads and a blob read per face.
Every export also writes the manifests, labels.json, the card and the contact sheets, as a real
export does.

    .venv/bin/python bench/export_speed.py --faces 100000
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from faceloop.export import (
    ExportFace,
    ParquetOptions,
    Provenance,
    TFRecordOptions,
    split_of,
    write_parquet,
    write_tfrecord,
)

MEMORY_TARGET_MB = 300


def synthetic_crop(seed: int) -> bytes:
    """A 112x112 face-like JPEG of about 4 KB: skin oval, eyes, mouth, sensor noise."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (112, 112), tuple(int(x) for x in rng.integers(60, 200, 3)))
    draw = ImageDraw.Draw(image)
    draw.ellipse((22, 14, 90, 104), fill=tuple(int(x) for x in rng.integers(150, 230, 3)))
    for x in (40, 66):
        draw.ellipse((x, 45, x + 10, 52), fill=(40, 30, 30))
    draw.arc((40, 70, 72, 88), 20, 160, fill=(120, 40, 40), width=3)
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float32)
    pixels = np.clip(pixels + rng.normal(0, 10, pixels.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=87)
    return buffer.getvalue()


def faces(count: int, people: int) -> Iterator[ExportFace]:
    crops = [synthetic_crop(seed) for seed in range(8)]
    embeddings = np.random.default_rng(0).normal(size=(8, 128)).astype(np.float32)
    start = datetime(2024, 1, 1)
    for face_id in range(1, count + 1):
        label = face_id % (people + 1)
        yield ExportFace(
            face_id=face_id,
            label=label,
            split=split_of(face_id),
            crop_jpeg=crops[face_id % len(crops)],
            person_id=label or None,
            person_name=f"Person {label}" if label else None,
            aliases=(f"P{label}",) if label else (),
            box=(10, 20, 110, 120),
            embedding=embeddings[face_id % len(embeddings)],
            provenance=Provenance(
                photo_sha256=f"{face_id:064x}",
                photo_path=f"blobs/{face_id % 256:02x}/{face_id:064x}",
                source_kind="folder",
                account=f"@account{label}",
                post_url=f"https://example.com/p/{face_id}",
                posted_at=start + timedelta(minutes=face_id),
                labelled_by="owner",
                labelled_at=start + timedelta(days=30, seconds=face_id),
                label_origin="manual",
            ),
        )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(fmt: str, count: int, people: int, out: Path, workspace: Path | None) -> dict:
    if workspace is not None:
        from faceloop.datasets.export import DatasetOptions, export_workspace
        from faceloop.workspace import open_workspace

        ws = open_workspace(workspace)
        baseline = peak_mb()
        started = time.perf_counter()
        options = DatasetOptions(format=fmt, min_per_class=1, other_ratio=0.0)
        summary = export_workspace(ws, out, options).summary
    else:
        baseline = peak_mb()
        started = time.perf_counter()
        if fmt == "tfrecord":
            summary = write_tfrecord(faces(count, people), out, TFRecordOptions())
        else:
            summary = write_parquet(faces(count, people), out, ParquetOptions())
    seconds = time.perf_counter() - started
    written = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {
        "format": fmt,
        "faces": summary.faces,
        "seconds": seconds,
        "written_mb": written / 1e6,
        "image_mb": summary.image_bytes / 1e6,
        "baseline_mb": baseline,
        "peak_mb": peak_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=500, help="labels besides 0 (other)")
    parser.add_argument("--formats", default="tfrecord,parquet")
    parser.add_argument("--sources", default="stream,workspace")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workspace", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.build:
        build_workspace(args.build, args.faces, args.people)
        return
    if args.child:
        result = run_one(args.child, args.faces, args.people, args.out, args.workspace)
        print(json.dumps(result))
        return

    print(f"{args.faces:,} faces, {args.people} people + other, ~4 KB JPEG crops")
    with tempfile.TemporaryDirectory(prefix="faceloop-bench-") as scratch:
        for source in args.sources.split(","):
            workspace = None
            if source == "workspace":
                # in a process of its own: Linux keeps the peak RSS across exec, so a parent
                # that built 100,000 faces would hand its peak to every child it starts
                workspace = Path(scratch) / "ws"
                command = [sys.executable, __file__, "--build", str(workspace)]
                command += ["--faces", str(args.faces), "--people", str(args.people)]
                print(
                    subprocess.run(command, check=True, capture_output=True, text=True).stdout,
                    end="",
                )
            for fmt in args.formats.split(","):
                out = Path(scratch) / f"{source}-{fmt}"
                command = [sys.executable, __file__, "--child", fmt, "--faces", str(args.faces)]
                command += ["--people", str(args.people), "--out", str(out)]
                if workspace is not None:
                    command += ["--workspace", str(workspace)]
                run = subprocess.run(command, check=True, capture_output=True)
                report(source, fmt, json.loads(run.stdout))
                shutil.rmtree(out)


def build_workspace(root: Path, count: int, people: int) -> None:
    from faceloop.testing.workspace import build_synthetic
    from faceloop.workspace import init_workspace

    with init_workspace(root) as ws:
        info = build_synthetic(ws, faces=count, people=people, labelled_fraction=1.0)
    print(f"workspace  {info.labelled:,} labelled faces built in {info.seconds:.1f} s")


def report(source: str, fmt: str, result: dict) -> None:
    s = result["seconds"]
    verdict = "ok" if result["peak_mb"] <= MEMORY_TARGET_MB else "OVER"
    print(
        f"{source:9s} {fmt:9s} {result['faces']:,} faces in {s:.1f} s: "
        f"{result['faces'] / s:,.0f} faces/s, "
        f"{result['written_mb'] / s:.1f} MB/s written ({result['written_mb']:.0f} MB, "
        f"{result['image_mb'] / s:.1f} MB/s of images), "
        f"peak RSS {result['peak_mb']:.0f} MB "
        f"({result['baseline_mb']:.0f} MB after imports; target <= {MEMORY_TARGET_MB} MB: "
        f"{verdict})"
    )


if __name__ == "__main__":
    main()
