"""The confirm queue as the confirm page uses it: what to ask next (with everything the page
draws, so it never waits for a second request) and the answers a person gives.

Single-face photos posted by an account linked to a person come first ("account",
`review/account_selfies.py`): pages of their own ("24 new selfies from Aya's account"), each
face captioned with its origin. Then the faces come from one of two sources: the model's
guesses ("model", `review/model_guesses.py`), or the person of each face's nearest labelled
face ("nearest", `review/look_alike_queue.py`), which works long before anyone has the faces a
model needs. "auto", the default, asks the model first and turns to the nearest faces when the
model has nothing waiting (no model yet, or every guess answered), so the page always has
something to ask while there is something to ask. A mixed
page of look-alikes is filled up with the faces of small groups that all look like one person
named (`review/small_groups.py`, source "group") once only small groups are left.

How near is near enough (`reach`): "close" is the grouping threshold learned from the user's
own labels, where a look-alike is the person about as often as a group's faces are; "sure" is a
tenth nearer (`SURE_FACTOR`), for the look-alikes worth taking before the groups are named (the
farther ones are often people nobody has named yet, whose groups are still waiting); "wide"
looks a quarter farther (`WIDE_FACTOR`), less sure but with more faces. Wide look-alikes come
when asked for, and in "auto" once nothing closer waits: before the label queue's one face at a
time, a page to check costs less even when more of it is wrong.

Three modes: one face at a time; a page of up to 24 faces suggested as one person; and a mixed
page ("mixed") of up to 24 faces each suggested as its own person, the surest first. A person
seldom has many faces waiting at once, so pages of one person are small; a mixed page is full
while 24 faces of anyone wait, and one Enter answers them all (digiKam confirms its unconfirmed
faces the same way). It takes the model's guesses only down to the model's own threshold
(`confirm.model_threshold`): each face is glanced at, so the page offers what is nearly always
right.

Every answer is a decision, all of one action in one batch so that it undoes at once: "yes"
labels the face as the person it was suggested as, "no" is a standing refusal (never offered as
that person again, and the next model learns from it), a correction is a refusal plus the right
name, a skip puts the face at the back. On a mixed page each answer names its own suggested
person.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from faceloop.db.models import Face, FaceLabel, Image, Model, Person, Prediction
from faceloop.grouping.run import grouping_threshold
from faceloop.jobs.rules import active_job
from faceloop.labels.decisions import PERSON, REJECT, SKIP, Verdict, decide_all, new_batch
from faceloop.labels.labelling import SamePersonInPhoto, same_person_conflicts
from faceloop.labels.names import exact_person
from faceloop.labels.people import root_person_id, search_key
from faceloop.labels.person_ops import create_person
from faceloop.options import (
    ConfirmAnswer,
    ConfirmMode,
    ConfirmSource,
    GuessOrder,
    Reach,
    choose,
)
from faceloop.readmodel import snapshot
from faceloop.review.account_selfies import AccountPick, account_selfies
from faceloop.review.likelihood import distance_calibration, is_confident, model_calibration
from faceloop.review.look_alike_queue import NearestPick, nearest_pick
from faceloop.review.look_alikes import nearest_people
from faceloop.review.model_guesses import (
    PAGE,
    Suggestion,
    confirm_page,
    model_threshold,
    next_suggestions,
    pending_count,
    reference_faces,
    waiting_faces,
)
from faceloop.review.small_groups import small_group_suggestions
from faceloop.workspace import Workspace

ONE, PAGE_MODE, MIXED = ConfirmMode.ONE, ConfirmMode.PAGE, ConfirmMode.MIXED
MODES = tuple(ConfirmMode)
ANSWERS = tuple(ConfirmAnswer)
MODEL, NEAREST, AUTO = ConfirmSource.MODEL, ConfirmSource.NEAREST, ConfirmSource.AUTO
ACCOUNT = ConfirmSource.ACCOUNT
#: a mixed page's faces of a small group that all look like one person named
GROUP = "group"
#: where the faces to confirm come from; "auto" is the model, else the nearest labelled faces
SOURCES = tuple(ConfirmSource)
SURE, CLOSE, WIDE = Reach.SURE, Reach.CLOSE, Reach.WIDE
#: how near a labelled face must be for a look-alike: nearer than the learned threshold, at
#: it, or farther
REACHES = tuple(Reach)
#: the sure and wide reaches, as multiples of the learned threshold (measured with
#: bench/simulate_labeling.py on lfw-devtrain: 0.8 and 1.0 for "sure" both cost more actions)
SURE_FACTOR = 0.9
WIDE_FACTOR = 1.25
#: faces fetched ahead in one-at-a-time mode
AHEAD = 5
MAX_ANSWERS = 100
NO_MODEL, NOT_PREDICTED, NOTHING_LEFT = "no_model", "not_predicted", "nothing_left"
NOTHING_NEAR, NOTHING_SURE = "nothing_near", "nothing_sure"
NO_SELFIES = (
    "No selfie from a linked account is waiting. Link accounts to people on the Accounts page: "
    "their single-face photos come here first."
)
NEITHER_NEAR = " No unlabelled face is near enough to a labelled one for a suggestion either."


@dataclass(frozen=True)
class ConfirmItem:
    face_id: int
    image_id: int
    #: the person suggested: the model's guess, or the person of the nearest labelled face
    person_id: int
    person_name: str
    score: float
    #: the face in the photo's own pixels: left, top, right, bottom
    box: tuple[int, int, int, int]
    width: int
    height: int
    #: typical labelled faces of the person, to compare against
    reference_face_ids: list[int] = field(default_factory=list)
    #: "model" or "nearest", as the view's `source`: a mixed page may hold both
    source: str = "model"
    #: the estimated chance that the face is the person (`review/likelihood.py`): the model's
    #: stored calibration of its score, or the look-alike calibration of the distance to the
    #: person's mean face; None for a model stored without a calibration
    probability: float | None = None
    #: pre-checked on a page: a yes unless the labeller unticks it. A model's guess only when
    #: `probability` reaches `likelihood.CONFIDENT`; a look-alike whenever it is within the
    #: page's reach (the reach is the look-alike page's threshold)
    checked: bool = True
    #: `probability` reaches `likelihood.CONFIDENT`: shown as "likely"
    confident: bool = False
    #: when another person's name looks alike ("Hugo Chavez", "Hugo_Chavez"): what tells this
    #: one apart, the person's id and first other alias
    person_note: str | None = None
    #: where the photo came from, for a selfie of a linked account ("from @aya_idol@mstdn.jp")
    origin: str | None = None


@dataclass(frozen=True)
class ConfirmView:
    mode: str
    order: str
    items: list[ConfirmItem]
    #: page mode: the person every item is guessed as
    person_id: int | None
    person_name: str | None
    #: faces with a suggestion of this view's source still waiting for an answer, of everyone;
    #: in auto, of either source (each face once), whichever this view's faces came from
    pending: int
    model_id: int | None
    #: why nothing is offered (no_model, not_predicted, nothing_left, nothing_near); None when
    #: items are
    empty_reason: str | None = None
    message: str = ""
    #: a training run queued or running, whose guesses will come next
    training_job_id: int | None = None
    #: page mode: guesses of the page's person still waiting, this page included
    person_pending: int | None = None
    #: where the items come from: "model" (its guesses; `score` is its probability) or
    #: "nearest" (the person of the nearest labelled face; `score` is 1 - distance); "auto"
    #: for a mixed page that holds both. With no items, the source asked for
    source: str = MODEL
    #: look-alikes: how near their labelled faces are ("close": within the learned threshold;
    #: "wide": up to a quarter farther, less sure); None for the model's guesses
    reach: str | None = None
    #: what the page is, when it says more than its mode ("24 new selfies from Aya's account")
    title: str | None = None


@dataclass(frozen=True)
class Answer:
    face_id: int
    #: yes, no, skip, or correct (then `person_id` or `name` says who it is)
    answer: str
    person_id: int | None = None
    name: str | None = None
    #: the person the face was suggested as, when not the one of the whole answer (a mixed
    #: page: each face its own)
    suggested_person_id: int | None = None
    #: where this face's suggestion came from ("model" or "nearest"), when not the whole
    #: answer's
    source: str | None = None
    #: for "correct" by name: a new person even if someone has the name in another spelling
    new_person: bool = False


@dataclass(frozen=True)
class ConfirmResult:
    batch: str
    decision_ids: list[int]
    #: the person the faces were suggested as; None when they were several (a mixed page)
    person_id: int | None
    person_name: str | None
    accepted: list[int]
    refused: list[int]
    skipped: list[int]
    corrected: list[int]
    #: people a correction created by a new name
    created_people: list[int] = field(default_factory=list)
    #: a training run this answer started (after enough new decisions)
    retrain_job_id: int | None = None
    #: every person the faces were suggested as (root ids, in the answers' order)
    suggested_people: list[int] = field(default_factory=list)


def confirm_view(
    ws: Workspace,
    *,
    mode: str = ONE,
    order: str | None = None,
    limit: int | None = None,
    person_id: int | None = None,
    exclude: Collection[int] = (),
    source: str = AUTO,
    reach: str = CLOSE,
) -> ConfirmView:
    """The next faces to confirm. One mode: the next `limit` suggestions in the chosen order, of
    anyone; page mode: up to `limit` (24) faces suggested as one person; mixed mode: up to
    `limit` (24) faces each suggested as their own person (`_mixed_view`). `exclude` leaves out
    faces the page already holds, so a page can fetch ahead. `source` and `reach` as the module
    says; a page of the nearest faces is of the person with the most of them waiting, nearest
    first (`review/look_alike_queue.py`), so `order` applies to them in one mode only."""
    mode = choose(ConfirmMode, mode, "mode")
    order = choose(GuessOrder, order or ws.settings.train.confirm_order, "order")
    source = choose(ConfirmSource, source, "source")
    reach = choose(Reach, reach, "reach")
    if mode == MIXED:
        return _mixed_view(ws, order, limit, person_id, exclude, source, reach)
    if source in (AUTO, ACCOUNT):
        size = min(limit or PAGE, PAGE) if mode == PAGE_MODE else limit or AHEAD
        pick = account_selfies(ws, person_id=person_id, exclude=exclude, limit=size)
        if pick.suggestions or source == ACCOUNT:
            return _account_view(ws, mode, order, pick)
        # the selfies this page already holds still count as waiting
        rest = _other_sources_view(ws, mode, order, limit, person_id, exclude, source, reach)
        return replace(rest, pending=rest.pending + pick.pending)
    return _other_sources_view(ws, mode, order, limit, person_id, exclude, source, reach)


def _other_sources_view(
    ws: Workspace,
    mode: str,
    order: str,
    limit: int | None,
    person_id: int | None,
    exclude: Collection[int],
    source: str,
    reach: str,
) -> ConfirmView:
    """One face at a time or a page of one person, from the model or the look-alikes."""
    if source != NEAREST:
        view = _model_view(ws, mode, order, limit, person_id, exclude)
        if view.items or source == MODEL:
            return view if source == MODEL else _counting_both(ws, view, reach)
    nearest = _nearest_view(ws, mode, order, limit, person_id, exclude, reach)
    if not nearest.items and source == AUTO and reach == CLOSE:
        wider = _nearest_view(ws, mode, order, limit, person_id, exclude, WIDE)
        nearest = wider if wider.items else nearest
    if source == NEAREST:
        return nearest
    if nearest.items:
        return _counting_both(ws, nearest, nearest.reach or reach)
    return _counting_both(ws, _neither(view, nearest), nearest.reach or reach)


def _counting_both(ws: Workspace, view: ConfirmView, reach: str) -> ConfirmView:
    """Auto, one face at a time or a page of one person: the count is of every face either
    source still offers, each once, whichever source this view's faces came from. Otherwise
    the count would jump as the page turns from the model's guesses to the look-alikes (53
    waiting, then 100) while nothing was answered."""
    if reach == CLOSE and not len(nearest_people(ws, radius=_radius(ws, CLOSE)).face_ids):
        reach = WIDE
    with ws.reader() as session:
        model_pending = pending_count(session)
        pending = _pending_both(session, ws, None, model_pending, reach)
    return replace(view, pending=pending)


def _neither(view: ConfirmView, nearest: ConfirmView) -> ConfirmView:
    """Auto with nothing from either source: the model's reason, and the look-alikes' too."""
    message = view.message
    if nearest.empty_reason == NOTHING_NEAR:
        message += NEITHER_NEAR
    return replace(view, message=message, source=AUTO, reach=nearest.reach)


def _radius(ws: Workspace, reach: str) -> float | None:
    """The distance a look-alike may be at: None (the learned threshold itself) when close."""
    factor = {SURE: SURE_FACTOR, WIDE: WIDE_FACTOR}.get(reach)
    return None if factor is None else grouping_threshold(ws) * factor


def _model_view(
    ws: Workspace,
    mode: str,
    order: str,
    limit: int | None,
    person_id: int | None,
    exclude: Collection[int],
) -> ConfirmView:
    with ws.reader() as session:
        if mode == PAGE_MODE:
            page = confirm_page(
                session,
                person_id=person_id,
                order=order,
                size=min(limit or PAGE, PAGE),
                exclude=exclude,
            )
            suggestions = page.suggestions if page else []
            person_pending = page.pending if page else 0
        else:
            suggestions = next_suggestions(
                session, person_id=person_id, order=order, limit=limit or AHEAD, exclude=exclude
            )
            person_pending = None
        pending = pending_count(session)
        items = _items(session, suggestions, MODEL)
        model_id = session.scalar(select(Prediction.model_id).limit(1))
        reason, message = (None, "") if items else _why_empty(session, ws, model_id)
    return _view(ws, mode, order, items, pending, model_id, reason, message, person_pending, MODEL)


def _nearest_view(
    ws: Workspace,
    mode: str,
    order: str,
    limit: int | None,
    person_id: int | None,
    exclude: Collection[int],
    reach: str,
) -> ConfirmView:
    pick = nearest_pick(
        ws,
        mode=mode,
        order=order,
        limit=limit or (PAGE if mode == PAGE_MODE else AHEAD),
        person_id=person_id,
        exclude=exclude,
        radius=_radius(ws, reach),
    )
    with ws.reader() as session:
        items = _items(session, pick.suggestions, NEAREST, pick.references)
        model_id = session.scalar(select(Prediction.model_id).limit(1))
        reason, message = (None, "") if items else _why_nothing_near(session)
    return _view(
        ws,
        mode,
        order,
        items,
        pick.pending,
        model_id,
        reason,
        message,
        pick.person_pending,
        NEAREST,
        reach,
    )


def _account_view(ws: Workspace, mode: str, order: str, pick: AccountPick) -> ConfirmView:
    """Selfies of linked accounts: a page of one person's (the person with the most waiting),
    or one face at a time."""
    with ws.reader() as session:
        items = _account_items(session, pick)
        model_id = session.scalar(select(Prediction.model_id).limit(1))
    view = _view(
        ws,
        mode,
        order,
        items,
        pick.pending,
        model_id,
        *_why_no_selfies(items),
        pick.person_pending,
        ACCOUNT,
    )
    if items and mode == PAGE_MODE:
        count = pick.person_pending or len(items)
        selfies = "selfie" if count == 1 else "selfies"
        view = replace(view, title=f"{count} new {selfies} from {items[0].person_name}'s account")
    return view


def _why_no_selfies(items: list[ConfirmItem]) -> tuple[str | None, str]:
    return (None, "") if items else (NOTHING_LEFT, NO_SELFIES)


def _account_items(session: Session, pick: AccountPick) -> list[ConfirmItem]:
    return [
        replace(item, origin=pick.origins.get(item.face_id))
        for item in _items(session, pick.suggestions, ACCOUNT)
    ]


def _mixed_view(
    ws: Workspace,
    order: str,
    limit: int | None,
    person_id: int | None,
    exclude: Collection[int],
    source: str,
    reach: str,
) -> ConfirmView:
    """Up to `limit` (24) faces, one item per face, each with its own suggested person. The
    model's guesses at or above its threshold, in the chosen order; look-alikes nearest first.
    Auto fills the page from both, the model first and every skipped face after every other:
    the model's fresh guesses, the look-alikes (their skipped ones last), the model's skipped
    guesses; wide look-alikes only when nothing at the close reach waits (the page says so)."""
    size = min(limit or PAGE, PAGE)
    held = set(exclude)
    items: list[ConfirmItem] = []
    model_pending = 0
    with ws.reader() as session:
        model_id = session.scalar(select(Prediction.model_id).limit(1))
        threshold = model_threshold(session) if source != NEAREST else None

        def guesses(room: int, skipped: bool) -> list[ConfirmItem]:
            if threshold is None or room <= 0:
                return []
            found = next_suggestions(
                session,
                person_id=person_id,
                order=order,
                limit=room,
                exclude=held | _ids(items),
                min_score=threshold,
                skipped=skipped,
            )
            return _items(session, found, MODEL)

        selfies_pending = 0
        if source in (AUTO, ACCOUNT):
            pick = account_selfies(
                ws, person_id=person_id, exclude=held, limit=size, one_person=False
            )
            items += _account_items(session, pick)
            selfies_pending = pick.pending
            if source == ACCOUNT:
                why = _why_no_selfies(items)
                return _view(ws, MIXED, order, items, pick.pending, model_id, *why, source=ACCOUNT)
        if threshold is not None:
            items += guesses(size - len(items), skipped=source == MODEL)
            model_pending = pending_count(session, min_score=threshold)
        if source == MODEL:
            why = (None, "") if items else _why_no_sure(session, ws, model_id, threshold)
            return _view(ws, MIXED, order, items, model_pending, model_id, *why)

        near_reach = reach
        pick = _mixed_nearest(ws, size - len(items), person_id, held | _ids(items), reach)
        items += _items(session, pick.suggestions, NEAREST, pick.references)
        items += _group_items(ws, session, size - len(items), held | _ids(items))
        items += guesses(size - len(items), skipped=True)
        if not items and source == AUTO and reach == CLOSE:
            wider = _mixed_nearest(ws, size, person_id, held, WIDE)
            if wider.suggestions:
                near_reach = WIDE
                items = _items(session, wider.suggestions, NEAREST, wider.references)
        pending = _pending_both(session, ws, threshold, model_pending, near_reach)
        pending += selfies_pending
        if items:
            reason, message = None, ""
        elif source == NEAREST:
            reason, message = _why_nothing_near(session)
        else:
            reason, message = _why_no_sure(session, ws, model_id, threshold)
            if _why_nothing_near(session)[0] == NOTHING_NEAR:
                message += NEITHER_NEAR
    sources = {i.source for i in items}
    shown = sources.pop() if len(sources) == 1 else (AUTO if sources else source)
    return _view(
        ws,
        MIXED,
        order,
        items,
        pending,
        model_id,
        reason,
        message,
        source=shown,
        reach=None if shown == MODEL else near_reach,
    )


def _group_items(
    ws: Workspace, session: Session, room: int, exclude: set[int]
) -> list[ConfirmItem]:
    """Faces of small groups that all look like one person named (`small_groups.py`), each
    suggested as that person."""
    found = small_group_suggestions(ws, radius=_radius(ws, WIDE), limit=room, exclude=exclude)
    return _items(session, found, GROUP)


def _ids(items: list[ConfirmItem]) -> set[int]:
    return {i.face_id for i in items}


def _mixed_nearest(
    ws: Workspace, room: int, person_id: int | None, exclude: set[int], reach: str
) -> NearestPick:
    """Up to `room` look-alikes of anyone, nearest first (skipped ones last)."""
    return nearest_pick(
        ws,
        mode=MIXED,
        order="confident",
        limit=max(room, 0),
        person_id=person_id,
        exclude=exclude,
        radius=_radius(ws, reach),
    )


def _pending_both(
    session: Session,
    ws: Workspace,
    threshold: float | None,
    model_pending: int,
    reach: str,
) -> int:
    """Faces a mixed page of both sources can still offer: the model's sure guesses and the
    look-alikes, each face once (a face may be both)."""
    found = nearest_people(ws, radius=_radius(ws, reach))
    if not model_pending or not len(found.face_ids):
        return model_pending + len(found.face_ids)
    both = waiting_faces(session, threshold)
    return len(both) + int(np.count_nonzero(~np.isin(found.face_ids, list(both))))


def _view(
    ws: Workspace,
    mode: str,
    order: str,
    items: list[ConfirmItem],
    pending: int,
    model_id: int | None,
    reason: str | None,
    message: str,
    person_pending: int | None = None,
    source: str = MODEL,
    reach: str | None = None,
) -> ConfirmView:
    items = _judged(ws, items, mode, order, model_id)
    first = items[0] if items and mode == PAGE_MODE else None
    return ConfirmView(
        mode=mode,
        order=order,
        items=items,
        person_id=first.person_id if first else None,
        person_name=first.person_name if first else None,
        pending=pending,
        model_id=model_id,
        empty_reason=reason,
        message=message,
        training_job_id=active_job(ws, "train"),
        person_pending=person_pending,
        source=source,
        reach=reach,
    )


def _judged(
    ws: Workspace, items: list[ConfirmItem], mode: str, order: str, model_id: int | None
) -> list[ConfirmItem]:
    """Each item with its calibrated chance, whether it starts checked and what tells its
    person's name apart; a mixed page in the chosen order of those chances (the page was
    filled in the order the module says, so which faces it holds does not change). A model's
    guesses are judged by the calibration of the model that made them: the view's, else the
    newest that predicted."""
    if not items:
        return items
    state = snapshot(ws)
    with ws.reader() as session:
        if model_id is None and any(i.source == MODEL for i in items):
            model_id = session.scalar(select(func.max(Prediction.model_id)))
        model = model_calibration(state, session, model_id) if model_id is not None else None
        look_alike = distance_calibration(state)
        centroids = state.centroids()
        notes = _name_notes(state, {i.person_id for i in items})
        judged = []
        for item in items:
            if item.source == MODEL:
                probability = model.one(item.score) if model is not None else None
                checked = is_confident(probability)
            else:
                probability = _look_alike_chance(state, centroids, look_alike, item)
                checked = True
            judged.append(
                replace(
                    item,
                    probability=None if probability is None else round(probability, 4),
                    checked=checked,
                    confident=is_confident(probability),
                    person_note=notes.get(state.root(item.person_id)),
                )
            )
    if mode == MIXED:
        surest = order == GuessOrder.CONFIDENT
        judged.sort(key=lambda i: -_chance(i) if surest else _chance(i))
    return judged


def _chance(item: ConfirmItem) -> float:
    return -1.0 if item.probability is None else item.probability


def _look_alike_chance(state, centroids, calibration, item: ConfirmItem) -> float | None:
    pos = state.position(item.face_id)
    index = centroids.person_ids.searchsorted(state.root(item.person_id))
    if pos is None or index >= len(centroids.person_ids):
        return None
    if centroids.person_ids[index] != state.root(item.person_id):
        return None
    distance = float(np.linalg.norm(centroids.means[index] - state.embeddings[pos]))
    return calibration.one(distance)


def _name_notes(state, person_ids: set[int]) -> dict[int, str]:
    """For the people whose name looks like another person's, what tells them apart."""
    key = ("alike_names", state.people_version)
    cached = state.cache.get(key)
    if cached is None:
        for old in [k for k in list(state.cache) if isinstance(k, tuple) and k[0] == "alike_names"]:
            state.cache.pop(old, None)
        by_look: dict[str, list[int]] = {}
        for record in state.people.values():
            if record.merged_into is None:
                by_look.setdefault(search_key(record.name), []).append(record.id)
        cached = state.cache[key] = (by_look,)
    by_look = cached[0]
    notes = {}
    for person_id in person_ids:
        record = state.people.get(state.root(person_id))
        if record is None or len(by_look.get(search_key(record.name), ())) < 2:
            continue
        alias = next((a for a in record.aliases if a != record.name), None)
        notes[record.id] = f"#{record.id}" + (f", also {alias}" if alias else "")
    return notes


def _items(
    session: Session,
    suggestions: list[Suggestion],
    source: str,
    known_references: dict[int, list[int]] | None = None,
) -> list[ConfirmItem]:
    """What the page draws for each suggestion; `known_references` spares looking up again the
    reference faces of a person (by root id) the caller already has."""
    if not suggestions:
        return []
    face_ids = [s.face_id for s in suggestions]
    rows = session.execute(
        select(Face.id, Face.left, Face.top, Face.right, Face.bottom, Image.width, Image.height)
        .join(Image, Image.id == Face.image_id)
        .where(Face.id.in_(face_ids))
    ).all()
    faces = {r.id: r for r in rows}
    roots = {pid: root_person_id(session, pid) for pid in {s.person_id for s in suggestions}}
    names = dict(
        session.execute(
            select(Person.id, Person.name).where(Person.id.in_(set(roots.values())))
        ).all()
    )
    known = known_references or {}
    references = {
        root: known[root] if root in known else reference_faces(session, root)
        for root in set(roots.values())
    }
    items = []
    for s in suggestions:
        face = faces[s.face_id]
        root = roots[s.person_id]
        items.append(
            ConfirmItem(
                face_id=s.face_id,
                image_id=s.image_id,
                person_id=s.person_id,
                person_name=names.get(root, "?"),
                score=float(s.score),
                box=(face.left, face.top, face.right, face.bottom),
                width=face.width,
                height=face.height,
                reference_face_ids=references[root],
                source=source,
            )
        )
    return items


def _why_empty(session: Session, ws: Workspace, model_id: int | None) -> tuple[str, str]:
    if session.scalar(select(Model.id).limit(1)) is None:
        return NO_MODEL, (
            "No model yet, so there are no guesses to confirm. A model needs people with at "
            f"least {ws.settings.train.min_per_class} labelled faces: label more, or train one."
        )
    if not _anything_unlabelled(session):
        return NOTHING_LEFT, "Every face is labelled: nothing left to confirm."
    if model_id is None:
        return NOT_PREDICTED, (
            "The model has not guessed the unlabelled faces yet: train again to get guesses."
        )
    return NOTHING_LEFT, (
        f"Every guess of model {model_id} is answered. Label more faces, or train again for "
        "new guesses."
    )


def _why_no_sure(
    session: Session, ws: Workspace, model_id: int | None, threshold: float | None
) -> tuple[str, str]:
    """Why a mixed page has none of the model's guesses: as `_why_empty`, or every guess left
    is less sure than the model's threshold."""
    if model_id is not None and threshold is not None and pending_count(session):
        return NOTHING_SURE, (
            f"The guesses of model {model_id} still waiting are less than {threshold:.0%} sure "
            "(below that it is wrong more than once in a hundred): confirm them one face at a "
            "time or a page of one person, or label more faces and train again."
        )
    return _why_empty(session, ws, model_id)


def _anything_unlabelled(session: Session) -> bool:
    return (
        session.scalar(
            select(Face.id)
            .outerjoin(FaceLabel, FaceLabel.face_id == Face.id)
            .where(FaceLabel.face_id.is_(None))
            .limit(1)
        )
        is not None
    )


def _why_nothing_near(session: Session) -> tuple[str, str]:
    if not _anything_unlabelled(session):
        return NOTHING_LEFT, "Every face is labelled: nothing left to confirm."
    return NOTHING_NEAR, (
        "No unlabelled face is near enough to a labelled face to suggest who it is. Label a "
        "few faces of each person (or name groups), and their look-alikes appear here."
    )


def answer_suggestions(
    ws: Workspace,
    person_id: int | None,
    answers: Sequence[Answer],
    *,
    user_id: int | None = None,
    confirm: bool = False,
    source: str | None = None,
) -> ConfirmResult:
    """Record the answers to "Is this <person>?" as one action. Each face was suggested as
    `person_id`, or as its answer's own `suggested_person_id` (a mixed page: each face its
    own person), and a "no" is a standing refusal of that person. Naming a person already on
    another face of the same photo is refused (SamePersonInPhoto) unless `confirm`. The answers
    need no prediction behind them: `source` ("model" or "nearest", or each answer's own), when
    given, is kept in each decision's detail, so the activity log says which suggestion was
    answered."""
    _check(answers, person_id)
    _check_sources(answers, source)
    named = {
        search_key(a.name): exact_person(ws, a.name)
        for a in answers
        if a.answer == ConfirmAnswer.CORRECT and a.person_id is None
    }
    # the person each face was suggested as, as the answer names them
    asked = {a.face_id: a.suggested_person_id or person_id for a in answers}
    with ws.transaction() as session:
        roots = _suggested_roots(session, asked.values())
        _check_faces_exist(session, [a.face_id for a in answers])
        created: list[int] = []
        targets = {
            a.face_id: _target(session, a, named, created, user_id)
            for a in answers
            if a.answer == ConfirmAnswer.CORRECT
        }
        naming = _naming(answers, asked, roots, targets)
        conflicts = _conflicts(session, naming, confirm) or {}
        batch = new_batch()
        verdicts, outcome = _verdicts(answers, asked, roots, targets, source, conflicts)
        ids = [d.id for d in decide_all(session, verdicts, user_id=user_id, batch=batch)]
        people = list(dict.fromkeys(roots[asked[a.face_id]] for a in answers))
        only = people[0] if len(people) == 1 else None
        name = session.scalar(select(Person.name).where(Person.id == only)) if only else None
    return ConfirmResult(
        batch=batch,
        decision_ids=ids,
        person_id=only,
        person_name=(name or "?") if only else None,
        accepted=outcome["yes"],
        refused=outcome["no"],
        skipped=outcome["skip"],
        corrected=outcome["correct"],
        created_people=created,
        suggested_people=people,
    )


def _check_sources(answers: Sequence[Answer], source: str | None) -> None:
    for said in {source, *(a.source for a in answers)} - {None}:
        if said not in (MODEL, NEAREST, GROUP, ACCOUNT):
            raise ValueError(
                f"unknown source {said!r}; use {MODEL}, {NEAREST}, {GROUP} or {ACCOUNT}"
            )


def _suggested_roots(session: Session, suggested: Collection[int | None]) -> dict[int, int]:
    """Each suggested person -> who they are after merges: a page may still show a person
    merged since it was drawn, and the answer belongs to the person they became."""
    roots: dict[int, int] = {}
    for person in suggested:
        if person in roots:
            continue
        if session.get(Person, person) is None:
            raise LookupError(f"no person {person}")
        roots[person] = root_person_id(session, person)
    return roots


def _check_faces_exist(session: Session, face_ids: list[int]) -> None:
    found = set(session.scalars(select(Face.id).where(Face.id.in_(face_ids))))
    missing = [f for f in face_ids if f not in found]
    if missing:
        raise LookupError(f"no face {missing[0]}")


def _naming(
    answers: Sequence[Answer],
    asked: dict[int, int | None],
    roots: dict[int, int],
    targets: dict[int, int],
) -> dict[int, int]:
    """Face -> the person these answers label it as, to find photos that would show a person
    twice."""
    naming: dict[int, int] = {}
    for a in answers:
        if a.answer == ConfirmAnswer.YES:
            naming[a.face_id] = roots[asked[a.face_id]]
        elif a.answer == ConfirmAnswer.CORRECT:
            naming[a.face_id] = targets[a.face_id]
    return naming


def _verdicts(
    answers: Sequence[Answer],
    asked: dict[int, int | None],
    roots: dict[int, int],
    targets: dict[int, int],
    source: str | None,
    conflicts: dict,
) -> tuple[list[Verdict], dict[str, list[int]]]:
    """The decisions the answers make, and the faces by answer. A correction is two decisions,
    a refusal of the suggested person and the person named, unless it names the suggested
    person after all, which is a "yes"."""
    verdicts: list[Verdict] = []
    outcome: dict[str, list[int]] = {key: [] for key in ANSWERS}

    def record(answer: Answer, verdict: str, person: int | None, origin: str) -> None:
        said = answer.source or source
        detail = {"source": said} if said else {}
        detail = {**detail, **(conflicts if verdict == PERSON else {})} or None
        verdicts.append(Verdict(answer.face_id, verdict, person, detail, origin))

    for a in answers:
        suggested = asked[a.face_id]
        root = roots[suggested]
        target = targets.get(a.face_id)
        if a.answer == ConfirmAnswer.YES or (a.answer == ConfirmAnswer.CORRECT and target == root):
            record(a, PERSON, root, "suggestion")
            outcome["yes"].append(a.face_id)
        elif a.answer == ConfirmAnswer.NO:
            record(a, REJECT, suggested, "suggestion")
            outcome["no"].append(a.face_id)
        elif a.answer == ConfirmAnswer.SKIP:
            record(a, SKIP, None, "suggestion")
            outcome["skip"].append(a.face_id)
        else:
            record(a, REJECT, suggested, "suggestion")
            record(a, PERSON, target, "manual")
            outcome["correct"].append(a.face_id)
    return verdicts, outcome


def _check(answers: Sequence[Answer], person_id: int | None) -> None:
    if not answers:
        raise ValueError("no answers given")
    if len(answers) > MAX_ANSWERS:
        raise ValueError(f"at most {MAX_ANSWERS} answers in one action")
    seen: set[int] = set()
    for a in answers:
        choose(ConfirmAnswer, a.answer, "answer")
        if a.face_id in seen:
            raise ValueError(f"face {a.face_id} is answered twice")
        seen.add(a.face_id)
        if a.suggested_person_id is None and person_id is None:
            raise ValueError(
                f"face {a.face_id}: who was it suggested as? Give the answers' person_id, or "
                "each answer's suggested_person_id"
            )
        names_someone = a.person_id is not None or bool(a.name and a.name.strip())
        if a.answer == ConfirmAnswer.CORRECT and not names_someone:
            raise ValueError(f"face {a.face_id}: a correction needs person_id or name")
        if a.answer != ConfirmAnswer.CORRECT and names_someone:
            raise ValueError(f"face {a.face_id}: only a correction names another person")


def _target(
    session: Session,
    answer: Answer,
    named: dict[str, int | None],
    created: list[int],
    user_id: int | None,
) -> int:
    """The person a correction names: by id, by an existing name or alias, or a new person."""
    if answer.person_id is not None:
        if session.get(Person, answer.person_id) is None:
            raise LookupError(f"no person {answer.person_id}")
        return root_person_id(session, answer.person_id)
    key = search_key(answer.name or "")
    if named.get(key) is None:
        named[key] = create_person(
            session, answer.name or "", user_id, new_person=answer.new_person
        )
        created.append(named[key])
    return root_person_id(session, named[key])


def _conflicts(session: Session, naming: dict[int, int], confirm: bool) -> dict | None:
    """Refuse to put a person twice in one photo unless confirmed; the decision detail that
    records a confirmed exception. `naming`: face id -> the person (root) it is labelled as."""
    by_person: dict[int, list[int]] = {}
    for face_id, person in naming.items():
        by_person.setdefault(person, []).append(face_id)
    found = False
    for person, faces in by_person.items():
        conflicts = same_person_conflicts(session, faces, person)
        if conflicts and not confirm:
            name = session.scalar(select(Person.name).where(Person.id == person)) or "?"
            raise SamePersonInPhoto(person, name, conflicts)
        found = found or bool(conflicts)
    return {"same_photo_confirmed": True} if found else None
