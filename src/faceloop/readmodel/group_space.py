"""The space the groups were built in, and every face's embedding in it.

Distances on the groups pages, "more like this" and the nearest-person suggestions must be the
ones the groups were built with, so all of them read the last run's projection and threshold
(`grouping.npz`, beside the models; identity and the default threshold before any run).

Projecting a hundred thousand embeddings takes about a tenth of a second on two cores, which is
the whole budget of a page, so it is done once per run and per face: `projected` keeps every
face's projected embedding (and its squared norm, for distances by one matrix product) beside
the snapshot, and projects only the last chunk again when faces are added. Chunks always
have the same number of rows (the last one padded), so a face's projection is the same number
whether it came with the first load or with a later import: what is computed from the cache
(group statistics, nearest faces) stays right as faces are added, and equals a rebuild.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceloop.cluster import DEFAULT_THRESHOLD, Projection
from faceloop.cluster.neighbours import squared_norms
from faceloop.readmodel.state import LABEL_PERSON, Snapshot
from faceloop.workspace import Workspace

RUN_FILE = "grouping.npz"
#: faces projected at once; a new face re-projects at most one chunk
CHUNK = 8192


@dataclass(frozen=True)
class Space:
    """The projection and threshold of the last run (identity and the default before any)."""

    projection: Projection | None
    threshold: float
    #: the run file's modification time: changes with every run
    mark: int
    #: the newest face the run could group (faces after it came later: "not grouped yet");
    #: 0 before any run, None for a run file from before this was kept (then none count)
    faces_through: int | None = 0

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return x if self.projection is None else self.projection.transform(x)


@dataclass(frozen=True)
class Projected:
    """Every face of the snapshot in a space, row for row with the state's arrays."""

    vectors: np.ndarray
    #: squared norms of the rows
    squares: np.ndarray


_lock = threading.Lock()
_spaces: dict[tuple, Space] = {}


def run_path(ws: Workspace) -> Path:
    return ws.models_dir / RUN_FILE


def load_space(ws: Workspace) -> Space:
    """The last run's space, read once per run."""
    path = run_path(ws)
    try:
        mark = path.stat().st_mtime_ns
    except OSError:
        return Space(None, DEFAULT_THRESHOLD, 0)
    key = (str(path), mark)
    with _lock:
        cached = _spaces.get(key)
    if cached is not None:
        return cached
    try:
        with np.load(path) as saved:
            projection = None
            if bool(saved["adapted"]):
                projection = Projection.from_arrays(
                    {"mean": saved["mean"], "matrix": saved["matrix"]}
                )
            through = int(saved["faces_through"]) if "faces_through" in saved else None
            space = Space(projection, float(saved["threshold"]), mark, through)
    except (OSError, KeyError, ValueError):
        space = Space(None, DEFAULT_THRESHOLD, mark, None)
    with _lock:
        _spaces.clear()
        _spaces[key] = space
    return space


def save_space(
    ws: Workspace, projection: Projection | None, threshold: float, faces_through: int = 0
) -> None:
    """`faces_through`: the newest face id the run saw, so later imports can be told apart."""
    path = run_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = projection.to_arrays() if projection is not None else Projection.identity().to_arrays()
    temporary = path.with_suffix(".tmp.npz")
    np.savez(
        temporary,
        adapted=np.array(projection is not None),
        threshold=np.array(threshold),
        faces_through=np.array(faces_through, dtype=np.int64),
        **arrays,
    )
    os.replace(temporary, path)


def projected(state: Snapshot, space: Space) -> Projected:
    """Every face's embedding in `space`, kept on the snapshot and grown from its predecessor's
    by the chunks that changed."""
    key = ("group-space", space.mark, state.generation)
    cached = state.cache.get("projected")
    n = len(state.face_ids)
    if cached is not None and cached[0] == key and len(cached[1].vectors) == n:
        return cached[1]
    done = 0
    if cached is not None and cached[0] == key and len(cached[1].vectors) < n:
        done = len(cached[1].vectors) // CHUNK * CHUNK
    vectors = [cached[1].vectors[:done]] if done else []
    squares = [cached[1].squares[:done]] if done else []
    for start in range(done, n, CHUNK):
        chunk = _chunk(space, state.embeddings[start : start + CHUNK])
        vectors.append(chunk)
        squares.append(squared_norms(chunk))
    if not vectors:
        vectors.append(space.transform(state.embeddings[:0]))
        squares.append(np.zeros(0, dtype=np.float32))
    found = Projected(np.concatenate(vectors), np.concatenate(squares))
    found.vectors.setflags(write=False)
    found.squares.setflags(write=False)
    state.cache["projected"] = (key, found)
    return found


def _chunk(space: Space, x: np.ndarray) -> np.ndarray:
    """`x` (at most CHUNK rows) projected as a block of exactly CHUNK rows: a matrix product
    rounds a row differently depending on how many rows come with it, and a face must keep its
    projection when faces are added after it."""
    padded = np.zeros((CHUNK, x.shape[1]), dtype=np.float32)
    padded[: len(x)] = x
    return np.ascontiguousarray(space.transform(padded)[: len(x)], dtype=np.float32)


def labelled_people(state: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """Positions of faces labelled with a person who is not hidden, and that person (merges
    resolved); kept until the labels or the people change."""
    key = (state.generation, len(state.face_ids), state.labels_version, state.people_version)
    cached = state.cache.get("labelled-people")
    if cached is not None and cached[0] == key:
        return cached[1]
    named = np.flatnonzero(state.verdict == LABEL_PERSON)
    raw, inverse = np.unique(state.person[named], return_inverse=True)
    roots = np.array([state.root(int(p)) for p in raw.tolist()], dtype=np.int64)[inverse]
    hidden = [pid for pid, record in state.people.items() if record.hidden]
    visible = ~np.isin(roots, hidden) if hidden else np.ones(len(roots), dtype=bool)
    found = (named[visible], roots[visible].astype(np.int64))
    for array in found:
        array.setflags(write=False)
    state.cache["labelled-people"] = (key, found)
    return found
