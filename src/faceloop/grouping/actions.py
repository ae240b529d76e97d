"""What people do to groups: name one, call it unknown, say it is not one person, split, merge,
and take each back.

Naming a group is one batch of decisions (origin "group") that `undo_batch` takes back whole.
Deselected faces are refused for the person named and leave the group. Every write that changes
a group's members also sets the group's `updated_at`: that is how `readmodel/groups.py` knows
which groups to read again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import numpy as np
from sqlalchemy import delete, func, insert, select, update

from faceloop.cluster import (
    split_group,
)
from faceloop.db.models import FaceGroup, FaceGroupMember, GroupCannotLink, GroupMerge, utcnow
from faceloop.grouping.views import confident_people
from faceloop.labels.decisions import PERSON, REJECT, UNKNOWN, Verdict, decide_all
from faceloop.labels.labelling import label_faces
from faceloop.readmodel import snapshot
from faceloop.readmodel.group_space import (
    load_space,
    projected,
)
from faceloop.readmodel.groups import (
    OPEN,
    REJECTED,
    current,
    load_tables,
    open_faces,
)
from faceloop.readmodel.state import UNLABELLED
from faceloop.workspace import Workspace


def _members_now(ws: Workspace, group_id: int) -> tuple[str, list[int]]:
    """(stored status, unlabelled member face ids most central first) of one group."""
    state = snapshot(ws)
    view = current(ws, state)
    i = view.tables.index(group_id)
    faces, _, _ = open_faces(view, i)
    return (REJECTED if view.tables.rejected[i] else OPEN), [int(f) for f in faces]


def _touch(session, group_ids: Iterable[int]) -> None:
    session.execute(
        update(FaceGroup).where(FaceGroup.id.in_(list(group_ids))).values(updated_at=utcnow())
    )


def _chosen(
    ws: Workspace, group_id: int, exclude: Iterable[int], face_ids: Iterable[int] | None
) -> tuple[list[int], list[int]]:
    status, members = _members_now(ws, group_id)
    if status == REJECTED:
        raise ValueError(f"group {group_id} was marked 'not the same person'")
    excluded = set(int(f) for f in exclude)
    wanted = None if face_ids is None else set(int(f) for f in face_ids)
    chosen = [f for f in members if f not in excluded and (wanted is None or f in wanted)]
    left_out = [f for f in members if f in excluded]
    if not chosen:
        raise ValueError(f"no face of group {group_id} is left to label")
    return chosen, left_out


def label_group(
    ws: Workspace,
    group_id: int,
    *,
    person_id: int | None = None,
    name: str | None = None,
    exclude_face_ids: Iterable[int] = (),
    user_id: int | None = None,
    face_ids: Iterable[int] | None = None,
    confirm: bool = False,
    new_person: bool = False,
) -> str:
    """Name the group's unlabelled faces but the excluded ones as one person (by id, or by a
    name: an existing person's, else a new person), as one batch; returns its id. Excluded
    faces are refused for that person in the same batch and leave the group. `face_ids`, when
    given, limits the action to the faces the page showed (a re-run may have added some).
    `confirm` as in `label_faces` (the person already named elsewhere in one of the photos)."""
    chosen, left_out = _chosen(ws, group_id, exclude_face_ids, face_ids)
    user_id = ws.owner_id() if user_id is None else user_id
    result = label_faces(
        ws,
        chosen,
        PERSON,
        user_id=user_id,
        person_id=person_id,
        name=name,
        origin="group",
        confirm=confirm,
        detail={"group": int(group_id)},
        new_person=new_person,
    )
    with ws.transaction() as session:
        refused = [
            Verdict(face_id, REJECT, result.person_id, {"group": int(group_id)})
            for face_id in left_out
        ]
        decide_all(session, refused, origin="group", user_id=user_id, batch=result.batch)
        _leave(session, group_id, left_out)
    return result.batch


def mark_unknown(
    ws: Workspace,
    group_id: int,
    *,
    exclude_face_ids: Iterable[int] = (),
    user_id: int | None = None,
    face_ids: Iterable[int] | None = None,
) -> str:
    """Mark the group's unlabelled faces but the excluded ones "unknown person" (people nobody
    wants named: passers-by, crowds), as one batch; excluded faces leave the group."""
    chosen, left_out = _chosen(ws, group_id, exclude_face_ids, face_ids)
    user_id = ws.owner_id() if user_id is None else user_id
    result = label_faces(
        ws, chosen, UNKNOWN, user_id=user_id, origin="group", detail={"group": int(group_id)}
    )
    with ws.transaction() as session:
        _leave(session, group_id, left_out)
    return result.batch


def _leave(session, group_id: int, face_ids: list[int]) -> None:
    if face_ids:
        session.execute(
            delete(FaceGroupMember).where(
                FaceGroupMember.group_id == group_id, FaceGroupMember.face_id.in_(face_ids)
            )
        )
    _touch(session, [group_id])


def reject_group(ws: Workspace, group_id: int, *, user_id: int | None = None) -> None:
    """ "Not the same person": the group is dissolved and its faces are never grouped with each
    other again (until `undo_reject`); each can still join another group."""
    status, members = _members_now(ws, group_id)
    if status == REJECTED:
        return
    user_id = ws.owner_id() if user_id is None else user_id
    record = uuid.uuid4().hex
    with ws.transaction() as session:
        if members:
            session.execute(
                insert(GroupCannotLink),
                [
                    {
                        "record": record,
                        "kind": "reject",
                        "group_id": group_id,
                        "face_id": face_id,
                        "side": side,
                        "user_id": user_id,
                        "created_at": utcnow(),
                    }
                    for side, face_id in enumerate(members)
                ],
            )
        session.execute(delete(FaceGroupMember).where(FaceGroupMember.group_id == group_id))
        session.execute(
            update(FaceGroup)
            .where(FaceGroup.id == group_id)
            .values(status=REJECTED, size=0, updated_at=utcnow())
        )


def undo_reject(ws: Workspace, group_id: int, *, user_id: int | None = None) -> None:
    """Take back "not the same person": the cannot-links are withdrawn and the faces that are
    still unlabelled and in no other group come back to the group."""
    tables = load_tables(ws)
    i = tables.index(group_id)
    if not tables.rejected[i]:
        raise ValueError(f"group {group_id} was not marked 'not the same person'")
    state = snapshot(ws)
    with ws.transaction() as session:
        faces = list(
            session.scalars(
                select(GroupCannotLink.face_id).where(
                    GroupCannotLink.group_id == group_id,
                    GroupCannotLink.kind == "reject",
                    GroupCannotLink.undone_at.is_(None),
                )
            )
        )
        session.execute(
            update(GroupCannotLink)
            .where(
                GroupCannotLink.group_id == group_id,
                GroupCannotLink.kind == "reject",
                GroupCannotLink.undone_at.is_(None),
            )
            .values(undone_at=utcnow())
        )
        grouped = set(
            session.scalars(
                select(FaceGroupMember.face_id).where(FaceGroupMember.face_id.in_(faces))
            )
        )
        back = [
            f
            for f in faces
            if f not in grouped
            and (p := state.position(f)) is not None
            and state.verdict[p] == UNLABELLED
        ]
        if back:
            session.execute(
                insert(FaceGroupMember), [{"face_id": f, "group_id": group_id} for f in back]
            )
        session.execute(
            update(FaceGroup)
            .where(FaceGroup.id == group_id)
            .values(status=OPEN, size=len(back), updated_at=utcnow())
        )


def split(ws: Workspace, group_id: int, *, user_id: int | None = None) -> list[int]:
    """Split a mixed group into its two most different parts: the larger keeps the id, the
    other gets a new one (a part of one face leaves the groups). Returns the resulting groups'
    ids, the kept one first. The parts are recorded as different people, so the next run does
    not join them again."""
    status, members = _members_now(ws, group_id)
    if status == REJECTED:
        raise ValueError(f"group {group_id} was marked 'not the same person'")
    if len(members) < 2:
        raise ValueError("a group needs two unlabelled faces to be split")
    state = snapshot(ws)
    space = load_space(ws)
    pos = np.array([state.position(f) for f in members], dtype=np.int64)
    x = projected(state, space).vectors[pos]
    pieces = split_group(x, np.arange(len(members)), parts=2)
    suggestions = confident_people(state, space, [pos[p] for p in pieces])
    user_id = ws.owner_id() if user_id is None else user_id
    now = utcnow()
    record = uuid.uuid4().hex
    result = [int(group_id)]
    with ws.transaction() as session:
        next_id = (session.scalar(select(func.max(FaceGroup.id))) or 0) + 1
        session.execute(
            insert(GroupCannotLink),
            [
                {
                    "record": record,
                    "kind": "split",
                    "group_id": group_id,
                    "face_id": members[k],
                    "side": side,
                    "user_id": user_id,
                    "created_at": now,
                }
                for side, piece in enumerate(pieces)
                for k in piece.tolist()
            ],
        )
        session.execute(delete(FaceGroupMember).where(FaceGroupMember.group_id == group_id))
        for n, (piece, (person, distance)) in enumerate(zip(pieces, suggestions, strict=True)):
            if n > 0 and len(piece) < 2:
                continue
            gid = group_id if n == 0 else next_id
            if n == 0:
                session.execute(
                    update(FaceGroup)
                    .where(FaceGroup.id == gid)
                    .values(
                        size=len(piece),
                        suggested_person_id=person,
                        suggested_distance=distance,
                        updated_at=now,
                    )
                )
            else:
                next_id += 1
                session.add(
                    FaceGroup(
                        id=gid,
                        status=OPEN,
                        size=len(piece),
                        suggested_person_id=person,
                        suggested_distance=distance,
                        created_at=now,
                        updated_at=now,
                    )
                )
                session.flush()
                result.append(gid)
            session.execute(
                insert(FaceGroupMember),
                [{"face_id": members[k], "group_id": gid} for k in piece.tolist()],
            )
    return result


def merge(ws: Workspace, group_id: int, other_id: int, *, user_id: int | None = None) -> int:
    """Join two groups that are one person; the one with more unlabelled faces keeps its id
    (ties: `group_id`) and the other is gone. Refused when a photo holds a face of each. The
    faces that moved are recorded, so that `undo_merge` can part them again."""
    if group_id == other_id:
        raise ValueError("a group cannot be merged with itself")
    first_status, first = _members_now(ws, group_id)
    second_status, second = _members_now(ws, other_id)
    if REJECTED in (first_status, second_status):
        raise ValueError("a group marked 'not the same person' cannot be merged")
    state = snapshot(ws)
    space = load_space(ws)
    first_pos = np.array([state.position(f) for f in first], dtype=np.int64)
    second_pos = np.array([state.position(f) for f in second], dtype=np.int64)
    if set(state.image_ids[first_pos].tolist()) & set(state.image_ids[second_pos].tolist()):
        raise ValueError("these groups hold two faces of one photo: they are two people")
    [(person, distance)] = confident_people(state, space, [np.concatenate([first_pos, second_pos])])
    keep, gone = (group_id, other_id) if len(first) >= len(second) else (other_id, group_id)
    moved = second if keep == group_id else first
    user_id = ws.owner_id() if user_id is None else user_id
    now = utcnow()
    record = uuid.uuid4().hex
    with ws.transaction() as session:
        if moved:
            session.execute(
                insert(GroupMerge),
                [
                    {
                        "record": record,
                        "group_id": keep,
                        "other_id": gone,
                        "face_id": face_id,
                        "user_id": user_id,
                        "created_at": now,
                    }
                    for face_id in moved
                ],
            )
        session.execute(
            update(FaceGroupMember).where(FaceGroupMember.group_id == gone).values(group_id=keep)
        )
        session.execute(delete(FaceGroup).where(FaceGroup.id == gone))
        session.execute(
            update(FaceGroup)
            .where(FaceGroup.id == keep)
            .values(
                size=len(first) + len(second),
                suggested_person_id=person,
                suggested_distance=distance,
                updated_at=utcnow(),
            )
        )
    return keep


def undo_split(ws: Workspace, group_id: int) -> list[int]:
    """Take back the last split of a group that still stands: its cannot-links are withdrawn
    and its faces come back to the group from the groups they are in now (those in none, if
    still unlabelled); a part left with no face is gone. Returns the group's id and the ids of
    the parts emptied."""
    load_tables(ws).index(group_id)
    with ws.transaction() as session:
        record = session.scalar(
            select(GroupCannotLink.record)
            .where(
                GroupCannotLink.group_id == group_id,
                GroupCannotLink.kind == "split",
                GroupCannotLink.undone_at.is_(None),
            )
            .order_by(GroupCannotLink.id.desc())
            .limit(1)
        )
        if record is None:
            raise ValueError(f"group {group_id} has no split to undo")
        faces = list(
            session.scalars(select(GroupCannotLink.face_id).where(GroupCannotLink.record == record))
        )
        session.execute(
            update(GroupCannotLink)
            .where(GroupCannotLink.record == record)
            .values(undone_at=utcnow())
        )
        emptied = _gather(ws, session, group_id, faces)
    return [int(group_id), *emptied]


def undo_merge(ws: Workspace, group_id: int) -> list[int]:
    """Take back the last merge into a group that still stands: the faces that came with the
    other group and are still unlabelled and in this group leave it for a group of their own
    (the other group's id when it is free). Returns both groups' ids."""
    load_tables(ws).index(group_id)
    with ws.transaction() as session:
        last = session.execute(
            select(GroupMerge.record, GroupMerge.other_id)
            .where(GroupMerge.group_id == group_id, GroupMerge.undone_at.is_(None))
            .order_by(GroupMerge.id.desc())
            .limit(1)
        ).first()
        if last is None:
            raise ValueError(f"no merge into group {group_id} to undo")
        record, other_id = last
        came = list(session.scalars(select(GroupMerge.face_id).where(GroupMerge.record == record)))
        session.execute(
            update(GroupMerge).where(GroupMerge.record == record).values(undone_at=utcnow())
        )
        here = set(
            session.scalars(
                select(FaceGroupMember.face_id).where(
                    FaceGroupMember.group_id == group_id, FaceGroupMember.face_id.in_(came)
                )
            )
        )
        leaving = [f for f in came if f in here and _unlabelled(ws, f)]
        if session.get(FaceGroup, other_id) is not None:
            other_id = (session.scalar(select(func.max(FaceGroup.id))) or 0) + 1
        now = utcnow()
        session.add(FaceGroup(id=other_id, status=OPEN, size=0, created_at=now, updated_at=now))
        session.flush()
        if leaving:
            session.execute(
                update(FaceGroupMember)
                .where(FaceGroupMember.face_id.in_(leaving))
                .values(group_id=other_id)
            )
        _resize(ws, session, [int(group_id), int(other_id)])
    return [int(group_id), int(other_id)]


def _unlabelled(ws: Workspace, face_id: int) -> bool:
    state = snapshot(ws)
    pos = state.position(face_id)
    return pos is not None and state.verdict[pos] == UNLABELLED


def _gather(ws: Workspace, session, group_id: int, faces: list[int]) -> list[int]:
    """Bring these faces into a group from the groups they are in now (and those in none
    that are still unlabelled); the open groups left with no member are deleted. Returns the
    deleted ids."""
    rows = session.execute(
        select(FaceGroupMember.face_id, FaceGroupMember.group_id).where(
            FaceGroupMember.face_id.in_(faces)
        )
    ).all()
    grouped = {f for f, _ in rows}
    back = [f for f in faces if f in grouped or _unlabelled(ws, f)]
    left = {gid for _, gid in rows if gid != group_id}
    session.execute(delete(FaceGroupMember).where(FaceGroupMember.face_id.in_(back)))
    if back:
        session.execute(
            insert(FaceGroupMember), [{"face_id": f, "group_id": group_id} for f in back]
        )
    emptied = [
        gid
        for gid in sorted(left)
        if session.scalar(
            select(func.count()).select_from(FaceGroupMember).where(FaceGroupMember.group_id == gid)
        )
        == 0
    ]
    if emptied:
        session.execute(
            delete(FaceGroup).where(FaceGroup.id.in_(emptied), FaceGroup.status == OPEN)
        )
    _resize(ws, session, [int(group_id), *(g for g in left if g not in emptied)])
    return emptied


def _resize(ws: Workspace, session, group_ids: list[int]) -> None:
    """Set these groups' sizes and their "probably <name>" again from their unlabelled
    members now."""
    state = snapshot(ws)
    space = load_space(ws)
    members = {
        gid: list(
            session.scalars(select(FaceGroupMember.face_id).where(FaceGroupMember.group_id == gid))
        )
        for gid in group_ids
    }
    pieces = {
        gid: np.array(
            [
                p
                for f in faces
                if (p := state.position(f)) is not None and state.verdict[p] == UNLABELLED
            ],
            dtype=np.int64,
        )
        for gid, faces in members.items()
    }
    filled = [piece for piece in pieces.values() if len(piece)]
    found = iter(confident_people(state, space, filled))
    for gid in members:
        person, distance = next(found) if len(pieces[gid]) else (None, None)
        session.execute(
            update(FaceGroup)
            .where(FaceGroup.id == gid)
            .values(
                size=len(pieces[gid]),
                suggested_person_id=person,
                suggested_distance=distance,
                updated_at=utcnow(),
            )
        )
