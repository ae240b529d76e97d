"""Decisions are append-only events; a face's label is derived from them.

The current label is the latest decision that sets one (a person, "not a face" or "unknown
person") and has not been undone. Undo is itself a decision, so undoing an undo redoes.
`face_label` caches the result for fast queues and is recomputed here, nowhere else.

A "reject" says "this face is not person P". It sets no label, but it is remembered (the
learning loop learns from it and suggestions leave P out), and it withdraws a current label of
P: the face goes back to the queue rather than falling back to an older, overruled label.

A transaction that records human decisions is noted as a `HUMAN_DECISIONS` change, so whatever
follows enough of them (re-grouping, retraining) starts once it commits, from any caller.

Order is the order of the ids, never of the clock: a clock set back (by hand, by NTP after a
drift, a laptop's battery) must not make an older decision win or an undo take back the wrong
one. The activity list is paged by time, though, and merges decisions with changes to people,
so each action's stamp is made later than every event stored before it (`keep_in_order`): the
stamps then follow the ids even while the clock runs backwards, and only say "no earlier than"
until it catches up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from faceloop.db.models import Decision, FaceLabel, PersonEvent, undone_ids, utcnow
from faceloop.options import UNDO, FaceVerdict
from faceloop.workspace import note_change

PERSON = FaceVerdict.PERSON
NOT_FACE = FaceVerdict.NOT_FACE
UNKNOWN = FaceVerdict.UNKNOWN
SKIP = FaceVerdict.SKIP
REJECT = FaceVerdict.REJECT
LABELLING = (PERSON, NOT_FACE, UNKNOWN)
NAMES_PERSON = (PERSON, REJECT)
VERDICTS = (*LABELLING, SKIP, REJECT)
ORIGINS = ("manual", "suggestion", "bulk", "group", "import")
#: the change a transaction makes when people said something new about a face: neither a skip
#: nor a label brought in by an import counts
HUMAN_DECISIONS = "human decisions"
NOT_COUNTED_VERDICTS = (SKIP,)
NOT_COUNTED_ORIGINS = ("import",)
#: faces per IN (...) list in one statement
CHUNK = 500
#: how much later than the latest event an action is stamped when the clock says earlier
TICK = timedelta(microseconds=1)
#: the tables of events that the activity list merges by time
EVENT_TABLES = (Decision, PersonEvent)


def new_batch() -> str:
    """One id for every decision made by a single action, so the action undoes as a whole."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Verdict:
    """One face's part of an action, before it is recorded."""

    face_id: int
    verdict: str
    person_id: int | None = None
    detail: dict | None = None
    #: how it was made, when not as the rest of its action
    origin: str | None = None


@dataclass(frozen=True)
class Recorded:
    """A decision as stored."""

    id: int
    face_id: int
    batch: str | None
    #: for an undo, the decision it withdraws
    undoes_id: int | None = None


def decide(
    session: Session,
    face_id: int,
    verdict: str,
    *,
    person_id: int | None = None,
    origin: str = "manual",
    user_id: int | None = None,
    batch: str | None = None,
    detail: dict | None = None,
) -> Recorded:
    return decide_all(
        session,
        [Verdict(face_id, verdict, person_id, detail)],
        origin=origin,
        user_id=user_id,
        batch=batch,
    )[0]


def decide_all(
    session: Session,
    verdicts: Sequence[Verdict],
    *,
    origin: str = "manual",
    user_id: int | None = None,
    batch: str | None = None,
) -> list[Recorded]:
    """Record the decisions of one action with one insert and set the labels they change in
    one pass: naming a group of sixty faces one decision at a time took a quarter of a second
    at a hundred thousand faces, while the labeller waited."""
    for v in verdicts:
        if (v.origin or origin) not in ORIGINS:
            raise ValueError(f"unknown origin {v.origin or origin!r}")
        if v.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {v.verdict!r}")
        if (v.verdict in NAMES_PERSON) != (v.person_id is not None):
            raise ValueError("a person is named exactly when the verdict is 'person' or 'reject'")
    if not verdicts:
        return []
    now = utcnow()
    ids = _insert(
        session,
        [
            {
                "face_id": v.face_id,
                "verdict": v.verdict,
                "person_id": v.person_id,
                "undoes_id": None,
                "origin": v.origin or origin,
                "user_id": user_id,
                "batch": batch,
                "detail": v.detail,
                "created_at": now,
            }
            for v in verdicts
        ],
    )
    keep_in_order(session, Decision, ids[0], now)
    newest: dict[int, tuple[int, Verdict]] = {}
    rejected: set[int] = set()
    for decision_id, v in zip(ids, verdicts, strict=True):
        if v.verdict in LABELLING:
            newest[v.face_id] = (decision_id, v)
        elif v.verdict == REJECT:
            rejected.add(v.face_id)
    # a label decided last is the face's label; a reject may withdraw one, so those faces are
    # worked out from their whole history
    _write_labels(
        session,
        {
            face: _Label(decision_id, v.verdict, v.person_id)
            for face, (decision_id, v) in newest.items()
            if face not in rejected
        },
    )
    recompute_labels(session, rejected)
    if any(
        v.verdict not in NOT_COUNTED_VERDICTS and (v.origin or origin) not in NOT_COUNTED_ORIGINS
        for v in verdicts
    ):
        note_change(session, HUMAN_DECISIONS)
    return [Recorded(i, v.face_id, batch) for i, v in zip(ids, verdicts, strict=True)]


def undo(
    session: Session, decision_id: int, user_id: int | None = None, batch: str | None = None
) -> Recorded:
    """Record that a decision is withdrawn and recompute the label it affected.

    Withdrawing a decision that is already withdrawn is refused, so a double click cannot
    stack two undos (which would take two redos to reverse).
    """
    target = session.get(Decision, decision_id)
    if target is None:
        raise LookupError(f"no decision {decision_id}")
    if is_undone(session, target):
        raise ValueError(f"decision {decision_id} is already undone")
    return _undo_all(session, [(target.id, target.face_id)], user_id, batch or new_batch())[0]


def undo_batch(session: Session, batch: str, user_id: int | None = None) -> list[Recorded]:
    """Withdraw every decision of one action that still stands, as one new action."""
    targets = session.execute(
        select(Decision.id, Decision.face_id)
        .where(Decision.batch == batch)
        .order_by(Decision.id.desc())
    ).all()
    if not targets:
        raise LookupError(f"no decisions in batch {batch}")
    history = _histories(session, {face for _, face in targets})
    undone: set[int] = set()
    for rows in history.values():
        undone |= undone_ids(rows)
    standing = [(i, face) for i, face in targets if i not in undone]
    return _undo_all(session, standing, user_id, new_batch())


def _undo_all(
    session: Session, targets: list[tuple[int, int]], user_id: int | None, batch: str
) -> list[Recorded]:
    """Undo events for these (decision id, face id), with one insert, and the labels again."""
    if not targets:
        return []
    now = utcnow()
    ids = _insert(
        session,
        [
            {
                "face_id": face,
                "verdict": UNDO,
                "person_id": None,
                "undoes_id": target,
                "origin": "manual",
                "user_id": user_id,
                "batch": batch,
                "detail": None,
                "created_at": now,
            }
            for target, face in targets
        ],
    )
    keep_in_order(session, Decision, ids[0], now)
    recompute_labels(session, {face for _, face in targets})
    note_change(session, HUMAN_DECISIONS)
    return [
        Recorded(i, face, batch, target) for i, (target, face) in zip(ids, targets, strict=True)
    ]


def keep_in_order(
    session: Session, table: type[Decision] | type[PersonEvent], first_id: int, stamp: datetime
) -> datetime:
    """Stamp the events just inserted into `table` (ids from `first_id` on, all this
    transaction's, since it holds the write lock) later than every event before them in
    either table, when the clock says otherwise; returns their stamp. Run after the insert,
    not before: only then can no other writer slip an event in between. Two indexed reads."""
    latest = [
        session.scalar(
            select(func.max(t.created_at)).where(t.id < first_id)
            if t is table
            else select(func.max(t.created_at))
        )
        for t in EVENT_TABLES
    ]
    before = max((at for at in latest if at is not None), default=None)
    if before is None or before < stamp:
        return stamp
    stamp = before + TICK
    session.execute(update(table).where(table.id >= first_id).values(created_at=stamp))
    for instance in list(session.identity_map.values()):
        if isinstance(instance, table) and instance.id >= first_id:
            session.expire(instance, ["created_at"])
    return stamp


def decisions_since(session: Session, mark: int) -> int:
    """Human decisions after decision `mark` that say something new about a face: what the
    rules that re-group and retrain count."""
    return session.scalar(
        select(func.count(Decision.id)).where(
            Decision.id > mark,
            Decision.verdict.not_in(NOT_COUNTED_VERDICTS),
            Decision.origin.not_in(NOT_COUNTED_ORIGINS),
        )
    )


def is_undone(session: Session, decision: Decision) -> bool:
    return decision.id in undone_ids(_histories(session, [decision.face_id])[decision.face_id])


def recompute_labels(session: Session, face_ids: Iterable[int]) -> None:
    """Work out the labels of these faces again from all their decisions."""
    faces = set(face_ids)
    if not faces:
        return
    labels: dict[int, _Label | None] = {}
    for face, rows in _histories(session, faces).items():
        current = current_decision(rows)
        labels[face] = (
            None if current is None else _Label(current.id, current.verdict, current.person_id)
        )
    _write_labels(session, labels)


def current_decision(decisions: list[Decision]) -> Decision | None:
    """The decision that sets the label, given all of one face's decisions in order."""
    undone = undone_ids(decisions)
    rejected: set[int] = set()
    for decision in reversed(decisions):
        if decision.id in undone:
            continue
        if decision.verdict == REJECT:
            rejected.add(decision.person_id)
        elif decision.verdict in LABELLING:
            if decision.verdict == PERSON and decision.person_id in rejected:
                return None
            return decision
    return None


@dataclass(frozen=True)
class _Label:
    decision_id: int
    verdict: str
    person_id: int | None


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for at in range(0, len(items), CHUNK):
        yield items[at : at + CHUNK]


def _insert(session: Session, rows: list[dict]) -> list[int]:
    """Insert decisions in one statement; their ids, in the rows' order."""
    return list(
        session.scalars(insert(Decision).returning(Decision.id, sort_by_parameter_order=True), rows)
    )


def _histories(session: Session, face_ids: Iterable[int]) -> dict[int, list]:
    """Every decision of these faces, oldest first, by face: a few indexed reads, not one
    per face."""
    faces = sorted(set(face_ids))
    found: dict[int, list] = {face: [] for face in faces}
    for chunk in _chunks(faces):
        rows = session.execute(
            select(
                Decision.id,
                Decision.face_id,
                Decision.verdict,
                Decision.person_id,
                Decision.undoes_id,
            )
            .where(Decision.face_id.in_(chunk))
            .order_by(Decision.id)
        )
        for row in rows:
            found[row.face_id].append(row)
    return found


def _write_labels(session: Session, labels: dict[int, _Label | None]) -> None:
    """Set `face_label` to these labels (None: no label), a few statements for them all."""
    if not labels:
        return
    session.flush()
    faces = sorted(labels)
    existing: set[int] = set()
    for chunk in _chunks(faces):
        existing.update(
            session.scalars(select(FaceLabel.face_id).where(FaceLabel.face_id.in_(chunk)))
        )
    gone = [face for face in faces if labels[face] is None and face in existing]
    for chunk in _chunks(gone):
        session.execute(delete(FaceLabel).where(FaceLabel.face_id.in_(chunk)))
    rows = [
        {
            "face_id": face,
            "decision_id": label.decision_id,
            "verdict": label.verdict,
            "person_id": label.person_id,
        }
        for face, label in labels.items()
        if label is not None
    ]
    changed = [row for row in rows if row["face_id"] in existing]
    if changed:
        session.execute(update(FaceLabel), changed)
    added = [row for row in rows if row["face_id"] not in existing]
    if added:
        session.execute(insert(FaceLabel), added)
    for instance in list(session.identity_map.values()):
        if isinstance(instance, FaceLabel) and instance.face_id in labels:
            session.expire(instance)
