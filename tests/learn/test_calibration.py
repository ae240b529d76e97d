from __future__ import annotations

import json

import numpy as np
import pytest

from faceloop.learn import evaluate
from faceloop.learn.calibration import Calibration, fit


def _noisy(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.uniform(0, 1, n)
    right = rng.uniform(0, 1, n) < scores**2
    return scores, right


@pytest.mark.parametrize("seed", range(3))
def test_probability_only_rises_with_the_score_and_matches_the_rate(seed: int) -> None:
    scores, right = _noisy(seed)
    calibration = fit(scores, right)
    grid = np.linspace(-0.5, 1.5, 400)
    p = calibration.probability(grid)
    assert np.all(np.diff(p) >= 0)
    assert p[0] < 0.1 and p[-1] > 0.85
    # near the true rate where the data is dense
    for s in (0.3, 0.6, 0.9):
        assert abs(calibration.one(s) - s**2) < 0.12


def test_distances_fall_as_they_grow() -> None:
    rng = np.random.default_rng(1)
    distances = rng.uniform(0.2, 0.9, 2000)
    right = rng.uniform(0, 1, 2000) < 1.2 - distances * 1.4
    calibration = fit(distances, right, higher_is_surer=False)
    p = calibration.probability(np.linspace(0.2, 0.9, 100))
    assert np.all(np.diff(p) <= 0)
    assert calibration.one(0.25) > calibration.one(0.8)


def test_a_few_right_answers_never_read_as_sure() -> None:
    calibration = fit(np.array([0.9, 0.95, 0.97, 0.99, 0.999]), np.ones(5, dtype=bool))
    assert calibration.one(0.999) == pytest.approx(6 / 7)
    assert calibration.one(1.0) < 0.9
    many = fit(np.full(300, 0.99), np.ones(300, dtype=bool))
    assert many.one(0.99) > 0.99


def test_shrinking_keeps_the_steps_rising() -> None:
    # two right answers at the top would shrink to 75%, below the 90% of the big step under it
    scores = np.concatenate([np.full(100, 0.8), [0.95, 0.96]])
    right = np.concatenate([np.arange(100) < 90, [True, True]])
    calibration = fit(scores, right)
    assert list(calibration.rates) == sorted(calibration.rates)
    assert calibration.one(0.96) >= calibration.one(0.8)
    assert calibration.one(0.96) < 0.95


def test_beyond_every_measured_score_is_a_coin_toss_at_best() -> None:
    # every look-alike measured was right, but none was as far as 0.9
    calibration = fit(np.linspace(0.1, 0.45, 400), np.ones(400, dtype=bool), higher_is_surer=False)
    assert calibration.one(0.3) > 0.99
    assert calibration.one(0.45) > 0.99 and calibration.one(0.46) < 0.5
    assert calibration.one(0.9) == pytest.approx(0.25)
    # a model's guess scoring below every held-out guess: less likely the lower it scores
    low = fit(np.linspace(0.5, 1.0, 400), np.ones(400, dtype=bool))
    assert low.one(0.25) == pytest.approx(0.25) and low.one(0.02) == pytest.approx(0.02)


def test_no_answers_read_as_a_coin_toss() -> None:
    calibration = fit(np.zeros(0), np.zeros(0, dtype=bool))
    assert calibration.one(0.99) == 0.5


@pytest.mark.parametrize("higher", [True, False])
def test_json_round_trip(higher: bool) -> None:
    scores, right = _noisy(4, 500)
    calibration = fit(scores, right, higher_is_surer=higher)
    again = Calibration.from_json(json.loads(json.dumps(calibration.to_json())))
    assert again is not None
    grid = np.linspace(0, 1, 57)
    assert np.allclose(again.probability(grid), calibration.probability(grid), atol=1e-5)
    wide = np.linspace(-1.0, 2.0, 301)
    assert [again.one(v) for v in wide] == pytest.approx(list(again.probability(wide)))
    assert again.counts == calibration.counts


@pytest.mark.parametrize("stored", [None, {}, {"edges": [1], "rates": "x"}, [1, 2]])
def test_an_old_or_broken_calibration_reads_as_none(stored) -> None:
    assert Calibration.from_json(stored) is None


def test_evaluate_stores_the_calibration_of_its_guesses() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(1, 4, 600)
    proba = rng.dirichlet(np.ones(3), 600)
    proba[np.arange(600), y - 1] += 0.6
    proba /= proba.sum(axis=1, keepdims=True)
    metrics = evaluate(y, proba, np.array([1, 2, 3]))
    calibration = Calibration.from_json(json.loads(json.dumps(metrics))["calibration"])
    assert calibration is not None and calibration.n == 600
    assert calibration.one(0.95) > calibration.one(0.4)
