"""People: the list, one person, their faces (likely mistakes first), and every change to them
(rename, aliases, groups, hide, merge, un-merge, cover), each recorded and undoable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from faceloop.labels import person_ops
from faceloop.review.person_views import (
    PeoplePage,
    PersonDetail,
    PersonFaces,
    list_people,
    person_detail,
    person_faces,
)
from faceloop.web.deps import WS, User
from faceloop.web.schemas import (
    AliasBody,
    CoverBody,
    HiddenBody,
    IdPath,
    MergeBody,
    NameBody,
    NewPersonBody,
    TagBody,
)
from faceloop.workspace import Workspace

router = APIRouter(tags=["people"])


@dataclass(frozen=True)
class PersonChange:
    """The event that recorded a change (undo it with /person-events/{id}/undo) and the
    person as they are now."""

    event_id: int
    person: PersonDetail


@dataclass(frozen=True)
class EventUndone:
    event_id: int
    undoes_id: int


@router.get("/people", response_model=PeoplePage)
def people(
    ws: WS,
    hidden: bool = False,
    tag: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sort: Literal["faces", "name", "recent"] = "faces",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> PeoplePage:
    return list_people(
        ws, include_hidden=hidden, tag=tag, query=q, sort=sort, offset=offset, limit=limit
    )


@router.post("/people", response_model=PersonDetail, status_code=201)
def create(ws: WS, user: User, body: NewPersonBody) -> PersonDetail:
    """A new person; 409 when someone has that name in another spelling, unless new_person."""
    with ws.transaction() as session:
        person_id = person_ops.create_person(session, body.name, user, new_person=body.new_person)
    return person_detail(ws, person_id)


@router.get("/people/{person_id}", response_model=PersonDetail)
def person(ws: WS, person_id: IdPath) -> PersonDetail:
    return person_detail(ws, person_id)


@router.get("/people/{person_id}/faces", response_model=PersonFaces)
def faces(
    ws: WS,
    person_id: IdPath,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> PersonFaces:
    """The person's faces, merges resolved, farthest from the person's other faces first."""
    return person_faces(ws, person_id, offset, limit)


def _change(ws: Workspace, person_id: int, operation: Callable[..., int]) -> PersonChange:
    with ws.transaction() as session:
        event_id = operation(session)
    return PersonChange(event_id, person_detail(ws, person_id))


@router.post("/people/{person_id}/rename", response_model=PersonChange)
def rename(ws: WS, user: User, person_id: IdPath, body: NameBody) -> PersonChange:
    return _change(ws, person_id, lambda s: person_ops.rename_person(s, person_id, body.name, user))


@router.post("/people/{person_id}/aliases", response_model=PersonChange)
def add_alias(ws: WS, user: User, person_id: IdPath, body: AliasBody) -> PersonChange:
    return _change(ws, person_id, lambda s: person_ops.add_alias(s, person_id, body.alias, user))


@router.post("/people/{person_id}/aliases/remove", response_model=PersonChange)
def remove_alias(ws: WS, user: User, person_id: IdPath, body: AliasBody) -> PersonChange:
    return _change(ws, person_id, lambda s: person_ops.remove_alias(s, person_id, body.alias, user))


@router.post("/people/{person_id}/tags", response_model=PersonChange)
def add_tag(ws: WS, user: User, person_id: IdPath, body: TagBody) -> PersonChange:
    return _change(ws, person_id, lambda s: person_ops.add_tag(s, person_id, body.tag, user))


@router.post("/people/{person_id}/tags/remove", response_model=PersonChange)
def remove_tag(ws: WS, user: User, person_id: IdPath, body: TagBody) -> PersonChange:
    return _change(ws, person_id, lambda s: person_ops.remove_tag(s, person_id, body.tag, user))


@router.post("/people/{person_id}/hide", response_model=PersonChange)
def hide(ws: WS, user: User, person_id: IdPath, body: HiddenBody) -> PersonChange:
    return _change(ws, person_id, lambda s: person_ops.set_hidden(s, person_id, body.hidden, user))


@router.post("/people/{person_id}/merge", response_model=PersonChange)
def merge(ws: WS, user: User, person_id: IdPath, body: MergeBody) -> PersonChange:
    """Merge this person into `into_id`; the answer shows the person merged into."""
    with ws.transaction() as session:
        event_id = person_ops.merge_people(session, person_id, body.into_id, user)
    merged = person_detail(ws, person_id)
    return PersonChange(event_id, person_detail(ws, merged.merged_into.id))


@router.post("/people/{person_id}/unmerge", response_model=PersonChange)
def unmerge(ws: WS, user: User, person_id: IdPath) -> PersonChange:
    return _change(ws, person_id, lambda s: person_ops.unmerge_person(s, person_id, user))


@router.post("/people/{person_id}/cover", response_model=PersonChange)
def cover(ws: WS, user: User, person_id: IdPath, body: CoverBody) -> PersonChange:
    return _change(ws, person_id, lambda s: person_ops.set_cover(s, person_id, body.face_id, user))


@router.post("/person-events/{event_id}/undo", response_model=EventUndone)
def undo_event(ws: WS, user: User, event_id: IdPath) -> EventUndone:
    """Apply the inverse of a change to a person (un-merge a merge, rename back...)."""
    with ws.transaction() as session:
        new_id = person_ops.undo_event(session, event_id, user)
    return EventUndone(new_id, event_id)


@router.get("/tags", response_model=list[str])
def tags(ws: WS) -> list[str]:
    return list_people(ws, include_hidden=True, limit=1).tags
