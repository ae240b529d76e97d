"""Saving and loading trained models as two files in a models folder.

`<id>.pt` holds only the network's tensors (written by `torch.save`, read back with
`weights_only=True`, so loading a model file never runs code from it); `<id>.json` holds
everything else a person or the database wants to read without torch: kind, class list,
hyper-parameters, metrics, training record and the parent model. The JSON is written last, so a
model whose JSON exists is complete.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import torch

from faceloop.learn.cnn import CnnClassifier
from faceloop.learn.estimator import TorchClassifier
from faceloop.learn.head import EmbeddingHead

FORMAT = 1
KINDS: dict[str, type[TorchClassifier]] = {"head": EmbeddingHead, "cnn": CnnClassifier}
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class ModelInfo:
    model_id: str
    kind: str
    classes: list[int]
    input_shape: list[int]
    params: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    created: str = ""
    format: int = FORMAT


class SavedModel(NamedTuple):
    estimator: TorchClassifier
    info: ModelInfo


def _write_atomically(path: Path, write) -> None:
    partial = path.with_name(path.name + ".partial")
    write(partial)
    os.replace(partial, path)


def save_model(
    estimator: TorchClassifier,
    models_dir: Path,
    model_id: str,
    *,
    parent_id: str | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write a fitted estimator as `<models_dir>/<model_id>.pt` and `.json`; returns the JSON
    path. `metrics` must be JSON-serialisable (as `faceloop.learn.evaluate` returns)."""
    if not _MODEL_ID.match(model_id):
        raise ValueError(f"unusable model id {model_id!r}: letters, digits, '_', '.', '-' only")
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    info = ModelInfo(
        model_id=model_id,
        kind=estimator.kind,
        classes=[int(c) for c in estimator.classes_],
        input_shape=list(estimator.input_shape_),
        params=estimator.get_params(),
        metrics=metrics or {},
        training={
            "n_iter": getattr(estimator, "n_iter_", None),
            "n_steps": getattr(estimator, "n_steps_", None),
            "history": getattr(estimator, "history_", []),
            "warm_start": getattr(estimator, "warm_start_", None),
        },
        parent_id=parent_id,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    text = json.dumps(asdict(info), indent=1, allow_nan=False)
    state = estimator.state_dict()
    _write_atomically(models_dir / f"{model_id}.pt", lambda p: torch.save(state, p))
    json_path = models_dir / f"{model_id}.json"
    _write_atomically(json_path, lambda p: p.write_text(text, encoding="utf-8"))
    return json_path


def read_info(path: Path) -> ModelInfo:
    """The JSON half of a saved model (`<id>.json` or its `<id>.pt`), without loading weights."""
    data = json.loads(Path(path).with_suffix(".json").read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown model file format {data.get('format')!r}")
    return ModelInfo(**data)


def load_model(path: Path) -> SavedModel:
    """Rebuild a saved estimator, ready to predict or to warm-start the next one."""
    info = read_info(path)
    if info.kind not in KINDS:
        raise ValueError(f"{path}: unknown model kind {info.kind!r}")
    state = torch.load(Path(path).with_suffix(".pt"), map_location="cpu", weights_only=True)
    estimator = KINDS[info.kind](**info.params)
    estimator.load_state(info.classes, tuple(info.input_shape), state)
    for name in ("n_iter", "n_steps", "history", "warm_start"):
        setattr(estimator, f"{name}_", info.training.get(name))
    return SavedModel(estimator, info)
