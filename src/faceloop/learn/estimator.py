"""What the two classifiers share: the scikit-learn shape, the training loop, warm start and
negative feedback.

Subclasses only say how to build their network and how to turn a batch of inputs into a tensor;
everything that must behave the same for both kinds (class order, the loss, the warm-start rule,
early stopping, batched prediction, determinism) lives here once.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from faceloop.learn.predict import top_k
from faceloop.learn.training_set import OTHER
from faceloop.learn.warmstart import class_order, warm_start

Negatives = tuple[np.ndarray, np.ndarray]


def refusal_loss(logits: torch.Tensor, refused: torch.Tensor) -> torch.Tensor:
    """-log(1 - p_refused(x)) per sample: zero when the model already gives the refused class no
    probability, large when it was sure. Computed from logits as
    logsumexp(all) - logsumexp(all but the refused class), which stays finite as p -> 1."""
    masked = logits.clone()
    masked[torch.arange(len(refused)), refused] = -math.inf
    return torch.logsumexp(logits, dim=1) - torch.logsumexp(masked, dim=1)


class TorchClassifier:
    """Base of faceloop's classifiers. Not used directly."""

    kind: ClassVar[str]
    #: parameters whose first dimension runs over classes; warm start maps their rows by class id
    output_names: ClassVar[tuple[str, ...]]

    seed: int
    max_epochs: int
    batch_size: int | None
    lr: float
    weight_decay: float
    negative_weight: float
    n_iter_no_change: int
    tol: float

    # -- what subclasses provide -------------------------------------------------------------

    def _build(self, n_classes: int) -> nn.Module:
        raise NotImplementedError

    def _inputs(self, X: np.ndarray, train: bool, generator: torch.Generator) -> torch.Tensor:
        """A batch of raw inputs as the network's input tensor (augmented when training)."""
        raise NotImplementedError

    def _check_inputs(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- scikit-learn shape ------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments, so that a saved model can be rebuilt exactly."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        classes: np.ndarray | None = None,
        negatives: Negatives | None = None,
        init_from: TorchClassifier | None = None,
        eval_set: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Self:
        """Train on faces `X` labelled with class ids `y` (person ids; 0 is "other").

        `classes` fixes the class list (it must hold every id in `y`; 0 is always added);
        by default it is the ids found in `y`. `negatives=(X_neg, refused_ids)` are faces that are
        NOT the given person: they add the loss -log(1 - p_refused) weighted by
        `negative_weight`; refusals of a class the model does not have are ignored.
        `init_from` is the previous model: see `faceloop.learn.warmstart`. `eval_set` is only
        watched, never trained on: its accuracy is recorded in `history_` after every epoch.

        Training runs for `max_epochs`, or stops sooner once the mean training loss has failed to
        improve by `tol` for `n_iter_no_change` epochs (scikit-learn's rule). `batch_size=None`
        takes about a sixteenth of the data (64 to 1,024), so that small sets still get enough
        steps per epoch and large ones use efficient matrix products.
        """
        self.__dict__.pop("input_shape_", None)
        X = self._check_inputs(X)
        y = np.asarray(y, dtype=np.int64).ravel()
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        wanted = np.union1d(np.unique(y), [OTHER]) if classes is None else np.asarray(classes)
        if init_from is not None:
            if init_from.kind != self.kind:
                raise ValueError(f"cannot warm-start a {self.kind} from a {init_from.kind}")
            ordered = class_order(init_from.classes_, wanted)
        else:
            ordered = class_order(np.array([OTHER]), wanted)
        missing = np.setdiff1d(y, ordered)
        if len(missing):
            raise ValueError(f"y holds ids missing from classes: {missing[:10].tolist()}")
        if len(y) == 0 or len(ordered) < 2:
            raise ValueError("nothing to learn: no labelled faces, or no person besides other")
        self.classes_ = ordered
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        targets = self._class_index(y)

        if negatives is not None:
            X_neg = self._check_inputs(negatives[0])
            refused_ids = np.asarray(negatives[1], dtype=np.int64).ravel()
            known = np.isin(refused_ids, self.classes_)
            X_neg, refused = X_neg[known], self._class_index(refused_ids[known])
        else:
            X_neg, refused = X[:0], np.zeros(0, dtype=np.int64)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            generator = torch.Generator().manual_seed(self.seed)
            module = self._build(len(self.classes_))
            self.warm_start_ = None
            if init_from is not None:
                report = warm_start(
                    module,
                    init_from.module_.state_dict(),
                    init_from.classes_,
                    self.classes_,
                    self.output_names,
                )
                self.warm_start_ = report.to_dict()
            self.module_ = module
            self._train(X, targets, X_neg, refused, eval_set, generator)
        self.module_.eval()
        return self

    def _class_index(self, ids: np.ndarray) -> np.ndarray:
        """Column of each class id in `classes_` (which warm start leaves unsorted)."""
        sorter = np.argsort(self.classes_)
        return sorter[np.searchsorted(self.classes_, ids, sorter=sorter)].astype(np.int64)

    def _train(
        self,
        X: np.ndarray,
        targets: np.ndarray,
        X_neg: np.ndarray,
        refused: np.ndarray,
        eval_set: tuple[np.ndarray, np.ndarray] | None,
        generator: torch.Generator,
    ) -> None:
        module = self.module_
        optimiser = torch.optim.Adam(
            module.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )
        n_pos, n_all = len(X), len(X) + len(X_neg)
        targets_t = torch.from_numpy(targets)
        refused_t = torch.from_numpy(refused)
        watch = self._watcher(eval_set)
        self.history_: list[dict[str, float | int | None]] = []
        if watch is not None:
            self.history_.append({"epoch": 0, "step": 0, "loss": None, "eval_accuracy": watch()})
        batch_size = self.batch_size or min(1024, max(64, math.ceil(n_all / 16)))
        steps, epochs, best, stale = 0, 0, math.inf, 0
        for epoch in range(1, self.max_epochs + 1):
            epochs = epoch
            module.train()
            order = torch.randperm(n_all, generator=generator).numpy()
            total = 0.0
            for start in range(0, n_all, batch_size):
                batch = order[start : start + batch_size]
                pos, neg = batch[batch < n_pos], batch[batch >= n_pos] - n_pos
                raw = X[pos] if len(neg) == 0 else np.concatenate([X[pos], X_neg[neg]])
                logits = module(self._inputs(raw, True, generator))
                loss = F.cross_entropy(logits[: len(pos)], targets_t[pos], reduction="sum")
                if len(neg):
                    refusal = refusal_loss(logits[len(pos) :], refused_t[neg])
                    loss = loss + self.negative_weight * refusal.sum()
                loss = loss / len(batch)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                steps += 1
                total += float(loss.detach()) * len(batch)
            mean = total / n_all
            entry: dict[str, float | int | None] = {"epoch": epoch, "step": steps, "loss": mean}
            if watch is not None:
                entry["eval_accuracy"] = watch()
            self.history_.append(entry)
            if mean < best - self.tol:
                best, stale = mean, 0
            else:
                stale += 1
                if stale >= self.n_iter_no_change:
                    break
        self.n_iter_ = epochs
        self.n_steps_ = steps

    def _watcher(
        self, eval_set: tuple[np.ndarray, np.ndarray] | None
    ) -> Callable[[], float] | None:
        if eval_set is None:
            return None
        X_eval = self._check_inputs(eval_set[0])
        y_eval = np.asarray(eval_set[1], dtype=np.int64).ravel()

        def accuracy() -> float:
            return float(np.mean(self.predict(X_eval) == y_eval))

        return accuracy

    # -- prediction --------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet")

    def _logit_batches(self, X: np.ndarray, batch_size: int):
        self._check_fitted()
        X = self._check_inputs(X)
        was_training = self.module_.training
        self.module_.eval()
        generator = torch.Generator().manual_seed(0)
        try:
            with torch.inference_mode():
                for start in range(0, len(X), batch_size):
                    yield self.module_(
                        self._inputs(X[start : start + batch_size], False, generator)
                    )
        finally:
            self.module_.train(was_training)

    def predict_proba(self, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """(N, n_classes) float32 probabilities, columns in the order of `classes_`."""
        parts = [torch.softmax(z, dim=1).numpy() for z in self._logit_batches(X, batch_size)]
        if not parts:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        return np.concatenate(parts)

    def predict(self, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """The most likely class id of each face (0 = "other")."""
        parts = [z.argmax(dim=1).numpy() for z in self._logit_batches(X, batch_size)]
        index = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return self.classes_[index]

    def predict_top_k(
        self, X: np.ndarray, k: int = 5, batch_size: int = 4096
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best class ids and probabilities of each face, computed batch by batch so that
        predicting every unlabelled face never holds an (N, n_classes) matrix."""
        ids, scores = [], []
        for z in self._logit_batches(X, batch_size):
            i, s = top_k(torch.softmax(z, dim=1).numpy(), self.classes_, k)
            ids.append(i)
            scores.append(s)
        if not ids:
            k = min(k, len(self.classes_))
            return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
        return np.concatenate(ids), np.concatenate(scores)

    # -- persistence -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, torch.Tensor]:
        self._check_fitted()
        return {k: v.detach().clone() for k, v in self.module_.state_dict().items()}

    def load_state(
        self,
        classes: np.ndarray,
        input_shape: tuple[int, ...],
        state: dict[str, torch.Tensor],
    ) -> Self:
        """Rebuild the fitted network from a saved class list, input shape and state dict."""
        self.classes_ = np.asarray(classes, dtype=np.int64)
        self.input_shape_ = tuple(int(d) for d in input_shape)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            module = self._build(len(self.classes_))
        module.load_state_dict(state, strict=True)
        module.eval()
        self.module_ = module
        return self
