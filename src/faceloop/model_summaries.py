"""The trained models as a person reads them: figures, parents, who is confused with whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from faceloop.db.models import Model, Person
from faceloop.workspace import Workspace


@dataclass(frozen=True)
class PersonFigures:
    person_id: int
    name: str
    support: int
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class ModelSummary:
    model_id: int
    kind: str
    parent_id: int | None
    people: int
    train_faces: int
    held_out_faces: int
    accuracy: float | None
    threshold: float
    coverage: float | None
    created_at: datetime
    #: (true name, predicted name, count), most frequent first
    confused: list[tuple[str, str, int]]
    per_person: list[PersonFigures]


def model_summaries(workspace: Workspace, limit: int = 100) -> list[ModelSummary]:
    """Newest first."""
    with workspace.sessions() as session:
        models = session.scalars(select(Model).order_by(Model.id.desc()).limit(limit)).all()
        names = dict(session.execute(select(Person.id, Person.name)).all())
    names[0] = "other"
    return [_summary(model, names) for model in models]


def _summary(model: Model, names: dict[int, str]) -> ModelSummary:
    metrics = model.metrics or {}
    threshold = metrics.get("threshold") or {}
    return ModelSummary(
        model_id=model.id,
        kind=model.kind,
        parent_id=model.parent_id,
        people=sum(1 for c in model.classes if c),
        train_faces=int(metrics.get("train_faces", 0)),
        held_out_faces=int(metrics.get("held_out_faces", 0)),
        accuracy=metrics.get("accuracy"),
        threshold=model.threshold,
        coverage=threshold.get("coverage"),
        created_at=model.created_at,
        confused=[
            (names.get(c["true"], "?"), names.get(c["predicted"], "?"), int(c["count"]))
            for c in metrics.get("confused", [])
        ],
        per_person=[
            PersonFigures(
                int(c["class"]),
                names.get(int(c["class"]), "?"),
                int(c["support"]),
                c["precision"],
                c["recall"],
            )
            for c in metrics.get("per_class", [])
        ],
    )
