"""The learning loop on real photos: train, predict, confirm, refuse, identify."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from faceloop.db.models import Decision, FaceLabel, Image, ImageOrigin, Model, Person, Prediction
from faceloop.ingest.run import import_photos
from faceloop.labels.decisions import undo_batch
from faceloop.learning.identify import identify
from faceloop.learning.predict import predict
from faceloop.learning.train import NoModel, NotEnoughLabels, train
from faceloop.review.model_guesses import answer_page, confirm_page, next_suggestions
from faceloop.workspace import Workspace, init_workspace
from tests.conftest import DATA, needs_data

ORL = DATA / "orl"


@pytest.fixture(scope="module")
def orl_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """ORL with photos 1-5 of each person labelled by folder, and photos 6-8 unlabelled."""
    if not DATA.is_dir():
        pytest.fail(f"the shared test photos are not at {DATA}")
    ws = init_workspace(tmp_path_factory.mktemp("orl") / "ws")
    labelled = [ORL / f"s{s}" / f"{n}.pgm" for s in range(1, 41) for n in range(1, 6)]
    unlabelled = [ORL / f"s{s}" / f"{n}.pgm" for s in range(1, 41) for n in range(6, 9)]
    import_photos(ws, labelled, by_folder=True, workers=1)
    import_photos(ws, unlabelled, workers=1)
    yield ws
    ws.close()


def truth(ws: Workspace) -> dict[int, str]:
    """Face id -> the ORL subject folder its photo came from."""
    from faceloop.db.models import Face

    with ws.reader() as session:
        rows = session.execute(
            select(Face.id, ImageOrigin.path).join(
                ImageOrigin, ImageOrigin.image_id == Face.image_id
            )
        ).all()
    return {face_id: Path(path).parent.name for face_id, path in rows}


def labels(ws: Workspace) -> list[tuple]:
    with ws.reader() as session:
        return session.execute(
            select(
                FaceLabel.face_id, FaceLabel.verdict, FaceLabel.person_id, FaceLabel.decision_id
            ).order_by(FaceLabel.face_id)
        ).all()


@needs_data
def test_train_predict_and_confirm_on_orl(orl_workspace: Workspace) -> None:
    ws = orl_workspace
    with pytest.raises(NotEnoughLabels, match="no person has 30 labelled faces"):
        train(ws)
    before = labels(ws)
    with ws.reader() as session:
        decisions = session.scalar(select(func.count(Decision.id)))

    first = train(ws, min_per_class=3)
    assert first.people >= 38 and not first.warm_started
    assert first.accuracy >= 0.95
    result = predict(ws)
    assert result.faces >= 100

    assert labels(ws) == before, "predicting changed a human label"
    with ws.reader() as session:
        assert session.scalar(select(func.count(Decision.id))) == decisions
        top = session.execute(
            select(Prediction.face_id, Person.name)
            .join(Person, Person.id == Prediction.person_id)
            .where(Prediction.rank == 0)
        ).all()
    who = truth(ws)
    right = sum(who[face_id] == name for face_id, name in top)
    print(f"ORL unlabelled faces predicted right: {right}/{len(top)}")
    assert right / len(top) >= 0.95

    page = confirm_page(ws.reader(), order="confident")
    assert page is not None and 1 <= len(page.suggestions) <= 24
    assert len(page.reference_face_ids) == 3
    wrong = [s.face_id for s in page.suggestions if who[s.face_id] != page.person_name]
    accepted = [s.face_id for s in page.suggestions if s.face_id not in wrong]
    with ws.transaction() as session:
        batch = answer_page(session, page.person_id, accepted, wrong[:1] or accepted[-1:])
    with ws.reader() as session:
        origins = session.scalars(
            select(Decision.origin).where(Decision.batch == batch).distinct()
        ).all()
        assert origins == ["suggestion"]
    with ws.transaction() as session:
        undo_batch(session, batch)
    assert labels(ws) == before


@needs_data
def test_a_no_is_remembered_and_learned_from(orl_workspace: Workspace) -> None:
    ws = orl_workspace
    if not ws.reader().scalar(select(func.count(Model.id))):
        train(ws, min_per_class=3)
        predict(ws)
    with ws.reader() as session:
        first = next_suggestions(session, limit=1)[0]
    with ws.transaction() as session:
        answer_page(session, first.person_id, [], [first.face_id])
    with ws.reader() as session:
        offered = next_suggestions(session, person_id=first.person_id, limit=1000)
        assert first.face_id not in {s.face_id for s in offered}

    again = train(ws, min_per_class=3)
    assert again.warm_started
    with ws.reader() as session:
        model = session.get(Model, again.model_id)
        previous = session.get(Model, again.parent_id)
    assert model.metrics["refusals"] >= 1
    assert model.classes[: len(previous.classes)] == previous.classes, "a person lost her row"
    predict(ws)
    with ws.reader() as session:
        offered = next_suggestions(session, person_id=first.person_id, limit=1000)
        assert first.face_id not in {s.face_id for s in offered}


@needs_data
def test_cnn_kind_trains_and_predicts(orl_workspace: Workspace) -> None:
    result = train(orl_workspace, "cnn", min_per_class=3, params={"max_epochs": 2})
    assert result.kind == "cnn"
    assert (orl_workspace.models_dir / f"{result.model_id}.pt").exists()
    done = predict(orl_workspace, result.model_id)
    assert done.faces >= 100


@needs_data
def test_identify_two_known_people(tmp_path: Path) -> None:
    with init_workspace(tmp_path / "ws") as ws:
        with pytest.raises(NoModel):
            identify(ws, b"anything")
        import_photos(ws, [DATA / "known" / "train"], by_folder=True, workers=1)
        train(ws, min_per_class=2)
        photo = (DATA / "group" / "face_recognition_obama_and_biden.jpg").read_bytes()
        found = identify(ws, photo)
        names = sorted(f.name for f in found.faces)
        assert names == ["biden", "obama", "unknown"]
        for face in found.faces:
            assert len(face.candidates) == 5
            assert face.candidates == sorted(face.candidates, key=lambda c: -c.score)
        strict = identify(ws, photo, threshold=1.01)
        assert {f.name for f in strict.faces} == {"unknown"}
        with ws.reader() as session:
            assert session.scalar(select(func.count(Image.id))) == 9
