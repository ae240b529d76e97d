"""Server-side latency of the label workflow on a synthetic workspace at full scale.

Builds (or reuses) a workspace of 100,000 faces and 1,000 people with random embeddings and
generated chips, then times what a labeller waits for: the next face in the queue, name
autocomplete, the person page, a label POST and an undo. Times are the app's own (the
Server-Timing header: routing, the handler, the database, rendering), measured in-process so the
benchmark client does not compete for the two cores.

    .venv/bin/python bench/ui_latency.py                 # builds in a temporary folder
    .venv/bin/python bench/ui_latency.py --workspace /tmp/ui-bench   # built once, reused
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from faceloop.labels.names import name_index, readings
from faceloop.readmodel import snapshot
from faceloop.testing.workspace import build_synthetic
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import init_workspace, open_workspace

TARGET_MS = 50.0
TIMING = re.compile(r"app;dur=([0-9.]+)")


def server_ms(response) -> float:
    assert response.status_code < 400, (response.status_code, response.text[:300])
    return float(TIMING.search(response.headers["server-timing"]).group(1))


def percentiles(values: list[float]) -> tuple[float, float, float]:
    data = np.array(values)
    return tuple(float(np.percentile(data, q)) for q in (50, 95, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="build here once and reuse it")
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    temporary = None
    root = args.workspace
    if root is None:
        temporary = tempfile.mkdtemp(prefix="faceloop-ui-bench-")
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
        run(ws, args.requests)
        ws.close()
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


def run(ws, n: int) -> None:
    started = time.monotonic()
    state = snapshot(ws)
    name_index(state)
    state.centroids()
    people = sorted(state.people.values(), key=lambda p: p.id)
    print(f"warm-up (faces, labels, centroids, name index): {time.monotonic() - started:.2f} s")
    rng = np.random.default_rng(1)
    queries = []
    for record in rng.choice(people, n):
        keys = readings(record.name)
        key = keys[int(rng.integers(len(keys)))]
        queries.append(key[: int(rng.integers(1, 4))])
    client = TestClient(create_app(ws, WebSettings(allowed_hosts=None)))
    token = client.get("/api/v1/session").json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    times: dict[str, list[float]] = {
        "next face (queue, 1)": [],
        "next faces (queue, 8)": [],
        "autocomplete": [],
        "person page": [],
        "label POST": [],
        "undo": [],
    }
    for _ in range(20):
        client.get("/api/v1/queue?limit=8")
        client.get("/api/v1/names", params={"q": "a"})
        client.get(f"/people/{people[0].id}")
    batches = []
    for i in range(n):
        page = client.get("/api/v1/queue?limit=1")
        times["next face (queue, 1)"].append(server_ms(page))
        item = page.json()["items"][0]
        times["next faces (queue, 8)"].append(
            server_ms(client.get("/api/v1/queue", params={"limit": 8, "exclude": item["face_id"]}))
        )
        times["autocomplete"].append(
            server_ms(client.get("/api/v1/names", params={"q": queries[i]}))
        )
        person = people[int(rng.integers(len(people)))]
        times["person page"].append(server_ms(client.get(f"/people/{person.id}")))
        target = item["suggestions"][0]["person_id"] if item["suggestions"] else person.id
        answer = client.post(
            f"/api/v1/faces/{item['face_id']}/label",
            json={
                "verdict": "person",
                "person_id": target,
                "origin": "suggestion",
                "confirm": True,
            },
        )
        times["label POST"].append(server_ms(answer))
        batches.append(answer.json()["batch"])
        if i % 2:
            times["undo"].append(server_ms(client.post(f"/api/v1/batches/{batches.pop(0)}/undo")))
    for batch in batches:
        times["undo"].append(server_ms(client.post(f"/api/v1/batches/{batch}/undo")))
    load = os.getloadavg()
    print(
        f"\n{ws.root}: {n} requests each, {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"{'':24} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  target p95 <= {TARGET_MS:.0f} ms")
    for name, values in times.items():
        p50, p95, p99 = percentiles(values)
        verdict = "ok" if p95 <= TARGET_MS else "SLOW"
        print(f"{name:24} {p50:8.1f} {p95:8.1f} {p99:8.1f}  {verdict}")
    every = [value for values in times.values() for value in values]
    print(f"(mean of all: {statistics.mean(every):.1f} ms)")


if __name__ == "__main__":
    main()
