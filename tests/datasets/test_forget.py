"""`faceloop forget`: a person's faces, crops, decisions, predictions and models leave the
workspace and every later export, the name is recorded, and an import of them is refused.
Real ORL photos, a real trained model."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from faceloop.cli import app
from faceloop.datasets.export import DatasetOptions, export_workspace, plan_export
from faceloop.datasets.forget import UnknownPerson, find_person, forget_person, plan_forget
from faceloop.datasets.importing import import_dataset
from faceloop.db.models import (
    Decision,
    Face,
    FaceLabel,
    ForgottenPerson,
    Image,
    Model,
    Person,
    PersonEvent,
    Prediction,
)
from faceloop.labels.decisions import REJECT, decide, undo
from faceloop.labels.person_ops import add_alias, merge_people
from faceloop.learning.predict import guess, predict, write_guesses
from faceloop.learning.train import train
from tests.datasets.test_export import face_ids_of


def person_id(ws, name: str) -> int:
    with ws.reader() as session:
        return session.scalar(select(Person.id).where(Person.name == name))


def test_forget_removes_everything_of_the_person(orl_workspace, tmp_path) -> None:
    ws = orl_workspace
    ada, dmitri, cleo = (person_id(ws, n) for n in ("Ada", "Dmitri", "Cleo"))
    ada_faces = face_ids_of(ws, "Ada") + face_ids_of(ws, "Dmitri")
    cleo_face = face_ids_of(ws, "Cleo")[0]
    bob_face = face_ids_of(ws, "ボブ")[0]
    with ws.transaction() as session:
        add_alias(session, ada, "エイダ", None)
        merge_people(session, dmitri, ada, None)
        # "Cleo's face is not Ada", withdrawn and said again; and one of ボブ's faces made
        # unlabelled, so that the model has something to predict
        refusal = decide(session, cleo_face, REJECT, person_id=ada)
        undo(session, refusal.id)
        decide(session, cleo_face, REJECT, person_id=ada)
        (first,) = session.scalars(select(Decision.id).where(Decision.face_id == bob_face))
        undo(session, first)
    # an export made before is left as it is
    export_workspace(ws, tmp_path / "before", DatasetOptions(min_per_class=3, other_ratio=0.0))
    trained = train(ws, "head", min_per_class=3, params={"max_epochs": 5})
    predict(ws, trained.model_id)
    assert len(list(ws.models_dir.glob(f"{trained.model_id}.*"))) == 2
    with ws.reader() as session:
        keys = session.execute(
            select(Face.chip_key, Face.crop_key, Image.sha256)
            .join(Image, Image.id == Face.image_id)
            .where(Face.id.in_(ada_faces))
        ).all()
        assert session.scalar(select(func.count()).select_from(Prediction)) > 0
    blob_keys = {key for row in keys for key in row}
    assert all(ws.blobs.exists(key) for key in blob_keys)

    assert find_person(ws, "えいだ") == ada  # an alias, in hiragana
    plan = plan_forget(ws, ada)
    assert (plan.name, plan.faces, plan.models) == ("Ada", 12, 1)
    assert set(plan.aliases) == {"エイダ", "Dmitri"}

    result = forget_person(ws, ada, ws.owner_id())
    assert (result.faces, result.photos, result.models) == (12, 12, 1)
    assert result.decisions == 12 + 2  # their labels, and the two "not Ada" on Cleo's face
    assert result.blobs == len(blob_keys) == 36
    with ws.reader() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Person).where(Person.id.in_((ada, dmitri)))
            )
            == 0
        )
        assert (
            session.scalar(select(func.count()).select_from(Face).where(Face.id.in_(ada_faces)))
            == 0
        )
        assert (
            session.scalar(
                select(func.count()).select_from(Decision).where(Decision.person_id == ada)
            )
            == 0
        )
        assert (
            session.scalar(
                select(func.count()).select_from(Decision).where(Decision.face_id == cleo_face)
            )
            == 1
        )
        assert (
            session.scalar(select(FaceLabel.person_id).where(FaceLabel.face_id == cleo_face))
            == cleo
        )
        assert session.scalar(select(func.count()).select_from(Prediction)) == 0
        assert session.scalar(select(func.count()).select_from(Model)) == 0
        assert (
            session.scalar(
                select(func.count()).select_from(PersonEvent).where(PersonEvent.person_id == ada)
            )
            == 0
        )
        record = session.scalar(select(ForgottenPerson))
        assert record.name == "Ada" and set(record.aliases) == {"エイダ", "Dmitri"}
        assert record.user_id == ws.owner_id()
        remaining = session.scalar(select(func.count()).select_from(Face))
    assert remaining == 24 - 12
    assert not any(ws.blobs.exists(key) for key in blob_keys)
    assert list(ws.models_dir.glob(f"{trained.model_id}.*")) == []

    after = plan_export(ws, DatasetOptions(min_per_class=3, other_ratio=0.0))
    assert {i.name for i in after.labels_info.values()} == {"ボブ", "Cleo"}
    assert (tmp_path / "before" / "labels.json").is_file()
    # the dataset made before holds Ada (with Dmitri's faces): importing it refuses them
    summary = import_dataset(ws, tmp_path / "before")
    refused = [p for p in summary.problems if "Ada was forgotten on request" in p.reason]
    assert len(refused) == 12 and summary.already == 11 and summary.added == 0


def test_a_photo_with_other_people_in_it_is_kept(orl_workspace) -> None:
    ws = orl_workspace
    with ws.transaction() as session:
        # one of Cleo's faces moved into a photo of ボブ's, as in a photo of the two
        bob_face, cleo_face = face_ids_of(ws, "ボブ")[0], face_ids_of(ws, "Cleo")[0]
        shared = session.get(Face, bob_face).image_id
        lonely = session.get(Face, cleo_face).image_id
        session.get(Face, cleo_face).image_id = shared
        session.delete(session.get(Image, lonely))
    result = forget_person(ws, person_id(ws, "ボブ"))
    assert result.photos_kept == 1 and result.photos == 5
    assert any("kept" in note for note in result.notes)
    with ws.reader() as session:
        assert session.get(Image, shared) is not None
        assert session.get(Face, cleo_face) is not None
        assert session.get(Face, bob_face) is None
        sha = session.get(Image, shared).sha256
    assert ws.blobs.exists(sha)


def test_the_forget_command(orl_workspace) -> None:
    runner = CliRunner(env={"COLUMNS": "300"})
    base = ["--workspace", str(orl_workspace.root)]
    unknown = runner.invoke(app, ["forget", "Nobody", *base])
    assert unknown.exit_code == 1 and "no person called 'Nobody'" in unknown.output
    declined = runner.invoke(app, ["forget", "Cleo", *base], input="n\n")
    assert declined.exit_code == 1 and "Nothing was changed" in declined.output
    assert "Cleo with 6 labelled faces" in declined.output
    assert person_id(orl_workspace, "Cleo") is not None
    done = runner.invoke(app, ["forget", "cleo", "--yes", *base])
    assert done.exit_code == 0, done.output
    assert "Forgot Cleo: 6 faces" in done.output
    assert person_id(orl_workspace, "Cleo") is None
    again = runner.invoke(app, ["forget", "Cleo", "--yes", *base])
    assert again.exit_code == 1 and "no person called 'Cleo'" in again.output
    with pytest.raises(UnknownPerson, match="#999"):
        find_person(orl_workspace, "#999")


def test_forgetting_while_a_model_guesses_writes_none_of_its_guesses(
    orl_workspace,
) -> None:
    ws = orl_workspace
    cleo = person_id(ws, "Cleo")
    with ws.transaction() as session:
        for face in face_ids_of(ws, "ボブ")[:3]:
            (first,) = session.scalars(select(Decision.id).where(Decision.face_id == face))
            undo(session, first)
    trained = train(ws, "head", min_per_class=3, params={"max_epochs": 5})
    with ws.reader() as session:
        model = session.get(Model, trained.model_id)
    guesses = guess(ws, model)
    assert cleo in {int(p) for _, people, _ in guesses for p in people.ravel()}
    # a model that knew the person forgotten goes with them: its guesses are not written
    forget_person(ws, cleo, ws.owner_id())
    write_guesses(ws, trained.model_id, guesses)
    with ws.reader() as session:
        assert session.scalar(select(func.count()).select_from(Prediction)) == 0
