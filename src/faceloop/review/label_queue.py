"""The label queue: which unlabelled face to ask about next, and what to suggest for it.

Order, as in the original workflow: faces in photos with exactly one face first (a selfie's
face is almost surely the poster's), random within that, by a key fixed per face so that a page
prefetching several faces ahead and the server agree. A face this user skipped goes to the back,
behind every face never skipped, oldest skip first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceloop.db.models import Account, Image, ImageOrigin, Post, Prediction
from faceloop.db.queries import label_page_images
from faceloop.jsontypes import row_of
from faceloop.learn.calibration import Calibration
from faceloop.readmodel import snapshot
from faceloop.readmodel.state import CODE_VERDICTS, UNLABELLED, Snapshot
from faceloop.review.likelihood import distance_calibration, is_confident, model_calibration
from faceloop.workspace import Workspace

MAX_SUGGESTIONS = 9
MAX_BATCH = 50


@dataclass(frozen=True)
class QueueFilter:
    """Narrows the queue to photos from one folder (and its subfolders), one account, or
    first seen (or posted) between two dates, inclusive."""

    folder: str | None = None
    account: str | None = None
    since: date | None = None
    until: date | None = None

    @property
    def empty(self) -> bool:
        return not (self.folder or self.account or self.since or self.until)


@dataclass(frozen=True)
class Suggestion:
    person_id: int
    name: str
    #: "hint" (the photo's folder named them), "model" (a trained model) or "similar"
    reason: str
    distance: float | None = None
    score: float | None = None
    #: the person is already labelled on another face of this photo
    in_photo: bool = False
    #: the estimated chance that this is the person (`review/likelihood.py`): None when
    #: nothing measures it (a folder hint, a model stored without a calibration)
    probability: float | None = None
    #: sure enough for Enter on an empty name field to take it (`likelihood.CONFIDENT`)
    confident: bool = False


@dataclass(frozen=True)
class PhotoFace:
    face_id: int
    box: tuple[int, int, int, int]
    verdict: str | None
    person_id: int | None
    name: str | None


@dataclass(frozen=True)
class QueueItem:
    face_id: int
    image_id: int
    box: tuple[int, int, int, int]
    width: int
    height: int
    folder: str
    skipped: bool
    #: the face's current label: None while it is in the queue
    verdict: str | None = None
    person_id: int | None = None
    name: str | None = None
    others: list[PhotoFace] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    #: unlabelled faces that match the filter, this page's included
    remaining: int


Counted = row_of(tuple[str, int], "[name, faces]", "string", "integer")


@dataclass(frozen=True)
class FilterOptions:
    folders: list[Counted]
    accounts: list[Counted]


def next_faces(
    ws: Workspace,
    user_id: int | None,
    filters: QueueFilter | None = None,
    limit: int = 5,
    exclude: Iterable[int] = (),
) -> QueuePage:
    """The next `limit` faces to label, leaving out `exclude` (faces the page already holds
    or has just answered, whose decisions may still be on their way)."""
    filters = filters or QueueFilter()
    limit = max(1, min(limit, MAX_BATCH))
    state = snapshot(ws)
    with ws.reader() as session:
        open_mask = state.verdict == UNLABELLED
        if not filters.empty:
            open_mask &= _filter_mask(state, session, filters)
        remaining = int(np.count_nonzero(open_mask))
        skipped = state.skips.get(user_id or 0, {})
        leave_out = set(exclude)
        chosen: list[tuple[int, bool]] = []
        candidates = state.order[open_mask[state.order]]
        for pos in candidates[: limit + len(leave_out) + len(skipped)]:
            face_id = int(state.face_ids[pos])
            if face_id not in leave_out and face_id not in skipped:
                chosen.append((int(pos), False))
                if len(chosen) == limit:
                    break
        if len(chosen) < limit and skipped:
            for face_id, _ in sorted(skipped.items(), key=lambda kv: kv[1]):
                pos = state.position(face_id)
                if pos is not None and open_mask[pos] and face_id not in leave_out:
                    chosen.append((pos, True))
                    if len(chosen) == limit:
                        break
        items = _items(state, session, chosen)
    return QueuePage(items, remaining)


def queue_item(ws: Workspace, face_id: int, user_id: int | None = None) -> QueueItem:
    """One face as the label page shows it, whatever its label (for undo and direct links)."""
    state = snapshot(ws)
    with ws.reader() as session:
        pos = state.position(face_id)
        if pos is None:
            raise LookupError(f"no face {face_id}")
        skipped = face_id in state.skips.get(user_id or 0, {})
        return _items(state, session, [(pos, skipped)])[0]


def filter_options(ws: Workspace, limit: int = 500) -> FilterOptions:
    with ws.reader() as session:
        folders = session.execute(
            select(ImageOrigin.folder, func.count(func.distinct(ImageOrigin.image_id)))
            .where(ImageOrigin.folder != "")
            .group_by(ImageOrigin.folder)
            .order_by(ImageOrigin.folder)
            .limit(limit)
        ).all()
        accounts = session.execute(
            select(Account.handle, func.count(func.distinct(ImageOrigin.image_id)))
            .join(Post, Post.account_id == Account.id)
            .join(ImageOrigin, ImageOrigin.post_id == Post.id)
            .group_by(Account.handle)
            .order_by(Account.handle)
            .limit(limit)
        ).all()
    return FilterOptions([tuple(r) for r in folders], [tuple(r) for r in accounts])


def _filter_mask(state: Snapshot, session: Session, filters: QueueFilter) -> np.ndarray:
    """Which faces pass the filter; computed in SQL once per filter and face count."""
    key = ("filter", filters)
    cached = state.cache.get(key)
    if cached is not None and cached[0] == state.face_mark:
        return cached[1]
    query = (
        select(ImageOrigin.image_id)
        .join(Image, Image.id == ImageOrigin.image_id)
        .outerjoin(Post, Post.id == ImageOrigin.post_id)
        .distinct()
    )
    if filters.folder:
        folder = filters.folder.rstrip("/")
        query = query.where(
            (ImageOrigin.folder == folder)
            | (func.substr(ImageOrigin.folder, 1, len(folder) + 1) == folder + "/")
        )
    if filters.account:
        query = query.join(Account, Account.id == Post.account_id).where(
            Account.handle == filters.account
        )
    when = func.coalesce(Post.posted_at, Image.first_seen)
    if filters.since:
        query = query.where(when >= datetime.combine(filters.since, datetime.min.time()))
    if filters.until:
        end = datetime.combine(filters.until + timedelta(days=1), datetime.min.time())
        query = query.where(when < end)
    image_ids = np.fromiter(session.scalars(query), dtype=np.int64)
    mask = np.isin(state.image_ids, image_ids)
    filters_kept = [k for k in list(state.cache) if isinstance(k, tuple) and k[0] == "filter"]
    if len(filters_kept) > 32:
        for old in filters_kept:
            state.cache.pop(old, None)
    state.cache[key] = (state.face_mark, mask)
    return mask


def _items(state: Snapshot, session: Session, chosen: list[tuple[int, bool]]) -> list[QueueItem]:
    """Everything the label page shows for each face, from the in-memory view but for the
    photos' sizes, hints and folders (one query)."""
    if not chosen:
        return []
    image_ids = sorted({int(state.image_ids[pos]) for pos, _ in chosen})
    images = label_page_images(session, image_ids)
    face_ids = [int(state.face_ids[pos]) for pos, _ in chosen]
    predictions = _predictions(session, face_ids) if state.prediction_mark is not None else {}
    calibrations = {
        model_id: model_calibration(state, session, model_id)
        for model_id in {model_id for model_id, _ in predictions.values()}
    }
    look_alikes = distance_calibration(state)
    items = []
    for (pos, skipped), face_id in zip(chosen, face_ids, strict=True):
        image_id = int(state.image_ids[pos])
        _, width, height, hint, folder = images[image_id]
        others = [
            photo_face_at(state, int(other))
            for other in sorted(state.siblings(image_id), key=lambda p: state.boxes[p][0])
            if int(other) != pos
        ]
        itself = photo_face_at(state, pos)
        in_photo = {f.person_id for f in others if f.person_id is not None}
        model_id, guesses = predictions.get(face_id, (None, []))
        items.append(
            QueueItem(
                face_id=face_id,
                image_id=image_id,
                box=itself.box,
                width=width,
                height=height,
                folder=folder or "",
                skipped=skipped,
                verdict=itself.verdict,
                person_id=itself.person_id,
                name=itself.name,
                others=others,
                suggestions=suggest(
                    state,
                    pos,
                    hint=hint,
                    predicted=guesses,
                    rejected=state.rejects.get(face_id, set()),
                    in_photo=in_photo,
                    model_calibration=calibrations.get(model_id),
                    distance_calibration=look_alikes,
                ),
            )
        )
    return items


def photo_face_at(state: Snapshot, pos: int) -> PhotoFace:
    verdict = CODE_VERDICTS.get(int(state.verdict[pos]))
    person_id = None
    name = None
    if state.person[pos]:
        person_id = state.root(int(state.person[pos]))
        record = state.people.get(person_id)
        name = record.name if record else None
    left, top, right, bottom = (int(v) for v in state.boxes[pos])
    return PhotoFace(int(state.face_ids[pos]), (left, top, right, bottom), verdict, person_id, name)


def suggest(
    state: Snapshot,
    pos: int,
    *,
    hint: int | None = None,
    predicted: list[tuple[int, float]] = (),
    rejected: set[int] = frozenset(),
    in_photo: set[int] = frozenset(),
    model_calibration: Calibration | None = None,
    distance_calibration: Calibration | None = None,
) -> list[Suggestion]:
    """Up to nine people for the digit keys: the photo's hint first, then a trained model's
    guesses and the people whose mean face is nearest, the likeliest first. People this face
    was said not to be are left out; people already on another face of the photo go last (one
    person, one face a photo) and are never confident.

    A model's score and a distance become one probability through their calibrations. The
    distance calibration is of the nearest person; the ones after it share what the nearest
    leaves (1 - its probability), so two look-alikes never both read as likely. A folder hint
    is confident only when the photo has one face: with several, which face is the person is a
    guess."""
    rejected_roots = {state.root(p) for p in rejected}
    found: dict[int, Suggestion] = {}
    order: list[int] = []

    def add(person_id: int, reason: str, probability: float | None, distance=None, score=None):
        root = state.root(person_id)
        record = state.people.get(root)
        if root in rejected_roots or record is None:
            return
        known = found.get(root)
        if known is not None:
            if _rank(probability) <= _rank(known.probability):
                return
            if known.reason == "hint":
                # the hint keeps its place; what else is known of the person says how likely
                found[root] = replace(known, probability=probability)
                return
        else:
            order.append(root)
        found[root] = Suggestion(
            root,
            record.name,
            reason,
            distance,
            score,
            in_photo=root in in_photo,
            probability=None if probability is None else round(float(probability), 4),
        )

    if hint is not None:
        add(hint, "hint", None)
    for person_id, score in predicted:
        probability = model_calibration.one(score) if model_calibration else None
        add(person_id, "model", probability, score=round(score, 3))
    centroids = state.centroids()
    if len(centroids.person_ids):
        distances = np.linalg.norm(centroids.means - state.embeddings[pos], axis=1)
        nearest = np.argsort(distances)[: MAX_SUGGESTIONS + len(rejected_roots) + len(order) + 8]
        leaves = None
        for index in nearest:
            person_id = int(centroids.person_ids[index])
            record = state.people.get(person_id)
            if (
                record is not None
                and not record.hidden
                and state.root(person_id) not in rejected_roots
            ):
                distance = float(distances[index])
                probability = distance_calibration.one(distance) if distance_calibration else None
                if probability is not None:
                    if leaves is None:
                        leaves = 1.0 - probability
                    else:
                        probability = min(probability, leaves)
                add(person_id, "similar", probability, distance=round(distance, 3))
            if len(order) >= MAX_SUGGESTIONS + len(in_photo):
                break
    single = bool(state.single[pos]) if pos < len(state.single) else False
    ranked = sorted(
        (found[root] for root in order),
        key=lambda s: (s.in_photo, s.reason != "hint", -_rank(s.probability)),
    )
    return [
        replace(
            s,
            confident=not s.in_photo
            and ((s.reason == "hint" and single) or is_confident(s.probability)),
        )
        for s in ranked[:MAX_SUGGESTIONS]
    ]


def _rank(probability: float | None) -> float:
    """Unmeasured suggestions after every measured one."""
    return -1.0 if probability is None else probability


def _predictions(
    session: Session, face_ids: list[int]
) -> dict[int, tuple[int, list[tuple[int, float]]]]:
    """The newest model's guesses for each face, best first, with that model's id; "other"
    (no person) left out."""
    rows = session.execute(
        select(Prediction.face_id, Prediction.model_id, Prediction.person_id, Prediction.score)
        .where(Prediction.face_id.in_(face_ids))
        .order_by(Prediction.face_id, Prediction.model_id.desc(), Prediction.rank)
    ).all()
    newest: dict[int, int] = {}
    result: dict[int, tuple[int, list[tuple[int, float]]]] = {}
    for face_id, model_id, person_id, score in rows:
        newest.setdefault(face_id, model_id)
        if model_id == newest[face_id] and person_id is not None:
            result.setdefault(face_id, (model_id, []))[1].append((person_id, float(score)))
    return result
