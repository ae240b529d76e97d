"""The trained models as a person reads them: figures, parents, who is confused with whom."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from faceloop.db.models import Model, Person
from faceloop.jsontypes import UtcTime, row_of
from faceloop.learn.calibration import CONFIDENT, Calibration
from faceloop.workspace import Workspace

Confusion = row_of(
    tuple[str, str, int], "[true name, predicted name, count]", "string", "string", "integer"
)


@dataclass(frozen=True)
class PersonFigures:
    person_id: int
    name: str
    support: int
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class CalibrationStep:
    """Held-out guesses scoring from `low` to `high` were right with probability `rate`
    (shrunk as `learn/calibration.py` says), measured on `count` of them."""

    low: float
    high: float
    rate: float
    count: int


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
    created_at: UtcTime
    #: (true name, predicted name, count), most frequent first
    confused: list[Confusion]
    per_person: list[PersonFigures]
    #: the held-out precision at each score, lowest scores first; empty for a model stored
    #: before calibrations were (its guesses are never "likely")
    calibration: list[CalibrationStep] = field(default_factory=list)
    #: the chance from which a guess is "likely" and pre-checked
    confident: float = CONFIDENT


def model_summaries(workspace: Workspace, limit: int = 100) -> list[ModelSummary]:
    """Newest first."""
    with workspace.reader() as session:
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
        calibration=_steps(Calibration.from_json(metrics.get("calibration"))),
    )


def _steps(calibration: Calibration | None) -> list[CalibrationStep]:
    if calibration is None or not calibration.edges:
        return []
    edges = [*calibration.edges, 1.0]
    return [
        CalibrationStep(
            round(max(0.0, edges[i]), 4),
            round(max(edges[i], edges[i + 1]), 4),
            calibration.rates[i],
            calibration.counts[i],
        )
        for i in range(len(calibration.rates))
    ]
