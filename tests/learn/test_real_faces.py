"""The learning library on real dlib embeddings of real photos (ORL and known/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from faceloop.learn import (
    OTHER,
    EmbeddingHead,
    build_training_set,
    evaluate,
    load_model,
    save_model,
    stratified_split,
)


def test_orl_held_out_accuracy_and_threshold(orl_embeddings, tmp_path: Path) -> None:
    X, subjects = orl_embeddings
    # subjects 31-40 have only two labelled faces: not targets yet, so they are "other"
    labelled = np.ones(len(X), dtype=bool)
    for subject in range(31, 41):
        labelled[np.flatnonzero(subjects == subject)[2:]] = False
    X, subjects = X[labelled], subjects[labelled]

    chosen = build_training_set(subjects, min_per_class=4, other_ratio=0.3, seed=0)
    assert chosen.classes.tolist() == [OTHER, *range(1, 31)]
    X, y = X[chosen.indices], chosen.y
    train, test = stratified_split(y, test_fraction=0.25, seed=0)
    model = EmbeddingHead().fit(X[train], y[train])
    report = evaluate(y[test], model.predict_proba(X[test]), model.classes_)
    print(
        f"\nORL head: {len(train)} train, {len(test)} held out, top-1 {report['accuracy']:.3f}; "
        f"threshold {report['threshold']['threshold']:.3f} accepts "
        f"{report['threshold']['coverage']:.3f} at precision {report['threshold']['precision']:.3f}"
    )
    assert report["accuracy"] >= 0.95
    assert report["threshold"]["precision"] >= 0.99

    path = save_model(model, tmp_path, "orl", metrics=report)
    loaded, info = load_model(path)
    assert info.metrics == json.loads(json.dumps(report))
    assert np.array_equal(loaded.predict(X[test]), model.predict(X[test]))


def test_known_people_recognised_and_strangers_called_other(
    known_embeddings, orl_embeddings
) -> None:
    train, test = known_embeddings
    names = sorted(train)
    assert len(names) == 5 and len(test) == 3
    X = np.stack([v for name in names for v in train[name]])
    y = np.array([names.index(name) + 1 for name in names for _ in train[name]])
    # faces of ORL subjects 1-20 were marked unknown; 21-40 are strangers the model never saw
    orl, subjects = orl_embeddings
    X = np.concatenate([X, orl[subjects <= 20]])
    y = np.concatenate([y, np.zeros((subjects <= 20).sum(), dtype=np.int64)])
    chosen = build_training_set(y, min_per_class=1, other_ratio=0.3, seed=0)
    model = EmbeddingHead().fit(X[chosen.indices], chosen.y)

    for name, vector in test.items():
        assert model.predict(vector[None])[0] == names.index(name) + 1, name
    strangers = model.predict(orl[subjects > 20])
    print(f"\nknown: {np.mean(strangers == OTHER):.3f} of unseen ORL strangers called other")
    assert np.mean(strangers == OTHER) >= 0.9
