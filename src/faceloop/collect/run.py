"""Sources in the database, and the run that collects what is new from them.

A run reads a source's pages from its cursor. For each batch of pages it records the posts and
their accounts, fetches the images of posts not yet collected, imports them through the one
import path (`faceloop.ingest.run.import_photos`: stored once by content, faces found in
workers), and then, in one transaction, marks the posts collected and stores the cursor. A run
killed anywhere goes on from the last stored cursor: posts are unique per source, photos per
content, so nothing is stored twice and nothing is lost.

Who posted a photo is the free label: an account linked to a person makes her the photo's hint,
and with `[collect] label_own_selfies` a single-face photo from her account is labelled hers.
Accounts marked do-not-collect (`faceloop forget` marks the forgotten person's) and authors whose
name is a forgotten person's are skipped before any of their images is fetched.
"""

from __future__ import annotations

import fcntl
import queue
import random
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from faceloop.collect.base import FetchedPost, Page, SourceContext, SourceError, SourceKind
from faceloop.collect.fetch import Fetcher, FetchError, FetchPolicy, looks_like_image
from faceloop.collect.guard import AddressGuard
from faceloop.collect.sources import kind as kind_named
from faceloop.db.models import (
    Account,
    Decision,
    Face,
    Image,
    ImageOrigin,
    Post,
    Source,
    utcnow,
)
from faceloop.db.upsert import insert_new
from faceloop.ingest.run import ImportProgress, PhotoOrigin, import_photos
from faceloop.ingest.scan import PhotoFile
from faceloop.labels.decisions import PERSON, decide
from faceloop.labels.people import forgotten_keys, search_key
from faceloop.workspace import Workspace
from faceloop.workspace.secrets import secrets_for

#: images fetched ahead of the import, at most
BATCH_IMAGES = 64
#: images fetched at once
DOWNLOADS = 4


@dataclass(frozen=True)
class SourceInfo:
    id: int
    kind: str
    name: str
    settings: dict[str, Any]
    paused: bool
    every_minutes: int
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_error: str | None
    posts: int
    photos: int
    faces: int
    reads_used: int


@dataclass
class RunSummary:
    source_id: int
    name: str
    posts: int = 0
    photos: int = 0
    duplicates: int = 0
    faces: int = 0
    #: images that could not be fetched or read (the report says which)
    failed: int = 0
    #: posts of accounts that may not be collected from
    skipped: int = 0
    labelled: int = 0
    error: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class CollectProgress:
    source: str = ""
    posts: int = 0
    photos: int = 0
    faces: int = 0
    failed: int = 0


# ------------------------------------------------------------------ sources


def add_source(
    ws: Workspace,
    kind: str,
    target: str,
    options: Mapping[str, Any] | None = None,
    every_minutes: int | None = None,
) -> SourceInfo:
    """Add a source (SourceError with the reason when its settings are wrong or it exists)."""
    found = kind_named(kind)
    options = {k: v for k, v in (options or {}).items() if v not in (None, "")}
    options.setdefault("backfill", ws.settings.collect.backfill)
    settings = found.settings(target, options)
    name = found.describe(settings)
    every = every_minutes or ws.settings.collect.every_minutes
    with ws.transaction(serialized=True) as session:
        existing = session.scalar(select(Source).where(Source.kind == kind, Source.name == name))
        if existing is not None and existing.removed_at is None:
            raise SourceError(f"there is already a {kind} source {name} (#{existing.id})")
        if existing is not None:
            existing.removed_at, existing.paused, existing.settings = None, False, settings
            existing.schedule = str(every)
            source_id = existing.id
        else:
            source = Source(kind=kind, name=name, settings=settings, schedule=str(every))
            session.add(source)
            session.flush()
            source_id = source.id
        session.execute(update(Source).where(Source.id == source_id).values(next_run_at=utcnow()))
    return source_info(ws, source_id)


def find_source(ws: Workspace, ref: str | int) -> int:
    """A source's id from its id or its name (SourceError if none or several match)."""
    with ws.reader() as session:
        query = select(Source.id).where(Source.removed_at.is_(None), _collected())
        if isinstance(ref, int) or str(ref).lstrip("#").isdigit():
            found = session.scalars(query.where(Source.id == int(str(ref).lstrip("#")))).all()
        else:
            found = session.scalars(query.where(Source.name == ref)).all()
    if len(found) != 1:
        what = "no source" if not found else f"{len(found)} sources"
        raise SourceError(f"{what} called {ref!r}: see `faceloop source list`")
    return found[0]


def list_sources(ws: Workspace) -> list[SourceInfo]:
    with ws.reader() as session:
        ids = session.scalars(
            select(Source.id).where(Source.removed_at.is_(None), _collected()).order_by(Source.id)
        ).all()
    return [source_info(ws, i) for i in ids]


def source_info(ws: Workspace, source_id: int) -> SourceInfo:
    with ws.reader() as session:
        source = session.get(Source, source_id)
        if source is None:
            raise SourceError(f"no source #{source_id}")
        posts = session.scalar(select(func.count(Post.id)).where(Post.source_id == source_id))
        photos = session.scalar(
            select(func.count(func.distinct(ImageOrigin.image_id))).where(
                ImageOrigin.source_id == source_id
            )
        )
        faces = session.scalar(
            select(func.count(func.distinct(Face.id)))
            .join(ImageOrigin, ImageOrigin.image_id == Face.image_id)
            .where(ImageOrigin.source_id == source_id)
        )
        return SourceInfo(
            id=source.id,
            kind=source.kind,
            name=source.name,
            settings=dict(source.settings or {}),
            paused=source.paused,
            every_minutes=_every(source),
            last_run_at=source.last_run_at,
            next_run_at=source.next_run_at,
            last_error=source.last_error,
            posts=posts or 0,
            photos=photos or 0,
            faces=faces or 0,
            reads_used=source.reads_used if source.reads_month == _month() else 0,
        )


def set_paused(ws: Workspace, source_id: int, paused: bool) -> None:
    with ws.transaction() as session:
        session.execute(update(Source).where(Source.id == source_id).values(paused=paused))


def remove_source(ws: Workspace, source_id: int) -> None:
    """Stop collecting from a source. Its posts, photos and faces stay, with every label."""
    with ws.transaction() as session:
        session.execute(
            update(Source)
            .where(Source.id == source_id)
            .values(removed_at=utcnow(), paused=True, cursor=None)
        )


def due_sources(ws: Workspace, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    with ws.reader() as session:
        return list(
            session.scalars(
                select(Source.id).where(
                    Source.removed_at.is_(None),
                    Source.paused.is_(False),
                    _collected(),
                    (Source.next_run_at.is_(None)) | (Source.next_run_at <= now),
                )
            )
        )


def _collected():
    """Collected sources have a schedule; the sources of imports and uploads have none."""
    return Source.schedule.is_not(None)


def _every(source: Source) -> int:
    return int(source.schedule) if (source.schedule or "").isdigit() else 30


def _month(now: datetime | None = None) -> str:
    return (now or utcnow()).strftime("%Y-%m")


# ------------------------------------------------------------------ running


def make_fetcher(ws: Workspace) -> Fetcher:
    settings = ws.settings.collect
    return Fetcher(
        AddressGuard(settings.allow_networks),
        FetchPolicy(
            timeout=settings.timeout_seconds, max_image_bytes=settings.max_image_mb * 2**20
        ),
    )


def collect(
    ws: Workspace,
    source_ids: Iterable[int] | None = None,
    *,
    progress: Callable[[CollectProgress], None] | None = None,
    fetcher: Fetcher | None = None,
    workers: int | None = None,
) -> list[RunSummary]:
    """Collect from these sources (default: every one not paused), one after another."""
    ids = list(source_ids) if source_ids is not None else _active(ws)
    own = fetcher is None
    fetcher = fetcher or make_fetcher(ws)
    try:
        return [_Run(ws, i, fetcher, progress, workers).execute() for i in ids]
    finally:
        if own:
            fetcher.close()


def _active(ws: Workspace) -> list[int]:
    return [s.id for s in list_sources(ws) if not s.paused]


@contextmanager
def _source_lock(ws: Workspace, source_id: int) -> Iterator[bool]:
    ws.locks_dir.mkdir(exist_ok=True)
    with open(ws.locks_dir / f"collect-{source_id}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


@dataclass
class _Batch:
    """A page on its way in: its new posts, and the staged images not yet imported."""

    page: Page
    post_ids: list[int]
    waiting: set[str] = field(default_factory=set)
    #: every image of the page is staged (or failed); until then more may come
    fetched: bool = False


class _Run:
    def __init__(
        self,
        ws: Workspace,
        source_id: int,
        fetcher: Fetcher,
        progress: Callable[[CollectProgress], None] | None,
        workers: int | None,
    ) -> None:
        self.ws = ws
        self.source_id = source_id
        self.fetcher = fetcher
        self.progress_callback = progress
        self.workers = workers
        info = source_info(ws, source_id)
        self.info = info
        self.summary = RunSummary(source_id, info.name)
        self.progress = CollectProgress(source=info.name)
        self.kind: SourceKind = kind_named(info.kind)
        self.staging = ws.root / "staging" / f"collect-{source_id}-{uuid.uuid4().hex[:8]}"
        with ws.reader() as session:
            self.forgotten = forgotten_keys(session)
        self.monthly = info.settings.get("monthly_reads")
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.batches: list[_Batch] = []
        self.origins: dict[str, PhotoOrigin] = {}
        self.accounts: dict[str, tuple[int, bool]] = {}
        self.downloads = ThreadPoolExecutor(DOWNLOADS, thread_name_prefix="collect-image")

    def execute(self) -> RunSummary:
        with _source_lock(self.ws, self.source_id) as mine:
            if not mine:
                self.summary.error = "already being collected by another run"
                return self.summary
            try:
                self._read()
            except (SourceError, FetchError) as exc:
                self.summary.error = str(exc)
            finally:
                self.downloads.shutdown(wait=True, cancel_futures=True)
                shutil.rmtree(self.staging, ignore_errors=True)
                self._finish()
        return self.summary

    def _read(self) -> None:
        """Pages are read and their images fetched in a thread of their own while the import
        finds faces in what has arrived: the network and the face models work at once, with
        one worker pool for the whole run. A page is stored (its posts marked collected, its
        cursor kept) once every image of it and of the pages before it is imported."""
        files: queue.Queue[Path | None] = queue.Queue(maxsize=BATCH_IMAGES)
        failure: list[BaseException] = []
        producer = threading.Thread(
            target=self._produce, args=(files, failure), name="collect-fetch", daemon=True
        )
        producer.start()
        try:
            first = files.get()
            if first is not None:

                def arriving() -> Iterator[Path]:
                    path: Path | None = first
                    while path is not None:
                        yield path
                        path = files.get()

                imported = import_photos(
                    self.ws,
                    arriving(),
                    streaming=True,
                    workers=self.workers,
                    source=(self.info.kind, self.info.name),
                    origin_of=self._origin_of,
                    on_done=self._done,
                    progress=self._imported,
                )
                self.summary.photos += imported.imported
                self.summary.duplicates += imported.exact_duplicates + imported.near_copies
                self.summary.faces += imported.faces
                self.summary.failed += imported.failed
                if imported.report:
                    self.summary.problems.append(f"import report: {imported.report}")
        finally:
            self.stopping.set()
            while producer.is_alive():
                with suppress(queue.Empty):
                    files.get(timeout=0.1)
            producer.join()
        self._commit_ready()
        if failure:
            raise failure[0]

    def _produce(self, files: queue.Queue[Path | None], failure: list[BaseException]) -> None:
        try:
            with self.ws.reader() as session:
                cursor = session.scalar(select(Source.cursor).where(Source.id == self.source_id))
            secrets = secrets_for(self.ws.root, self.kind.secrets_needed(self.info.settings))
            context = SourceContext(self.fetcher, secrets)
            for page in self.kind.pages(self.info.settings, cursor, context):
                if self.stopping.is_set():
                    return
                self._count_reads(page.reads)
                self._take(page, files)
                if self._over_budget():
                    raise SourceError(
                        f"this month's read budget ({int(self.monthly):,} reads) is used; "
                        "collection goes on next month, or raise monthly_reads"
                    )
        except BaseException as exc:
            failure.append(exc)
        finally:
            self._put(files, None)

    def _put(self, files: queue.Queue[Path | None], item: Path | None) -> None:
        while not self.stopping.is_set():
            with suppress(queue.Full):
                files.put(item, timeout=0.1)
                return

    # -- reads budget (X bills each post read)

    def _count_reads(self, reads: int) -> None:
        if not reads:
            return
        month = _month()
        with self.ws.transaction() as session:
            source = session.get(Source, self.source_id)
            if source.reads_month != month:
                source.reads_month, source.reads_used = month, 0
            source.reads_used += reads

    def _over_budget(self) -> bool:
        if not self.monthly:
            return False
        return source_info(self.ws, self.source_id).reads_used >= int(self.monthly)

    # -- one page: posts recorded, images fetched and handed to the import

    def _take(self, page: Page, files: queue.Queue[Path | None]) -> None:
        new: list[tuple[int, FetchedPost, str]] = []
        with self.ws.transaction() as session:
            for post in page.posts:
                account_id, allowed = self._account(session, post)
                if not allowed:
                    self.summary.skipped += 1
                    continue
                post_id = insert_new(
                    session,
                    Post,
                    ["source_id", "external_id"],
                    source_id=self.source_id,
                    account_id=account_id,
                    external_id=post.external_id,
                    url=post.url,
                    posted_at=post.posted_at,
                    text=post.text,
                    created_at=utcnow(),
                )
                if post_id is None:
                    row = session.execute(
                        select(Post.id, Post.collected_at).where(
                            Post.source_id == self.source_id,
                            Post.external_id == post.external_id,
                        )
                    ).one()
                    if row.collected_at is not None:
                        continue
                    post_id = row.id
                new.append((post_id, post, post.author or ""))
        batch = _Batch(page, [post_id for post_id, _, _ in new])
        with self.lock:
            self.batches.append(batch)
        wanted = [
            (post_id, n, link.url, handle)
            for post_id, post, handle in new
            for n, link in enumerate(post.images)
        ]
        self.summary.posts += len(new)
        self.progress.posts += len(new)
        # a few images at once: a real server is far away, and its answers come slowly
        for path in self.downloads.map(lambda job: self._fetch_image(*job), wanted):
            if path is not None:
                with self.lock:
                    batch.waiting.add(path.name)
                self._put(files, path)
        self._tell()
        with self.lock:
            batch.fetched = True

    def _account(self, session: Session, post: FetchedPost) -> tuple[int | None, bool]:
        """The post's account (recorded on first sight) and whether it may be collected."""
        if not post.author:
            return None, True
        if post.author not in self.accounts:
            self.accounts[post.author] = self._record_account(session, post)
        return self.accounts[post.author]

    def _record_account(self, session: Session, post: FetchedPost) -> tuple[int, bool]:
        insert_new(
            session,
            Account,
            ["source_id", "handle"],
            source_id=self.source_id,
            handle=post.author,
            display_name=post.author_name,
            created_at=utcnow(),
        )
        account = session.execute(
            select(Account).where(
                Account.source_id == self.source_id, Account.handle == post.author
            )
        ).scalar_one()
        if post.author_name and account.display_name != post.author_name:
            account.display_name = post.author_name
        names = (post.author, post.author.lstrip("@").split("@")[0], post.author_name or "")
        if any(search_key(n) in self.forgotten for n in names if n):
            account.do_not_collect = True
        return account.id, not account.do_not_collect

    def _fetch_image(self, post_id: int, n: int, url: str, handle: str) -> Path | None:
        try:
            data = _local_image(url) if url.startswith("file://") else self.fetcher.image(url)
        except (FetchError, OSError) as exc:
            self._problem(f"{url}: {exc}")
            return None
        self.staging.mkdir(parents=True, exist_ok=True)
        path = self.staging / f"{post_id}-{n}.img"
        path.write_bytes(data)
        with self.lock:
            self.origins[path.name] = PhotoOrigin(url, handle, post_id)
        return path

    def _problem(self, text: str) -> None:
        with self.lock:
            self.summary.failed += 1
            self.progress.failed += 1
            self.summary.problems.append(text)

    # -- what the import tells: a file done; the pages all done are stored

    def _origin_of(self, file: PhotoFile) -> PhotoOrigin:
        with self.lock:
            return self.origins[file.path.name]

    def _done(self, file: PhotoFile) -> None:
        with self.lock:
            for batch in self.batches:
                batch.waiting.discard(file.path.name)
        file.path.unlink(missing_ok=True)
        self._commit_ready()

    def _commit_ready(self) -> None:
        """Store the pages, oldest first, whose images are all done: their posts are marked
        collected and the newest cursor among them is kept, in one transaction."""
        with self.lock:
            ready = []
            while self.batches and self.batches[0].fetched and not self.batches[0].waiting:
                ready.append(self.batches.pop(0))
        if not ready:
            return
        post_ids = {i for batch in ready for i in batch.post_ids}
        cursor = next((b.page.cursor for b in reversed(ready) if b.page.cursor is not None), None)
        with self.ws.transaction(serialized=True) as session:
            self.summary.labelled += self._hints(session, post_ids)
            if post_ids:
                session.execute(
                    update(Post).where(Post.id.in_(post_ids)).values(collected_at=utcnow())
                )
            if cursor is not None:
                session.execute(
                    update(Source).where(Source.id == self.source_id).values(cursor=cursor)
                )

    def _imported(self, progress: ImportProgress) -> None:
        self.progress.faces = self.summary.faces + progress.faces
        self.progress.photos = self.summary.photos + progress.imported
        self._tell()

    def _hints(self, session: Session, post_ids: set[int]) -> int:
        """The linked account's person on the photos of its posts: a hint on each, and (when
        the setting says so) the label of a single face. Returns the faces labelled."""
        if not post_ids:
            return 0
        rows = session.execute(
            select(ImageOrigin.image_id, Account.person_id)
            .join(Post, Post.id == ImageOrigin.post_id)
            .join(Account, Account.id == Post.account_id)
            .where(ImageOrigin.post_id.in_(post_ids), Account.person_id.is_not(None))
        ).all()
        labelled = 0
        label = self.ws.settings.collect.label_own_selfies
        for image_id, person_id in rows:
            image = session.get(Image, image_id)
            if image.hint_person_id is None:
                image.hint_person_id = person_id
            faces = session.scalars(select(Face.id).where(Face.image_id == image_id)).all()
            if not label or len(faces) != 1:
                continue
            if session.scalar(select(func.count(Decision.id)).where(Decision.face_id == faces[0])):
                continue
            decide(
                session,
                faces[0],
                PERSON,
                person_id=person_id,
                origin="account",
                user_id=self.ws.owner_id(),
                detail={"from": "account", "source": self.info.name},
            )
            labelled += 1
        return labelled

    def _finish(self) -> None:
        every = self.info.every_minutes
        delay = every * (1 + random.uniform(0, self.ws.settings.collect.jitter))
        with self.ws.transaction() as session:
            session.execute(
                update(Source)
                .where(Source.id == self.source_id)
                .values(
                    last_run_at=utcnow(),
                    last_error=self.summary.error,
                    next_run_at=utcnow() + timedelta(minutes=delay),
                )
            )

    def _tell(self) -> None:
        if self.progress_callback:
            self.progress_callback(self.progress)


def _local_image(url: str) -> bytes:
    path = Path(url.removeprefix("file://"))
    data = path.read_bytes()
    if not looks_like_image(data):
        raise OSError(f"not an image: {path.name}")
    return data
