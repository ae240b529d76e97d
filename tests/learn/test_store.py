from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from faceloop.learn import CnnClassifier, EmbeddingHead, load_model, read_info, save_model
from faceloop.testing.faces import synthetic_crops, synthetic_embeddings


def test_head_round_trip_predicts_the_same_and_keeps_its_record(tmp_path: Path) -> None:
    X, y = synthetic_embeddings(5, 10)
    model = EmbeddingHead(scale=12.0, max_epochs=4, seed=3).fit(X, y)
    metrics = {"accuracy": 0.97, "threshold": {"threshold": 0.8, "precision": 0.99}}
    path = save_model(model, tmp_path / "models", "m2", parent_id="m1", metrics=metrics)

    assert path == tmp_path / "models" / "m2.json"
    assert (tmp_path / "models" / "m2.pt").is_file()
    assert not list((tmp_path / "models").glob("*.partial"))
    info = json.loads(path.read_text())
    assert info["kind"] == "head"
    assert info["classes"] == [0, 1, 2, 3, 4, 5]
    assert info["params"]["scale"] == 12.0
    assert info["parent_id"] == "m1"
    assert info["metrics"] == metrics
    assert info["training"]["n_iter"] == 4

    loaded, saved_info = load_model(path)
    assert saved_info == read_info(path)
    assert isinstance(loaded, EmbeddingHead)
    assert loaded.get_params() == model.get_params()
    assert np.array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_loaded_model_can_warm_start_the_next(tmp_path: Path) -> None:
    X, y = synthetic_embeddings(4, 10)
    path = save_model(EmbeddingHead(max_epochs=3).fit(X, y), tmp_path, "first")
    previous, _ = load_model(path)
    y[y == 4] = 9
    model = EmbeddingHead(max_epochs=0).fit(X, y, init_from=previous)
    assert model.classes_.tolist() == [0, 1, 2, 3, 9]
    assert model.warm_start_["kept_classes"] == [0, 1, 2, 3]


def test_cnn_round_trip(tmp_path: Path) -> None:
    crops, labels = synthetic_crops(2, 2)
    model = CnnClassifier(max_epochs=1, batch_size=4).fit(crops, labels)
    loaded, info = load_model(save_model(model, tmp_path, "cnn-1"))
    assert info.kind == "cnn" and isinstance(loaded, CnnClassifier)
    np.testing.assert_array_equal(loaded.predict_proba(crops), model.predict_proba(crops))


def test_loading_never_unpickles_objects(tmp_path: Path) -> None:
    X, y = synthetic_embeddings(2, 4)
    path = save_model(EmbeddingHead(max_epochs=1).fit(X, y), tmp_path, "evil")

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    torch.save({"out.weight": Exploit()}, tmp_path / "evil.pt", pickle_protocol=2)
    with pytest.raises(pickle.UnpicklingError):
        load_model(path)
    assert not (tmp_path / "pwned").exists()


def test_unsafe_ids_and_unknown_formats_are_refused(tmp_path: Path) -> None:
    X, y = synthetic_embeddings(2, 4)
    model = EmbeddingHead(max_epochs=1).fit(X, y)
    for bad in ("../up", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="model id"):
            save_model(model, tmp_path, bad)
    path = save_model(model, tmp_path, "ok")
    info = json.loads(path.read_text())
    info["format"] = 99
    path.write_text(json.dumps(info))
    with pytest.raises(ValueError, match="format"):
        load_model(path)
