"""Classifiers that learn who a face is, from plain arrays: no database, no web.

The surface is small on purpose:

- `build_training_set` chooses which labelled faces train which class (0 = "other");
- `EmbeddingHead` (on 128-d embeddings) and `CnnClassifier` (on 112x112 crops) are
  scikit-learn-shaped estimators: `fit(X, y, negatives=..., init_from=previous)`, `predict`,
  `predict_proba`, `predict_top_k`;
- `class_order` and `faceloop.learn.warmstart` state how a new model inherits from the last;
- `stratified_split`, `evaluate` and `choose_threshold` measure a model and pick the score below
  which its suggestions become "unknown";
- `save_model` / `load_model` keep models in a models folder without pickles.
"""

from faceloop.learn.cnn import CnnClassifier
from faceloop.learn.evaluate import choose_threshold, evaluate, stratified_split
from faceloop.learn.head import EmbeddingHead
from faceloop.learn.predict import top_k
from faceloop.learn.store import load_model, read_info, save_model
from faceloop.learn.training_set import OTHER, TrainingSet, build_training_set
from faceloop.learn.warmstart import class_order

__all__ = [
    "OTHER",
    "CnnClassifier",
    "EmbeddingHead",
    "TrainingSet",
    "build_training_set",
    "choose_threshold",
    "class_order",
    "evaluate",
    "load_model",
    "read_info",
    "save_model",
    "stratified_split",
    "top_k",
]
