"""The confirm queue as the confirm page uses it: what to ask next (with everything the page
draws, so it never waits for a second request) and the answers a person gives.

The faces come from one of two sources: the model's guesses ("model", `review/confirm.py`), or
the person of each face's nearest labelled face ("nearest", `review/nearest_queue.py`), which
works long before anyone has the faces a model needs. "auto", the default, asks the model first
and turns to the nearest faces when the model has nothing waiting (no model yet, or every guess
answered), so the page always has something to ask while there is something to ask.

Every answer is a decision, all of one action in one batch so that it undoes at once: "yes"
labels the face as the person, "no" is a standing refusal (never offered as that person again,
and the next model learns from it), a correction is a refusal plus the right name, a skip puts
the face at the back.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from faceloop.db.models import Face, FaceLabel, Image, Model, Person, Prediction
from faceloop.learning_jobs import active_train_job
from faceloop.people import root_person_id, search_key
from faceloop.review.confirm import (
    ORDERS,
    PAGE,
    Suggestion,
    confirm_page,
    next_suggestions,
    pending_count,
    reference_faces,
)
from faceloop.review.decisions import PERSON, REJECT, SKIP, decide, new_batch
from faceloop.review.labelling import SamePersonInPhoto, same_person_conflicts
from faceloop.review.names import exact_person
from faceloop.review.nearest_queue import nearest_pick
from faceloop.review.person_ops import create_person
from faceloop.workspace import Workspace

MODES = ("one", "page")
ANSWERS = ("yes", "no", "skip", "correct")
MODEL, NEAREST, AUTO = "model", "nearest", "auto"
#: where the faces to confirm come from; "auto" is the model, else the nearest labelled faces
SOURCES = (AUTO, MODEL, NEAREST)
#: faces fetched ahead in one-at-a-time mode
AHEAD = 5
MAX_ANSWERS = 100
NO_MODEL, NOT_PREDICTED, NOTHING_LEFT = "no_model", "not_predicted", "nothing_left"
NOTHING_NEAR = "nothing_near"


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


@dataclass(frozen=True)
class ConfirmView:
    mode: str
    order: str
    items: list[ConfirmItem]
    #: page mode: the person every item is guessed as
    person_id: int | None
    person_name: str | None
    #: suggestions of this view's source still waiting for an answer, of everyone
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
    #: "nearest" (the person of the nearest labelled face; `score` is 1 - distance). With no
    #: items, the source asked for ("auto" included)
    source: str = MODEL


@dataclass(frozen=True)
class Answer:
    face_id: int
    #: yes, no, skip, or correct (then `person_id` or `name` says who it is)
    answer: str
    person_id: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class ConfirmResult:
    batch: str
    decision_ids: list[int]
    person_id: int
    person_name: str
    accepted: list[int]
    refused: list[int]
    skipped: list[int]
    corrected: list[int]
    #: people a correction created by a new name
    created_people: list[int] = field(default_factory=list)
    #: a training run this answer started (after enough new decisions)
    retrain_job_id: int | None = None


def confirm_view(
    ws: Workspace,
    *,
    mode: str = "one",
    order: str | None = None,
    limit: int | None = None,
    person_id: int | None = None,
    exclude: Collection[int] = (),
    source: str = AUTO,
) -> ConfirmView:
    """The next faces to confirm. One mode: the next `limit` suggestions in the chosen order, of
    anyone; page mode: up to `limit` (24) faces suggested as one person. `exclude` leaves out
    faces the page already holds, so a page can fetch ahead. `source` as the module says; a
    page of the nearest faces is of the person with the most of them waiting, nearest first
    (`review/nearest_queue.py`), so `order` applies to them in one mode only."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    order = order or ws.settings.train.confirm_order
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {', '.join(ORDERS)}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    if source != NEAREST:
        view = _model_view(ws, mode, order, limit, person_id, exclude)
        if view.items or source == MODEL:
            return view
    nearest = _nearest_view(ws, mode, order, limit, person_id, exclude)
    if nearest.items or source == NEAREST:
        return nearest
    message = view.message
    if nearest.empty_reason == NOTHING_NEAR:
        message += " No unlabelled face is near enough to a labelled one for a suggestion either."
    return replace(view, message=message, source=AUTO)


def _model_view(
    ws: Workspace,
    mode: str,
    order: str,
    limit: int | None,
    person_id: int | None,
    exclude: Collection[int],
) -> ConfirmView:
    with ws.sessions() as session:
        if mode == "page":
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
        items = _items(session, suggestions)
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
) -> ConfirmView:
    pick = nearest_pick(
        ws,
        mode=mode,
        order=order,
        limit=limit or (PAGE if mode == "page" else AHEAD),
        person_id=person_id,
        exclude=exclude,
    )
    with ws.sessions() as session:
        items = _items(session, pick.suggestions, pick.references)
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
    )


def _view(
    ws: Workspace,
    mode: str,
    order: str,
    items: list[ConfirmItem],
    pending: int,
    model_id: int | None,
    reason: str | None,
    message: str,
    person_pending: int | None,
    source: str,
) -> ConfirmView:
    first = items[0] if items and mode == "page" else None
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
        training_job_id=active_train_job(ws),
        person_pending=person_pending,
        source=source,
    )


def _items(
    session: Session,
    suggestions: list[Suggestion],
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
    person_id: int,
    answers: Sequence[Answer],
    *,
    user_id: int | None = None,
    confirm: bool = False,
    source: str | None = None,
) -> ConfirmResult:
    """Record the answers to "Is this <person>?" as one action. Naming a person already on
    another face of the same photo is refused (SamePersonInPhoto) unless `confirm`. The answers
    need no prediction behind them: `source` ("model" or "nearest"), when given, is kept in
    each decision's detail, so the activity log says which suggestion was answered."""
    _check(answers)
    if source is not None and source not in (MODEL, NEAREST):
        raise ValueError(f"unknown source {source!r}; use {MODEL} or {NEAREST}")
    noted = {"source": source} if source else {}
    named = {
        search_key(a.name): exact_person(ws, a.name)
        for a in answers
        if a.answer == "correct" and a.person_id is None
    }
    with ws.session() as session:
        if session.get(Person, person_id) is None:
            raise LookupError(f"no person {person_id}")
        face_ids = [a.face_id for a in answers]
        found = set(session.scalars(select(Face.id).where(Face.id.in_(face_ids))))
        missing = [f for f in face_ids if f not in found]
        if missing:
            raise LookupError(f"no face {missing[0]}")
        root = root_person_id(session, person_id)
        created: list[int] = []
        targets: dict[int, int] = {}
        for a in answers:
            if a.answer == "correct":
                targets[a.face_id] = _target(session, a, named, created, user_id)
        yes = [a.face_id for a in answers if a.answer == "yes"]
        yes += [face for face, target in targets.items() if target == root]
        conflicts = _conflicts(session, root, yes, targets, confirm) or {}

        batch = new_batch()
        ids: list[int] = []
        outcome: dict[str, list[int]] = {key: [] for key in ANSWERS}

        def record(face_id: int, verdict: str, person: int | None, origin: str) -> None:
            decision = decide(
                session,
                face_id,
                verdict,
                person_id=person,
                origin=origin,
                user_id=user_id,
                batch=batch,
                detail={**noted, **(conflicts if verdict == PERSON else {})} or None,
            )
            ids.append(decision.id)

        for a in answers:
            target = targets.get(a.face_id)
            if a.answer == "yes" or (a.answer == "correct" and target == root):
                record(a.face_id, PERSON, root, "suggestion")
                outcome["yes"].append(a.face_id)
            elif a.answer == "no":
                record(a.face_id, REJECT, person_id, "suggestion")
                outcome["no"].append(a.face_id)
            elif a.answer == "skip":
                record(a.face_id, SKIP, None, "suggestion")
                outcome["skip"].append(a.face_id)
            else:
                record(a.face_id, REJECT, person_id, "suggestion")
                record(a.face_id, PERSON, target, "manual")
                outcome["correct"].append(a.face_id)
        name = session.scalar(select(Person.name).where(Person.id == root)) or "?"
    return ConfirmResult(
        batch=batch,
        decision_ids=ids,
        person_id=root,
        person_name=name,
        accepted=outcome["yes"],
        refused=outcome["no"],
        skipped=outcome["skip"],
        corrected=outcome["correct"],
        created_people=created,
    )


def _check(answers: Sequence[Answer]) -> None:
    if not answers:
        raise ValueError("no answers given")
    if len(answers) > MAX_ANSWERS:
        raise ValueError(f"at most {MAX_ANSWERS} answers in one action")
    seen: set[int] = set()
    for a in answers:
        if a.answer not in ANSWERS:
            raise ValueError(f"unknown answer {a.answer!r}; use one of {', '.join(ANSWERS)}")
        if a.face_id in seen:
            raise ValueError(f"face {a.face_id} is answered twice")
        seen.add(a.face_id)
        names_someone = a.person_id is not None or bool(a.name and a.name.strip())
        if a.answer == "correct" and not names_someone:
            raise ValueError(f"face {a.face_id}: a correction needs person_id or name")
        if a.answer != "correct" and names_someone:
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
        named[key] = create_person(session, answer.name or "", user_id)
        created.append(named[key])
    return root_person_id(session, named[key])


def _conflicts(
    session: Session, root: int, yes: list[int], targets: dict[int, int], confirm: bool
) -> dict | None:
    """Refuse to put a person twice in one photo unless confirmed; the decision detail that
    records a confirmed exception."""
    by_person: dict[int, list[int]] = {root: list(yes)} if yes else {}
    for face_id, target in targets.items():
        if target != root:
            by_person.setdefault(target, []).append(face_id)
    for person, faces in by_person.items():
        conflicts = same_person_conflicts(session, faces, person)
        if conflicts and not confirm:
            name = session.scalar(select(Person.name).where(Person.id == person)) or "?"
            raise SamePersonInPhoto(person, name, conflicts)
        if conflicts:
            return {"same_photo_confirmed": True}
    return None
