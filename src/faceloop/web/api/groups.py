"""Look-alike groups: list them, name a whole group in one action, say "not the same person",
split and merge them, "more like this" for any face, and re-cluster in the background.

Naming a group (or marking it "unknown person") is one batch of decisions: it is taken back
with POST /batches/{batch}/undo like any other action. "Not the same person", a split and a
merge are taken back with POST /groups/{id}/reject/undo, /split/undo and /merge/undo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query

from faceloop.grouping.actions import (
    label_group,
    mark_unknown,
    merge,
    reject_group,
    split,
    undo_merge,
    undo_reject,
    undo_split,
)
from faceloop.grouping.job import check_cluster_params, submit_cluster
from faceloop.grouping.run import grouping_threshold
from faceloop.grouping.views import (
    GroupDetail,
    GroupFace,
    GroupSummary,
    count_groups,
    group_detail,
    list_groups,
    more_like_this,
)
from faceloop.jobs.queue import JobInfo, get_job
from faceloop.review.label_queue import queue_item
from faceloop.web.deps import WS, User
from faceloop.web.schemas import (
    ClusterBody,
    GroupLabelBody,
    GroupMergeBody,
    GroupUnknownBody,
    IdPath,
)

router = APIRouter(tags=["groups"])


@dataclass(frozen=True)
class GroupPage:
    groups: list[GroupSummary]
    #: open groups with at least `min_size` unlabelled faces, and the faces in them
    total: int
    faces: int
    offset: int


@dataclass(frozen=True)
class GroupAction:
    """What naming (or marking) a group did: undo the whole action with its batch."""

    group_id: int
    batch: str


@dataclass(frozen=True)
class GroupIds:
    #: the groups that exist after the change, the one that kept its id first
    group_ids: list[int]


@dataclass(frozen=True)
class SimilarFaces:
    """The unlabelled faces nearest to one face, with what is known of that face: its person
    when it has one, else the best suggestion, so the page can offer a name at once."""

    face_id: int
    image_id: int
    verdict: str | None
    person_id: int | None
    name: str | None
    suggested_person_id: int | None
    suggested_name: str | None
    faces: list[GroupFace]
    #: the distance groups are built at: faces farther than this start taken out
    threshold: float


@router.get("/groups", response_model=GroupPage)
def groups(
    ws: WS,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    min_size: Annotated[int, Query(ge=1, le=10_000)] = 2,
) -> GroupPage:
    """Open groups, largest first (faces labelled since the last run no longer count)."""
    total, faces = count_groups(ws, min_size=min_size)
    found = list_groups(ws, limit=limit, offset=offset, min_size=min_size)
    return GroupPage(found, total, faces, offset)


@router.get("/groups/{group_id}", response_model=GroupDetail)
def group(ws: WS, group_id: IdPath) -> GroupDetail:
    """A group's unlabelled faces, most central first (likely outliers last), and the groups
    that look like the same person."""
    return group_detail(ws, group_id)


@router.post("/groups/{group_id}/label", response_model=GroupAction)
def label(ws: WS, user: User, group_id: IdPath, body: GroupLabelBody) -> GroupAction:
    """Name the group's faces but `exclude_face_ids` as one person, in one action; the excluded
    faces are recorded as not that person and leave the group. 409 when the person is already
    on another face of one of the photos and `confirm` is not set."""
    batch = label_group(
        ws,
        group_id,
        person_id=body.person_id,
        name=body.name,
        exclude_face_ids=body.exclude_face_ids,
        face_ids=body.face_ids,
        confirm=body.confirm,
        user_id=user,
        new_person=body.new_person,
    )
    return GroupAction(group_id, batch)


@router.post("/groups/{group_id}/unknown", response_model=GroupAction)
def unknown(ws: WS, user: User, group_id: IdPath, body: GroupUnknownBody) -> GroupAction:
    """Mark the group's faces but the excluded ones "unknown person", in one action."""
    batch = mark_unknown(
        ws,
        group_id,
        exclude_face_ids=body.exclude_face_ids,
        face_ids=body.face_ids,
        user_id=user,
    )
    return GroupAction(group_id, batch)


@router.post("/groups/{group_id}/reject", response_model=GroupIds)
def reject(ws: WS, user: User, group_id: IdPath) -> GroupIds:
    """Not the same person: the group is dissolved and its faces are not grouped together
    again (until undone)."""
    reject_group(ws, group_id, user_id=user)
    return GroupIds([group_id])


@router.post("/groups/{group_id}/reject/undo", response_model=GroupIds)
def unreject(ws: WS, user: User, group_id: IdPath) -> GroupIds:
    """Take back "not the same person": the faces still unlabelled come back to the group."""
    undo_reject(ws, group_id, user_id=user)
    return GroupIds([group_id])


@router.post("/groups/{group_id}/split", response_model=GroupIds)
def split_in_two(ws: WS, user: User, group_id: IdPath) -> GroupIds:
    """Split a mixed group into its two most different parts."""
    return GroupIds(split(ws, group_id, user_id=user))


@router.post("/groups/{group_id}/split/undo", response_model=GroupIds)
def unsplit(ws: WS, user: User, group_id: IdPath) -> GroupIds:
    """Take back the group's last split: the part split off comes back. The answer names the
    group, then the parts that are gone."""
    return GroupIds(undo_split(ws, group_id))


@router.post("/groups/{group_id}/merge", response_model=GroupIds)
def merge_groups(ws: WS, user: User, group_id: IdPath, body: GroupMergeBody) -> GroupIds:
    """Join two groups that are one person; the answer names the group that remains."""
    return GroupIds([merge(ws, group_id, body.other_id, user_id=user)])


@router.post("/groups/{group_id}/merge/undo", response_model=GroupIds)
def unmerge(ws: WS, user: User, group_id: IdPath) -> GroupIds:
    """Take back the last merge into the group: the faces that came with the other group
    leave for a group of their own. The answer names both groups."""
    return GroupIds(undo_merge(ws, group_id))


@router.get("/faces/{face_id}/similar", response_model=SimilarFaces)
def similar(
    ws: WS,
    user: User,
    face_id: IdPath,
    limit: Annotated[int, Query(ge=1, le=200)] = 24,
) -> SimilarFaces:
    """More like this: the unlabelled faces nearest to a face, nearest first. Name a chosen
    set of them in one action with POST /labels."""
    item = queue_item(ws, face_id, user)
    faces = more_like_this(ws, face_id, limit=limit)
    suggestion = item.suggestions[0] if item.suggestions and item.person_id is None else None
    return SimilarFaces(
        face_id=item.face_id,
        image_id=item.image_id,
        verdict=item.verdict,
        person_id=item.person_id,
        name=item.name,
        suggested_person_id=suggestion.person_id if suggestion else None,
        suggested_name=suggestion.name if suggestion else None,
        faces=faces,
        threshold=grouping_threshold(ws),
    )


@router.post("/cluster", response_model=JobInfo, status_code=202)
def cluster(ws: WS, user: User, body: ClusterBody | None = None) -> JobInfo:
    """Group the unlabelled faces again, in the background; follow the job at /jobs/{id}.
    Human decisions are never touched, and groups keep their ids where they can. A run already
    queued or running is answered instead of starting another."""
    params = check_cluster_params(body.threshold if body is not None else None)
    return get_job(ws, submit_cluster(ws, params, user))
