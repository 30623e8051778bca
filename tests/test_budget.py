"""How ``fit`` shares its time budget between model families, and keeps to it."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import automl
from automl.budget import MIN_SHARE, RESERVE_MAX_S, RESERVE_SHARE, family_floors, family_share, scoring_reserve
from automl.models.base import Candidate, FamilyResult, ModelFamily


class _Mean:
    def __init__(self, value):
        self.value = value

    def predict(self, X):
        return np.full(len(X), self.value)


class _Recorder(ModelFamily):
    """Records the budget it was given, then uses ``use`` of it (1.0: all of it, 1.5: overruns by half)."""

    def __init__(self, name, weight, use, log):
        self.name, self.weight, self.use, self.log = name, weight, use, log

    def fit(self, data, budget, hooks):
        self.log.append((self.name, budget.seconds))
        time.sleep(budget.seconds * self.use)
        return FamilyResult([Candidate(self.name, self.name, {}, _Mean(float(np.mean(data.y_train))), 0.0)])


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    return pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=x[:, 0] * 2 + rng.normal(0, 0.1, 300))


def test_share_is_weighted_and_never_below_floor():
    weights = [0.5, 1.0, 2.0, 3.0]
    floors = family_floors(weights, 100.0)
    assert floors == pytest.approx([MIN_SHARE * 100 * w / 6.5 for w in weights])
    # nothing used yet: the first family gets exactly its weighted part
    assert family_share(weights, floors, 100.0) == pytest.approx(100 * 0.5 / 6.5)
    # earlier families used everything they were given: each later one still gets at least its floor
    remaining = 100.0
    for i in range(len(weights)):
        share = family_share(weights[i:], floors[i:], remaining)
        assert share >= floors[i] - 1e-9
        assert remaining - share >= sum(floors[i + 1:]) - 1e-9  # the later floors stay reserved
        remaining -= share
    # an early family overran so far that the floors no longer fit: what is left is split by floor
    share = family_share(weights[1:], floors[1:], 10.0)
    assert share == pytest.approx(10.0 * floors[1] / sum(floors[1:]))
    assert family_share(weights, floors, 0.0) == 0.0


def test_scoring_reserve_is_a_share_of_the_budget_up_to_a_cap():
    assert scoring_reserve(20.0) == pytest.approx(RESERVE_SHARE * 20.0)
    assert scoring_reserve(1e6) == RESERVE_MAX_S
    assert 0.0 < scoring_reserve(60.0) < 60.0


def test_time_left_by_a_fast_family_flows_to_the_next(frame):
    log = []
    families = [_Recorder("fast", 1.0, 0.0, log), _Recorder("second", 1.0, 1.0, log),
                _Recorder("third", 1.0, 1.0, log)]
    automl.fit(frame, "y", families=families, time_budget=3, verbose=0, ensemble=False)
    shares = dict(log)
    # equal weights: the fast family's unused third is split between the other two
    assert shares["second"] > shares["fast"] * 1.3
    assert shares["third"] >= shares["fast"] * 0.9


def test_an_overrunning_family_does_not_starve_the_last(frame):
    log = []
    # the first family overruns its share by a quarter: the last one still gets its guaranteed floor
    families = [_Recorder("greedy", 1.0, 1.25, log), _Recorder("last", 1.0, 1.0, log)]
    result = automl.fit(frame, "y", families=families, time_budget=4, verbose=0, ensemble=False)
    shares = dict(log)
    search = 4 - scoring_reserve(4)
    floor = MIN_SHARE * search * 0.5
    assert shares["last"] >= floor - 0.1
    assert shares["greedy"] + shares["last"] <= search + 0.1
    assert set(result.leaderboard["model"]) == {"greedy", "last"}


def test_fit_keeps_to_a_small_budget():
    rng = np.random.default_rng(1)
    n = 6000
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(12)})
    frame["cat"] = rng.choice(list("abcdefgh"), n)
    frame["y"] = np.where(np.sin(2 * frame["x0"]) + frame["x1"] * frame["x2"] + (frame["cat"] == "c")
                          + rng.normal(0, 0.5, n) > 0.3, "yes", "no")
    started = time.monotonic()
    result = automl.fit(frame, "y", families=["linear", "random_forest", "gradient_boosting"], time_budget=6,
                        verbose=0)
    elapsed = time.monotonic() - started
    assert elapsed < 9.0, f"fit took {elapsed:.1f} s on a 6 s budget"
    assert {"linear", "random_forest", "gradient_boosting"} <= set(result.leaderboard["family"])
    assert result.leaderboard.iloc[0]["test_score"] > 0.7
