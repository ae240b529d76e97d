"""The warm-start rule: how a new model inherits from the last one.

Retraining from the last model instead of from scratch is what keeps the label-train-confirm loop
quick: most people are already learned, and only the newcomers and the latest corrections need
steps. The rule is deliberately mechanical so that it can be tested and reasoned about:

- the class list of the new model is the previous list, in the previous order, with people who
  dropped out removed and new people appended in ascending id order (class 0, "other", stays
  first). People are removed rather than kept because a class with no training faces keeps
  attracting predictions from its stale weights; a person who comes back gets a fresh row;
- every parameter whose name and shape match is copied bit for bit, except the output layer's;
- the output layer is matched by class id, never by shape: each person who is in both models keeps
  her row (and bias) exactly, and rows of new people keep their fresh initialisation. (Matching by
  shape alone would be wrong: one person out and one in gives the same shape, but the rows would
  then mean different people.)
- everything else keeps its fresh initialisation. The optimiser state is not carried over.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from faceloop.learn.training_set import OTHER


def class_order(previous_classes: np.ndarray, wanted_classes: np.ndarray) -> np.ndarray:
    """The class list of a warm-started model: 0, then the previous people still wanted in their
    previous order, then new people in ascending id order."""
    previous = [int(c) for c in np.asarray(previous_classes).ravel()]
    wanted = {int(c) for c in np.asarray(wanted_classes).ravel()}
    if len(set(previous)) != len(previous):
        raise ValueError("previous_classes has duplicates")
    kept = [c for c in previous if c in wanted and c != OTHER]
    new = sorted(wanted - set(kept) - {OTHER})
    return np.array([OTHER, *kept, *new], dtype=np.int64)


@dataclass
class WarmStartReport:
    """What was inherited, so that a training run can say so and a test can check it."""

    copied: list[str] = field(default_factory=list)
    remapped: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    kept_classes: list[int] = field(default_factory=list)
    new_classes: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def warm_start(
    module: nn.Module,
    previous_state: Mapping[str, torch.Tensor],
    previous_classes: np.ndarray,
    classes: np.ndarray,
    output_names: Collection[str],
) -> WarmStartReport:
    """Copy into the freshly initialised `module` what it inherits from `previous_state`.

    `output_names` are the parameters whose first dimension runs over classes (the last layer's
    weight and bias); their rows are carried over by class id.
    """
    previous_classes = np.asarray(previous_classes, dtype=np.int64)
    classes = np.asarray(classes, dtype=np.int64)
    previous_row = {int(c): i for i, c in enumerate(previous_classes)}
    rows = [(i, previous_row[int(c)]) for i, c in enumerate(classes) if int(c) in previous_row]
    report = WarmStartReport(
        kept_classes=[int(classes[i]) for i, _ in rows],
        new_classes=[int(c) for c in classes if int(c) not in previous_row],
    )
    new_rows = torch.tensor([i for i, _ in rows], dtype=torch.long)
    old_rows = torch.tensor([j for _, j in rows], dtype=torch.long)

    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            old = previous_state.get(name)
            if name in output_names:
                if (
                    old is not None
                    and rows
                    and tensor.shape[0] == len(classes)
                    and old.shape[0] == len(previous_classes)
                    and old.shape[1:] == tensor.shape[1:]
                ):
                    tensor[new_rows] = old[old_rows].to(tensor.dtype)
                    report.remapped.append(name)
                else:
                    report.fresh.append(name)
            elif old is not None and old.shape == tensor.shape and old.dtype == tensor.dtype:
                tensor.copy_(old)
                report.copied.append(name)
            else:
                report.fresh.append(name)
    return report
