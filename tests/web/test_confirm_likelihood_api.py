"""Confirm pages pre-check only what is likely, and count the same faces whichever source a
view came from (issue 12, items 4 and 11). A real workspace: ORL photos with a trained head."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from faceloop.db.models import Model
from faceloop.ingest.run import import_photos
from faceloop.learn.calibration import CONFIDENT, fit
from faceloop.web.app import WebSettings, create_app
from faceloop.workspace import open_workspace
from tests.web.learning_workspace import ORL
from tests.web.responses import ok


@pytest.fixture
def root(tmp_path: Path, learning_template: Path) -> Path:
    shutil.copytree(learning_template, tmp_path / "ws")
    return tmp_path / "ws"


@contextmanager
def client(root: Path) -> Iterator[TestClient]:
    """A fresh process's view: a model's stored calibration is read once per process."""
    with (
        open_workspace(root) as ws,
        TestClient(create_app(ws, WebSettings(allowed_hosts={"testserver"}))) as api,
    ):
        yield api


def set_calibration(root: Path, calibration: dict | None) -> None:
    with open_workspace(root) as ws, ws.transaction() as session:
        model = session.scalar(select(Model).order_by(Model.id.desc()))
        metrics = {k: v for k, v in model.metrics.items() if k != "calibration"}
        if calibration is not None:
            metrics["calibration"] = calibration
        session.execute(update(Model).where(Model.id == model.id).values(metrics=metrics))


def test_a_guess_is_pre_checked_only_when_its_calibrated_chance_is_sure(root) -> None:
    with client(root) as api:
        page = ok(api.get("/api/v1/confirm?mode=page&source=model"))
        items = page["items"]
        assert items and all(i["source"] == "model" for i in items)
        # the model measured itself on a handful of held-out faces: nothing it says is sure
        assert all(i["probability"] is not None and i["probability"] < CONFIDENT for i in items)
        assert not any(i["checked"] for i in items)
    # a model whose held-out guesses above 0.5 were right 300 times in 300
    cut = float(np.median([i["score"] for i in items]))
    scores = np.concatenate([np.full(300, cut), np.full(300, cut / 2)])
    right = np.concatenate([np.ones(300, dtype=bool), np.arange(300) % 2 == 0])
    set_calibration(root, fit(scores, right).to_json())
    with client(root) as api:
        items = ok(api.get("/api/v1/confirm?mode=page&source=model"))["items"]
        checked = {i["face_id"] for i in items if i["checked"]}
        assert checked == {i["face_id"] for i in items if i["score"] >= cut}
        assert 0 < len(checked) < len(items) or len(checked) == len(items)
        assert all(i["probability"] >= CONFIDENT for i in items if i["checked"])
        # likeliest first
        chances = [i["probability"] for i in items]
        assert chances == sorted(chances, reverse=True)
    # a model stored before calibrations (an old workspace): nothing is pre-checked
    set_calibration(root, None)
    with client(root) as api:
        items = ok(api.get("/api/v1/confirm?mode=mixed&source=model"))["items"]
        assert items and all(i["probability"] is None and not i["checked"] for i in items)


def test_look_alikes_within_the_reach_stay_pre_checked(root) -> None:
    with client(root) as api:
        for reach in ("sure", "close", "wide"):
            view = ok(api.get(f"/api/v1/confirm?mode=mixed&source=nearest&reach={reach}"))
            assert view["items"]
            assert all(i["checked"] for i in view["items"])
            assert all(0 < i["probability"] < 1 for i in view["items"])


def test_one_face_at_a_time_counts_the_same_faces_as_the_page_turns_source(root) -> None:
    # photos imported after the model guessed: look-alikes of labelled faces, no guesses yet
    with open_workspace(root) as ws:
        later = [ORL / f"s{s}" / f"{n}.pgm" for s in range(1, 5) for n in (9, 10)]
        assert import_photos(ws, later, workers=1).faces == len(later)
    with client(root) as api:
        base = "/api/v1/confirm?mode=one&limit=24"
        first = ok(api.get(base))
        assert first["source"] == "model"
        held = [i["face_id"] for i in first["items"]]
        seen = [first["pending"]]
        while True:
            view = ok(api.get(base + "".join(f"&exclude={f}" for f in held)))
            if not view["items"]:
                break
            seen.append(view["pending"])
            held += [i["face_id"] for i in view["items"]]
            if view["source"] == "nearest":
                break
        assert view["source"] == "nearest", "the look-alikes follow the model's guesses"
        # nothing was answered: every view counts the same faces waiting
        assert len(set(seen)) == 1, seen
        assert seen[0] >= len(set(held))


def test_the_models_page_charts_each_models_calibration(root) -> None:
    with client(root) as api:
        shown = api.get("/models", headers={"accept": "text/html"})
        assert shown.status_code == 200
        assert 'class="calibration"' in shown.text
        assert shown.text.count('class="step') >= 1
        assert "held-out guesses" in shown.text
    set_calibration(root, None)
    with client(root) as api:
        shown = api.get("/models", headers={"accept": "text/html"}).text
        assert 'class="step' not in shown and "No calibration stored with this model" in shown
