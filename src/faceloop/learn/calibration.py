"""The probability that a suggestion is right, from its score, fitted on held-out answers.

A model's softmax score and a look-alike's distance are on different scales, and neither is a
probability: a softmax of 0.95 can be wrong one time in five. Fitted on (score, right) pairs the
suggestion was not trained on, `fit` gives a step function that only rises with the score
(isotonic regression by pooling adjacent violators). Each step's rate is shrunk towards one half
by a uniform Beta prior, (right + 1) / (n + 2), and the steps are pooled again until the shrunk
rates rise too: a step of five right answers reads as 86%, not 100%, and reaching 99% takes at
least 98 right answers in a row at that score. So a calibration fitted on few answers is
conservative by itself.

A calibration is plain JSON (`to_json` / `from_json`), so a model stores its own in its metrics.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

import numpy as np

#: the probability from which a suggestion is "likely" (see `faceloop.review.likelihood`): the
#: pages pre-check it, and the model pages say from which chance a guess is
CONFIDENT = 0.99


@dataclass(frozen=True)
class Calibration:
    """A rising step function: scores from `edges[i]` up (to the next edge) are right with
    probability `rates[i]`, measured on `counts[i]` answers. `higher_is_surer` False is for
    distances: the function is then applied to the negated value."""

    edges: tuple[float, ...]
    rates: tuple[float, ...]
    counts: tuple[int, ...]
    higher_is_surer: bool = True

    def probability(self, scores: np.ndarray | float) -> np.ndarray:
        """The estimated probability that suggestions with these scores are right. Between
        two edges a score gets the lower step's rate, above the highest the highest's: never
        more than was measured. Below every score measured nothing is known: a score there reads
        as a coin toss at best, and less the farther it is (a model's 2% guess, a look-alike
        twice as far as any measured): times score / lowest score measured, or for distances
        farthest distance measured / distance."""
        values = np.asarray(scores, dtype=np.float64)
        if not self.higher_is_surer:
            values = -values
        if not self.edges:
            return np.full(values.shape, 0.5)
        index = np.searchsorted(np.asarray(self.edges), values, side="right") - 1
        rates = np.asarray(self.rates)[np.clip(index, 0, len(self.rates) - 1)]
        lowest = self.edges[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.higher_is_surer:
                ratio = values / lowest if lowest > 0 else np.ones_like(values)
            else:
                ratio = lowest / values if lowest < 0 else np.ones_like(values)
        below = np.minimum(rates, 0.5) * np.clip(np.nan_to_num(ratio, nan=0.0), 0.0, 1.0)
        return np.where(index < 0, below, rates)

    def one(self, score: float) -> float:
        """`probability` of one score, without numpy's per-call cost: the label page asks this
        for nine suggestions of every face it fetches."""
        value = float(score) if self.higher_is_surer else -float(score)
        if not self.edges or value != value:
            return 0.5 if not self.edges else 0.0
        index = bisect_right(self.edges, value) - 1
        if index >= 0:
            return self.rates[index]
        lowest = self.edges[0]
        if self.higher_is_surer:
            ratio = value / lowest if lowest > 0 else 1.0
        else:
            ratio = lowest / value if lowest < 0 and value != 0 else 1.0
        return min(self.rates[0], 0.5) * min(max(ratio, 0.0), 1.0)

    @property
    def n(self) -> int:
        return int(sum(self.counts))

    def to_json(self) -> dict[str, Any]:
        edges = list(self.edges)
        if not self.higher_is_surer:
            edges = [-e for e in edges]
        return {
            "edges": [round(e, 6) for e in edges],
            "rates": [round(r, 6) for r in self.rates],
            "counts": list(self.counts),
            "higher_is_surer": self.higher_is_surer,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Calibration | None:
        """The calibration stored as `to_json` wrote it; None for none or an unreadable one
        (an older model), which callers treat as "not confident"."""
        if not isinstance(data, dict):
            return None
        try:
            higher = bool(data.get("higher_is_surer", True))
            edges = tuple(float(e) if higher else -float(e) for e in data["edges"])
            rates = tuple(float(r) for r in data["rates"])
            counts = tuple(int(c) for c in data["counts"])
        except (KeyError, TypeError, ValueError):
            return None
        if not (len(edges) == len(rates) == len(counts)):
            return None
        return cls(edges, rates, counts, higher)


def fit(scores: np.ndarray, right: np.ndarray, *, higher_is_surer: bool = True) -> Calibration:
    """P(right | score) from held-out pairs: monotone in the score, and shrunk where it rests
    on few answers. With no pairs at all every score reads 50%."""
    values = np.asarray(scores, dtype=np.float64).ravel()
    hits = np.asarray(right, dtype=np.float64).ravel()
    if len(values) != len(hits):
        raise ValueError("scores and right differ in length")
    keep = np.isfinite(values)
    values, hits = values[keep], hits[keep]
    if not higher_is_surer:
        values = -values
    if len(values) == 0:
        return Calibration((), (), (), higher_is_surer)
    # equal scores are one step: a calibration cannot tell them apart
    uniques, inverse = np.unique(values, return_inverse=True)
    k = np.bincount(inverse, weights=hits)
    n = np.bincount(inverse).astype(np.float64)
    blocks = _pool(uniques, k, n, lambda k, n: k / n)
    blocks = _pool(*zip(*blocks, strict=True), _shrunk) if blocks else blocks
    return Calibration(
        tuple(float(b[0]) for b in blocks),
        tuple(_shrunk(b[1], b[2]) for b in blocks),
        tuple(int(b[2]) for b in blocks),
        higher_is_surer,
    )


def _shrunk(k: float, n: float) -> float:
    return float((k + 1.0) / (n + 2.0))


def _pool(edges, k, n, rate) -> list[tuple[float, float, float]]:
    """Pool adjacent violators: merge neighbouring steps while a lower one's rate is above the
    next one's. Each step keeps its lowest score as its edge."""
    stack: list[list[float]] = []
    for edge, hits, count in zip(edges, k, n, strict=True):
        stack.append([float(edge), float(hits), float(count)])
        while len(stack) > 1 and rate(stack[-2][1], stack[-2][2]) >= rate(
            stack[-1][1], stack[-1][2]
        ):
            top = stack.pop()
            stack[-1][1] += top[1]
            stack[-1][2] += top[2]
    return [tuple(b) for b in stack]
