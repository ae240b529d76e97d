"""Per-group means and spreads, the sufficient statistics of the linkage."""

from __future__ import annotations

import numpy as np


def group_stats(
    x: np.ndarray, members: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means (G, d), spreads (G,), sizes (G,)), where a spread is the mean squared distance of
    a group's faces to its mean: rms(A, B)^2 = spread(A) + spread(B) + |mean(A) - mean(B)|^2."""
    d = x.shape[1]
    if not members:
        return np.zeros((0, d)), np.zeros(0), np.zeros(0, dtype=np.int64)
    sizes = np.array([len(m) for m in members], dtype=np.int64)
    if sizes.min() < 1:
        raise ValueError("a group has no members")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = x[np.concatenate(members)].astype(np.float64)
    totals = np.add.reduceat(flat, starts, axis=0)
    squares = np.add.reduceat(np.einsum("ij,ij->i", flat, flat), starts)
    means = totals / sizes[:, None]
    spreads = squares / sizes - np.einsum("ij,ij->i", means, means)
    return means, np.maximum(spreads, 0.0), sizes


def rms_between(
    mean_a: np.ndarray, spread_a: np.ndarray, mean_b: np.ndarray, spread_b: np.ndarray
) -> np.ndarray:
    """Root mean square distance between the members of A and of B, row by row."""
    diff = mean_a - mean_b
    return np.sqrt(np.maximum(spread_a + spread_b + np.einsum("ij,ij->i", diff, diff), 0.0))
