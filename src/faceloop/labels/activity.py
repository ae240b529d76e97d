"""Everything people did, newest first: decisions about faces and changes to people, with who,
when, what and how (typed, a suggestion, bulk, imported), each undoable.

The two kinds live in two append-only tables; a page takes the newest of each before a moment
and merges them, so paging through a hundred thousand decisions stays one indexed read a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceloop.db.models import Decision, Face, Person, PersonEvent, User, undone_ids
from faceloop.jsontypes import UtcTime
from faceloop.labels.decisions import (
    NOT_FACE,
    PERSON,
    REJECT,
    SKIP,
    UNKNOWN,
)
from faceloop.labels.people import merged_person_ids
from faceloop.labels.person_ops import CREATE
from faceloop.options import UNDO, ActivityKind, choose
from faceloop.workspace import Workspace

DECISION = "decision"
PERSON_EVENT = "person"
KINDS = tuple(ActivityKind)
MAX_LIMIT = 200


@dataclass(frozen=True)
class ActivityEntry:
    kind: str
    id: int
    at: UtcTime
    user: str | None
    action: str
    summary: str
    origin: str | None = None
    face_id: int | None = None
    image_id: int | None = None
    person_id: int | None = None
    person_name: str | None = None
    batch: str | None = None
    undoes_id: int | None = None
    undone: bool = False
    undoable: bool = True
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ActivityPage:
    entries: list[ActivityEntry]
    #: pass as `before` for the next (older) page; None when there is none
    next_before: UtcTime | None


def activity(
    ws: Workspace,
    *,
    kind: str | None = None,
    action: str | None = None,
    origin: str | None = None,
    user_id: int | None = None,
    person_id: int | None = None,
    face_id: int | None = None,
    before: datetime | None = None,
    limit: int = 50,
) -> ActivityPage:
    if kind is not None:
        kind = choose(ActivityKind, kind, "kind")
    limit = max(1, min(limit, MAX_LIMIT))
    with ws.reader() as session:
        members = merged_person_ids(session, person_id) if person_id is not None else None
        entries: list[ActivityEntry] = []
        if kind in (None, DECISION):
            entries += _decisions(session, action, origin, user_id, members, face_id, before, limit)
        if kind in (None, PERSON_EVENT) and origin in (None, "manual") and face_id is None:
            entries += _person_events(session, action, user_id, members, before, limit)
    entries.sort(key=lambda e: (e.at, e.kind == DECISION, e.id), reverse=True)
    page = entries[:limit]
    return ActivityPage(page, page[-1].at if len(entries) > limit else None)


def _decisions(
    session: Session,
    action: str | None,
    origin: str | None,
    user_id: int | None,
    members: list[int] | None,
    face_id: int | None,
    before: datetime | None,
    limit: int,
) -> list[ActivityEntry]:
    query = (
        select(Decision, Face.image_id, User.name, Person.name)
        .join(Face, Face.id == Decision.face_id)
        .outerjoin(User, User.id == Decision.user_id)
        .outerjoin(Person, Person.id == Decision.person_id)
        .order_by(Decision.created_at.desc(), Decision.id.desc())
        .limit(limit + 1)
    )
    if action:
        query = query.where(Decision.verdict == action)
    if origin:
        query = query.where(Decision.origin == origin)
    if user_id is not None:
        query = query.where(Decision.user_id == user_id)
    if members is not None:
        query = query.where(Decision.person_id.in_(members))
    if face_id is not None:
        query = query.where(Decision.face_id == face_id)
    if before is not None:
        query = query.where(Decision.created_at < before)
    rows = session.execute(query).all()
    undone = _undone_decisions(session, {d.face_id for d, *_ in rows})
    targets = _undo_targets(session, [d.undoes_id for d, *_ in rows if d.undoes_id])
    return [
        ActivityEntry(
            kind=DECISION,
            id=d.id,
            at=d.created_at,
            user=user,
            action=d.verdict,
            summary=_decision_summary(d, person_name, targets.get(d.undoes_id)),
            origin=d.origin,
            face_id=d.face_id,
            image_id=image_id,
            person_id=d.person_id,
            person_name=person_name,
            batch=d.batch,
            undoes_id=d.undoes_id,
            undone=d.id in undone,
            undoable=d.id not in undone,
            detail=d.detail or {},
        )
        for d, image_id, user, person_name in rows
    ]


def _undone_decisions(session: Session, face_ids: set[int]) -> set[int]:
    if not face_ids:
        return set()
    rows = session.scalars(
        select(Decision).where(Decision.face_id.in_(face_ids)).order_by(Decision.id)
    ).all()
    by_face: dict[int, list[Decision]] = {}
    for row in rows:
        by_face.setdefault(row.face_id, []).append(row)
    undone: set[int] = set()
    for decisions in by_face.values():
        undone |= undone_ids(decisions)
    return undone


def _undo_targets(session: Session, ids: list[int]) -> dict[int, str]:
    """What each undone decision's undo amounts to: "undid: <the first decision>" or, when the
    decision undone was itself an undo, "redid: <the first decision>" (an undo of a redo undoes
    it again). Chains are followed down to the decision that was no undo."""
    found: dict[int, tuple[Decision, str | None]] = {}
    wanted = set(ids)
    while wanted:
        rows = session.execute(
            select(Decision, Person.name)
            .outerjoin(Person, Person.id == Decision.person_id)
            .where(Decision.id.in_(wanted))
        ).all()
        found.update({d.id: (d, name) for d, name in rows})
        wanted = {
            d.undoes_id for d, _ in rows if d.verdict == UNDO and d.undoes_id not in found
        } - {None}
    targets = {}
    for target_id in ids:
        undos = 1
        current = found.get(target_id)
        while current is not None and current[0].verdict == UNDO:
            undos += 1
            current = found.get(current[0].undoes_id)
        if current is not None:
            verb = "undid" if undos % 2 else "redid"
            targets[target_id] = f"{verb}: {_decision_summary(current[0], current[1], None)}"
    return targets


def _decision_summary(decision: Decision, person_name: str | None, target: str | None) -> str:
    face = f"face {decision.face_id}"
    verdict = decision.verdict
    if verdict == PERSON:
        return f"named {face} {person_name}"
    if verdict == REJECT:
        return f"said {face} is not {person_name}"
    if verdict == NOT_FACE:
        return f"marked {face} as not a face"
    if verdict == UNKNOWN:
        return f"marked {face} as an unknown person"
    if verdict == SKIP:
        return f"skipped {face}"
    if verdict == UNDO:
        return target or f"undid decision {decision.undoes_id}"
    return f"{verdict} on {face}"


def _person_events(
    session: Session,
    action: str | None,
    user_id: int | None,
    members: list[int] | None,
    before: datetime | None,
    limit: int,
) -> list[ActivityEntry]:
    query = (
        select(PersonEvent, User.name, Person.name)
        .join(Person, Person.id == PersonEvent.person_id)
        .outerjoin(User, User.id == PersonEvent.user_id)
        .order_by(PersonEvent.created_at.desc(), PersonEvent.id.desc())
        .limit(limit + 1)
    )
    if action:
        query = query.where(PersonEvent.kind == action)
    if user_id is not None:
        query = query.where(PersonEvent.user_id == user_id)
    if members is not None:
        query = query.where(PersonEvent.person_id.in_(members))
    if before is not None:
        query = query.where(PersonEvent.created_at < before)
    rows = session.execute(query).all()
    ids = [e.id for e, *_ in rows]
    undone = set(
        session.scalars(select(PersonEvent.undoes_id).where(PersonEvent.undoes_id.in_(ids)))
    )
    return [
        ActivityEntry(
            kind=PERSON_EVENT,
            id=e.id,
            at=e.created_at,
            user=user,
            action=e.kind,
            summary=event_summary(e.kind, e.detail or {}, name),
            origin="manual",
            person_id=e.person_id,
            person_name=name,
            undoes_id=e.undoes_id,
            undone=e.id in undone,
            undoable=e.id not in undone and e.kind != CREATE,
            detail=e.detail or {},
        )
        for e, user, name in rows
    ]


def event_summary(kind: str, detail: dict, name: str) -> str:
    texts = {
        "create": f"created {detail.get('name', name)}",
        "rename": f"renamed {detail.get('from')} to {detail.get('to')}",
        "alias_add": f"added the alias {detail.get('alias')} to {name}",
        "alias_remove": f"removed the alias {detail.get('alias')} from {name}",
        "tag_add": f"put {name} in the group {detail.get('tag')}",
        "tag_remove": f"took {name} out of the group {detail.get('tag')}",
        "hide": f"hid {name}",
        "unhide": f"showed {name} again",
        "merge": f"merged {detail.get('name', name)} into {detail.get('into_name')}",
        "unmerge": f"un-merged {detail.get('name', name)} from {detail.get('from_name')}",
        "cover": f"chose a cover face for {name}",
        "account_link": f"linked the account {detail.get('handle')} to {name}",
        "account_unlink": f"unlinked the account {detail.get('handle')} from {name}",
    }
    return texts.get(kind, f"{kind} on {name}")
