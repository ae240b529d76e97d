"""Server-side latency of the groups pages on a synthetic workspace at full scale.

Builds (or reuses) the workspace of bench/ui_latency.py (100,000 faces, 1,000 people, half of
the faces labelled; `faceloop.testing.workspace`), groups the unlabelled half with `recluster`,
then times what a reviewer waits for: the groups page (the largest group with its faces and
merge suggestions), the list view, one group by id, the JSON list and detail and "more like
this" while nothing changes; then a group label POST and its undo, each followed by the groups
page and a group's detail (the labels and the group changed: what is kept about the groups
follows the change, readmodel/groups.py). Times are the app's own (the Server-Timing header),
measured in-process so the client does not compete for the cores. Also timed, as function calls:
the nearest labelled person of every unlabelled face (review/look_alikes.py, which feeds the confirm
and "unknown person" pages), built once and then followed after each label and undo.

    .venv/bin/python bench/groups_latency.py                          # builds in a temporary folder
    .venv/bin/python bench/groups_latency.py --workspace /tmp/ui-bench   # built once, reused
    .venv/bin/python bench/groups_latency.py --workspace /tmp/ui-bench --no-recluster  # and grouped
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui_latency import percentiles, server_ms

from faceloop.grouping.run import recluster
from faceloop.grouping.views import list_groups
from faceloop.review.look_alikes import nearest_people
from faceloop.testing.workspace import build_synthetic
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import init_workspace, open_workspace

TARGET_MS = 100.0
HTML = {"Accept": "text/html"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="build here once and reuse it")
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--no-recluster",
        action="store_true",
        help="reuse the groups of the workspace's last run (the bench undoes what it labels)",
    )
    args = parser.parse_args()

    temporary = None
    root = args.workspace
    if root is None:
        temporary = tempfile.mkdtemp(prefix="faceloop-groups-bench-")
        root = Path(temporary) / "ws"
    marker = root / "synthetic.txt"
    try:
        if marker.exists() and marker.read_text() == f"{args.faces} {args.people}":
            ws = open_workspace(root)
            print(f"reusing {root}")
        else:
            if root.exists():
                shutil.rmtree(root)
            ws = init_workspace(root)
            info = build_synthetic(
                ws, faces=args.faces, people=args.people, progress=lambda m: print("  building", m)
            )
            marker.write_text(f"{args.faces} {args.people}")
            print(
                f"built {info.faces:,} faces, {info.people:,} people, {info.images:,} photos, "
                f"{info.labelled:,} labelled in {info.seconds:.1f} s"
            )
        if args.no_recluster and list_groups(ws, limit=1):
            print("reusing the groups of the last run")
        else:
            run = recluster(ws)
            print(
                f"recluster: {run.groups:,} groups holding {run.grouped_faces:,} of "
                f"{run.unlabelled_faces:,} unlabelled faces, threshold {run.threshold:.3f} "
                f"({run.threshold_source}{', adapted' if run.adapted else ''}) "
                f"in {run.seconds:.1f} s"
            )
        measure(ws, args.requests)
        ws.close()
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


def measure(ws, n: int) -> None:
    client = TestClient(create_app(ws, WebSettings(allowed_hosts=None)))
    token = client.get("/api/v1/session").json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    started = time.monotonic()
    client.get("/groups", headers=HTML)
    print(f"first groups page (loads the groups): {time.monotonic() - started:.2f} s")
    started = time.monotonic()
    suggested = len(nearest_people(ws).face_ids)
    print(
        f"nearest labelled person of every unlabelled face, built: "
        f"{time.monotonic() - started:.1f} s ({suggested:,} faces with a suggestion)"
    )
    groups = list_groups(ws, limit=500)
    if not groups:
        raise SystemExit("no groups: nothing to measure")
    rng = np.random.default_rng(2)
    reads: dict[str, list[float]] = {
        "groups page": [],
        "list view": [],
        "group page by id": [],
        "API list (50)": [],
        "API detail": [],
        "more like this": [],
    }
    writes: dict[str, list[float]] = {
        "label group POST": [],
        "groups page after a label": [],
        "API detail after a label": [],
        "undo": [],
        "groups page after an undo": [],
    }
    calls: dict[str, list[float]] = {
        "nearest people after a label": [],
        "nearest people after an undo": [],
    }
    for _ in range(10):
        client.get("/groups", headers=HTML)
        client.get(f"/api/v1/groups/{groups[0].id}")
    for _ in range(n):
        group = groups[int(rng.integers(len(groups)))]
        reads["groups page"].append(server_ms(client.get("/groups", headers=HTML)))
        reads["list view"].append(server_ms(client.get("/groups?view=list", headers=HTML)))
        reads["group page by id"].append(server_ms(client.get(f"/groups/{group.id}", headers=HTML)))
        reads["API list (50)"].append(server_ms(client.get("/api/v1/groups?limit=50")))
        detail = client.get(f"/api/v1/groups/{group.id}")
        reads["API detail"].append(server_ms(detail))
        face = detail.json()["faces"][0]["face_id"]
        reads["more like this"].append(
            server_ms(client.get(f"/api/v1/faces/{face}/similar?limit=36"))
        )
    for i in range(max(1, n // 4)):
        group = groups[int(rng.integers(len(groups)))]
        faces = [f["face_id"] for f in client.get(f"/api/v1/groups/{group.id}").json()["faces"]]
        answer = client.post(
            f"/api/v1/groups/{group.id}/label",
            json={"name": f"Bench person {i}", "face_ids": faces, "confirm": True},
        )
        writes["label group POST"].append(server_ms(answer))
        writes["groups page after a label"].append(server_ms(client.get("/groups", headers=HTML)))
        other = groups[int(rng.integers(len(groups)))]
        writes["API detail after a label"].append(
            server_ms(client.get(f"/api/v1/groups/{other.id}"))
        )
        calls["nearest people after a label"].append(timed(lambda: nearest_people(ws)))
        batch = answer.json()["batch"]
        writes["undo"].append(server_ms(client.post(f"/api/v1/batches/{batch}/undo")))
        writes["groups page after an undo"].append(server_ms(client.get("/groups", headers=HTML)))
        calls["nearest people after an undo"].append(timed(lambda: nearest_people(ws)))
    load = os.getloadavg()
    print(
        f"\n{ws.root}: {n} reads of each page, {max(1, n // 4)} group labels and undos; "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"{'':28} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  target p95 <= {TARGET_MS:.0f} ms")
    for name, values in {**reads, **writes}.items():
        p50, p95, p99 = percentiles(values)
        verdict = "ok" if p95 <= TARGET_MS else "SLOW"
        print(f"{name:28} {p50:8.1f} {p95:8.1f} {p99:8.1f}  {verdict}")
    print("function calls, not pages:")
    for name, values in calls.items():
        p50, p95, p99 = percentiles(values)
        print(f"{name:28} {p50:8.1f} {p95:8.1f} {p99:8.1f}")


def timed(call) -> float:
    """Milliseconds one call takes."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
