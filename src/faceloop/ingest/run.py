"""Photos into a workspace: each stored once, its faces detected, aligned and embedded.

The import streams: files are found one at a time, at most a few photos are in flight, and
worker processes do the decoding and the face models while this process writes the results.
Each photo is one transaction (image, faces and labels together), and blobs are journalled
before they are written, so a killed import leaves nothing half-made and a rerun finishes the
job: files already stored are recognised by their SHA-256 and skipped.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import IO

import numpy as np
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from faceloop.db.models import (
    BlobJournal,
    Decision,
    Face,
    Image,
    ImageOrigin,
    Source,
)
from faceloop.db.upsert import insert_new
from faceloop.ingest.analyse import (
    AnalysedPhoto,
    Unreadable,
    analyse,
    analyse_in_worker,
    init_worker,
)
from faceloop.ingest.near_copies import NearCopyIndex, same_photo, signature
from faceloop.ingest.scan import PhotoFile, Problem, os_reason, scan
from faceloop.ingest.store import (
    FaceToStore,
    Origin,
    PhotoToStore,
    StoredPhoto,
    drop_unclaimed,
    store_photo,
)
from faceloop.labels.decisions import PERSON, decide
from faceloop.labels.people import find_or_create_person
from faceloop.vision import shared_pipeline
from faceloop.vision.decode import UnreadableImage, decode
from faceloop.workspace import Workspace
from faceloop.workspace.blobs import sha256

MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024

CRASH_AFTER_VARIABLE = "FACELOOP_CRASH_AFTER"
_commits_seen = itertools.count(1)


def crash_if_asked() -> None:
    """Test hook: SIGKILL this process once it has committed $FACELOOP_CRASH_AFTER photos.

    A test that proves a killed import resumes cleanly needs the kill to land at a point it
    chooses, not wherever a race against row counts puts it; SIGKILL (not an exception) makes it
    a real crash, with no cleanup code run. Unset, this does nothing.
    """
    wanted = os.environ.get(CRASH_AFTER_VARIABLE)
    if wanted and next(_commits_seen) >= int(wanted):
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class ImportProgress:
    """Sent after each file, for progress bars and job status."""

    done: int = 0
    total: int = 0
    imported: int = 0
    faces: int = 0
    failed: int = 0


@dataclass
class ImportSummary:
    imported: int = 0
    faces: int = 0
    without_faces: int = 0
    exact_duplicates: int = 0
    near_copies: int = 0
    failed: int = 0
    labelled: int = 0
    warnings: int = 0
    seconds: float = 0.0
    report: Path | None = None
    image_ids: list[int] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.imported + self.exact_duplicates + self.near_copies + self.failed


@dataclass
class _Item:
    file: PhotoFile
    sha: str
    data: bytes
    attempts: int = 0


def import_photos(
    workspace: Workspace,
    paths: Iterable[str | os.PathLike[str]],
    *,
    recursive: bool = False,
    by_folder: bool = False,
    person: str | None = None,
    workers: int | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    source: tuple[str, str] = ("folder", "local files"),
    origin_of: Callable[[PhotoFile], PhotoOrigin] | None = None,
    streaming: bool = False,
    on_done: Callable[[PhotoFile], None] | None = None,
) -> ImportSummary:
    """Import photo files and folders. `by_folder` names each photo's person after its folder
    (and implies `recursive`); `person` names one person for all of them. Photos with exactly
    one face then get that label (a decision with origin "import"); photos with several faces
    keep the person as a hint. `origin_of` says where a file was seen when that is not its
    path (a collected photo: its address, its account and its post).

    `streaming` takes `paths` as files that arrive while the import runs (a collection's
    downloads): each is imported as it comes, one worker pool for all, and the total is not
    known ahead. `on_done` hears of each file once it is stored, found a duplicate or failed."""
    with import_lock(workspace) as owner:
        recover_interrupted(workspace, owner)
        run = _ImportRun(workspace, owner, by_folder, person, source, progress)
        if origin_of is not None:
            run.origin_of = origin_of
        if on_done is not None:
            run.on_done = on_done
        count = _worker_count(workspace, workers)
        if streaming:
            return run.execute_stream(paths, count)
        return run.execute([Path(p) for p in paths], recursive or by_folder, count)


def _worker_count(workspace: Workspace, workers: int | None) -> int:
    wanted = workers if workers is not None else workspace.settings.imports.workers
    return wanted if wanted > 0 else len(os.sched_getaffinity(0))


class _ImportRun:
    def __init__(
        self,
        workspace: Workspace,
        owner: str,
        by_folder: bool,
        person: str | None,
        source: tuple[str, str],
        progress: Callable[[ImportProgress], None] | None,
    ) -> None:
        self.ws = workspace
        self.owner = owner
        self.by_folder = by_folder
        self.person = person
        self.progress_callback = progress
        self.progress = ImportProgress()
        self.summary = ImportSummary()
        self.user_id = workspace.owner_id()
        self.source_id = _source_id(workspace, *source)
        self.near = _load_near_copy_index(workspace)
        self.report_file: IO[str] | None = None
        self.waiting: dict[str, list[PhotoFile]] = defaultdict(list)
        self.people: dict[str, int] = {}
        self.origin_of: Callable[[PhotoFile], PhotoOrigin] = _file_origin
        self.on_done: Callable[[PhotoFile], None] = lambda file: None

    def execute(self, roots: list[Path], recursive: bool, workers: int) -> ImportSummary:
        self.progress.total = sum(isinstance(f, PhotoFile) for f in scan(roots, recursive))
        return self._execute(scan(roots, recursive), workers)

    def execute_stream(
        self, paths: Iterable[str | os.PathLike[str]], workers: int
    ) -> ImportSummary:
        return self._execute((f for p in paths for f in scan([Path(p)])), workers)

    def _execute(self, files: Iterator[PhotoFile | Problem], workers: int) -> ImportSummary:
        started = time.monotonic()
        self._tell(done=False)
        try:
            if workers <= 1:
                self._run_in_process(files)
            else:
                self._run_pool(files, workers)
        finally:
            if self.report_file:
                self.report_file.close()
        self.summary.seconds = time.monotonic() - started
        return self.summary

    def _run_in_process(self, files: Iterator[PhotoFile | Problem]) -> None:
        pipeline = shared_pipeline(self.ws.settings.detect)
        max_pixels = self.ws.settings.imports.max_pixels
        for item in self._items(files):
            self._finish(item, analyse(item.data, pipeline, max_pixels))

    def _run_pool(self, files: Iterator[PhotoFile | Problem], workers: int) -> None:
        pending: dict[Future, _Item] = {}
        pool = self._pool(workers)
        try:
            for item in self._items(files):
                while pending and (
                    len(pending) >= 2 * workers
                    or sum(len(p.data) for p in pending.values()) > MAX_IN_FLIGHT_BYTES
                ):
                    pool = self._collect(pool, pending, workers)
                pending[pool.submit(analyse_in_worker, item.data)] = item
            while pending:
                pool = self._collect(pool, pending, workers)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _pool(self, workers: int) -> ProcessPoolExecutor:
        context = get_context("forkserver")
        context.set_forkserver_preload(
            ["faceloop.ingest.forkserver", "faceloop.ingest.analyse", "faceloop.vision.preload"]
        )
        settings = self.ws.settings
        return ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=init_worker,
            initargs=(settings.detect, settings.imports.max_pixels),
        )

    def _collect(
        self, pool: ProcessPoolExecutor, pending: dict[Future, _Item], workers: int
    ) -> ProcessPoolExecutor:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        broken = False
        for future in done:
            item = pending.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                broken = True
                item.attempts += 1
                pending[future] = item
                continue
            self._finish(item, result)
        if not broken:
            return pool
        return self._restart(pool, pending, workers)

    def _restart(
        self, pool: ProcessPoolExecutor, pending: dict[Future, _Item], workers: int
    ) -> ProcessPoolExecutor:
        """A worker died (a crash inside a native library): retry what was in flight, and
        give up on a photo that was in flight at two crashes."""
        pool.shutdown(wait=False, cancel_futures=True)
        items = list(pending.values())
        pending.clear()
        pool = self._pool(workers)
        for item in items:
            if item.attempts >= 2:
                self._fail(item.file, "crashed the face detector twice")
                self._release_waiting(item.sha, "crashed the face detector twice")
            else:
                pending[pool.submit(analyse_in_worker, item.data)] = item
        return pool

    def _items(self, files: Iterator[PhotoFile | Problem]) -> Iterator[_Item]:
        """Read and hash each file; only photos not yet stored go on to the face models."""
        limit = self.ws.settings.imports.max_file_mb * 1024 * 1024
        for found in files:
            if isinstance(found, Problem):
                self._report("FAILED", found.shown, found.reason)
                self.summary.failed += 1
                self._tell(done=False)
                continue
            if found.warning:
                self._report("WARNING", found.shown, found.warning)
                self.summary.warnings += 1
            data = self._read(found, limit)
            if data is None:
                continue
            sha = sha256(data)
            if sha in self.waiting:
                self.waiting[sha].append(found)
                continue
            known = self._image_by_sha(sha)
            if known is not None:
                self._duplicate(found, known)
                continue
            self.waiting[sha] = []
            yield _Item(found, sha, data)

    def _read(self, found: PhotoFile, limit: int) -> bytes | None:
        try:
            size = found.path.stat().st_size
            if size > limit:
                self._fail(found, f"{size / 2**20:.0f} MB is over the {limit // 2**20} MB limit")
                return None
            with open(found.path, "rb") as handle:
                return handle.read()
        except OSError as exc:
            self._fail(found, os_reason(exc))
            return None

    def _finish(self, item: _Item, result: AnalysedPhoto | Unreadable) -> None:
        if isinstance(result, Unreadable):
            self._fail(item.file, result.reason)
            self._release_waiting(item.sha, result.reason)
            return
        original = self._near_copy_of(result)
        stored = self._store(item, result, near_copy_of=original)
        image_id = stored.image_id
        if stored.already_stored:
            self._duplicate(item.file, image_id)
        elif original is None:
            self.near.add(image_id, result.phash)
            self.summary.imported += 1
            self.summary.faces += len(result.faces)
            self.summary.without_faces += not result.faces
            self.summary.image_ids.append(image_id)
            self.progress.imported += 1
            self.progress.faces += len(result.faces)
        else:
            self.summary.near_copies += 1
            with self.ws.transaction(serialized=True) as session:
                self._label(session, original, item.file)
        self._tell()
        self.on_done(item.file)
        for duplicate in self.waiting.pop(item.sha, []):
            self._duplicate(duplicate, image_id)

    def _near_copy_of(self, photo: AnalysedPhoto) -> int | None:
        bits = self.ws.settings.imports.near_copy_bits
        faces = np.array(
            [np.frombuffer(f.embedding, dtype=np.float32) for f in photo.faces], dtype=np.float32
        ).reshape(-1, 128)
        for candidate in self.near.candidates(photo.phash, bits):
            stored_signature, stored_faces = self._stored_look(candidate)
            if stored_signature and same_photo(
                photo.signature, stored_signature, faces, stored_faces
            ):
                return candidate
        return None

    def _stored_look(self, image_id: int) -> tuple[bytes | None, np.ndarray]:
        """The signature and face embeddings of a stored photo, read back from its blob."""
        with self.ws.reader() as session:
            sha = session.scalar(select(Image.sha256).where(Image.id == image_id))
            vectors = session.scalars(select(Face.embedding).where(Face.image_id == image_id))
            faces = np.array(
                [np.frombuffer(v, dtype=np.float32) for v in vectors], dtype=np.float32
            ).reshape(-1, 128)
        try:
            image = decode(self.ws.blobs.get(sha), self.ws.settings.imports.max_pixels).image
        except (OSError, UnreadableImage):
            return None, faces
        return signature(image), faces

    def _store(self, item: _Item, photo: AnalysedPhoto, near_copy_of: int | None) -> StoredPhoto:
        """A new photo with its faces, labelled from its folder in the same transaction; a
        near copy is stored without faces (its original's stand for it)."""
        detector = self.ws.settings.detect.detector
        faces = (
            [FaceToStore.analysed(face, detector) for face in photo.faces]
            if near_copy_of is None
            else []
        )

        def label(session: Session, stored: StoredPhoto) -> None:
            if near_copy_of is None:
                self._label(session, stored.image_id, item.file)

        stored = store_photo(
            self.ws,
            self.owner,
            PhotoToStore(
                item.sha,
                item.data,
                photo.phash,
                photo.width,
                photo.height,
                photo.format,
                near_copy_of,
            ),
            faces,
            self._origin(item.file),
            face_count=len(photo.faces),
            then=label,
        )
        crash_if_asked()
        return stored

    def _origin(self, file: PhotoFile) -> Origin:
        seen = self.origin_of(file)
        return Origin(self.source_id, seen.path, seen.folder, seen.post_id)

    def _add_origin(self, session: Session, image_id: int, file: PhotoFile) -> None:
        origin = self._origin(file)
        insert_new(
            session,
            ImageOrigin,
            ["image_id", "source_id", "path"],
            image_id=image_id,
            source_id=origin.source_id,
            post_id=origin.post_id,
            path=origin.path,
            folder=origin.folder,
        )

    def _duplicate(self, file: PhotoFile, image_id: int) -> None:
        """The same bytes as a stored photo: remember where they were seen too, and let a
        folder name label the face if no one has labelled it yet."""
        with self.ws.transaction(serialized=True) as session:
            self._add_origin(session, image_id, file)
            self._label(session, image_id, file)
        self.summary.exact_duplicates += 1
        self._tell()
        self.on_done(file)

    def _label(self, session: Session, image_id: int, file: PhotoFile) -> None:
        name = self.person or (file.folder_name if self.by_folder else None)
        if not name:
            return
        person_id = self._person_id(session, name)
        face_ids = session.scalars(select(Face.id).where(Face.image_id == image_id)).all()
        if len(face_ids) == 1:
            face_id = face_ids[0]
            decided = session.scalar(select(exists().where(Decision.face_id == face_id)))
            if not decided:
                decide(
                    session,
                    face_id,
                    PERSON,
                    person_id=person_id,
                    origin="import",
                    user_id=self.user_id,
                    detail={"from": "folder" if self.by_folder else "--person"},
                )
                self.summary.labelled += 1
        elif len(face_ids) > 1:
            image = session.get(Image, image_id)
            if image.hint_person_id is None:
                image.hint_person_id = person_id

    def _person_id(self, session: Session, name: str) -> int:
        if name not in self.people:
            folder = self.by_folder and not self.person
            self.people[name] = find_or_create_person(session, name, folder=folder)
        return self.people[name]

    def _image_by_sha(self, sha: str) -> int | None:
        with self.ws.reader() as session:
            return session.scalar(select(Image.id).where(Image.sha256 == sha))

    def _release_waiting(self, sha: str, reason: str) -> None:
        for duplicate in self.waiting.pop(sha, []):
            self._fail(duplicate, reason)

    def _fail(self, file: PhotoFile, reason: str) -> None:
        self._report("FAILED", file.shown, reason)
        self.summary.failed += 1
        self.progress.failed += 1
        self._tell()
        self.on_done(file)

    def _report(self, kind: str, shown: str, reason: str) -> None:
        if self.report_file is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            path = self.ws.reports_dir / f"import-{stamp}-{self.owner[:6]}.txt"
            self.ws.reports_dir.mkdir(exist_ok=True)
            self.report_file = open(path, "w", encoding="utf-8")  # noqa: SIM115
            self.report_file.write("# faceloop import report: one line per file, tab-separated\n")
            self.summary.report = path
        self.report_file.write(f"{kind}\t{shown}\t{reason}\n")
        self.report_file.flush()

    def _tell(self, done: bool = True) -> None:
        """`done` is False for problems met while scanning, which the total does not count."""
        self.progress.done += done
        if self.progress_callback:
            self.progress_callback(self.progress)


def _source_id(workspace: Workspace, kind: str, name: str) -> int:
    with workspace.transaction() as session:
        insert_new(session, Source, ["kind", "name"], kind=kind, name=name, settings={})
        return session.scalar(select(Source.id).where(Source.kind == kind, Source.name == name))


def _load_near_copy_index(workspace: Workspace) -> NearCopyIndex:
    with workspace.reader() as session:
        rows = session.execute(
            select(Image.id, Image.phash).where(Image.near_copy_of_id.is_(None))
        ).all()
    return NearCopyIndex(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
    )


@contextmanager
def import_lock(workspace: Workspace) -> Iterator[str]:
    """Each running import holds a lock named by its token; a journal row whose token is not
    locked belongs to an import that died."""
    owner = uuid.uuid4().hex
    workspace.locks_dir.mkdir(exist_ok=True)
    path = workspace.locks_dir / f"import-{owner}.lock"
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield owner
        finally:
            path.unlink(missing_ok=True)


def _owner_alive(workspace: Workspace, owner: str) -> bool:
    path = workspace.locks_dir / f"import-{owner}.lock"
    if not path.exists():
        return False
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    path.unlink(missing_ok=True)
    return False


def _others_running(workspace: Workspace, owner: str | None) -> bool:
    """Whether an import other than `owner` holds its lock now."""
    if not workspace.locks_dir.exists():
        return False
    others = [
        path.stem.removeprefix("import-")
        for path in workspace.locks_dir.glob("import-*.lock")
        if path.stem != f"import-{owner}"
    ]
    return any(_owner_alive(workspace, other) for other in others)


@dataclass(frozen=True)
class PhotoOrigin:
    """Where an imported file was seen, as its origin row records it."""

    path: str
    folder: str
    post_id: int | None = None


def _file_origin(file: PhotoFile) -> PhotoOrigin:
    return PhotoOrigin(file.shown, _folder_of(file.shown))


def _folder_of(shown: str) -> str:
    return shown.rsplit("/", 1)[0] if "/" in shown else ""


def recover_interrupted(workspace: Workspace, owner: str | None = None) -> int:
    """Delete blobs that an import killed mid-photo wrote but never recorded. Returns how many
    were deleted. `owner` is the caller's own import; another one running now keeps its
    journalled blobs and its half-written files."""
    if not _others_running(workspace, owner):
        workspace.blobs.remove_temporaries()
    removed = 0
    with workspace.transaction(serialized=True) as session:
        owners = session.scalars(select(BlobJournal.owner).distinct()).all()
        for dead in owners:
            if dead == owner or _owner_alive(workspace, dead):
                continue
            keys = session.scalars(select(BlobJournal.key).where(BlobJournal.owner == dead))
            removed += drop_unclaimed(session, workspace.blobs, dead, keys.all())
    return removed
