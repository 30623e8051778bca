"""The greedy ensemble: weights, its leaderboard row, and what it predicts."""

from __future__ import annotations

import numpy as np
import pytest

import automl
from automl.evaluate import EnsemblePredictor, build_ensemble
from automl.evaluate.leaderboard import Predictions
from automl.models.base import Candidate, PreparedData


class _Fixed:
    """A predictor that returns given probabilities (or values) whatever X is."""

    def __init__(self, output):
        self.output = np.asarray(output, dtype=float)

    def predict_proba(self, X):
        return self.output[: len(X)]

    def predict(self, X):
        if self.output.ndim == 2:
            return self.output[: len(X)].argmax(axis=1)
        return self.output[: len(X)]


def _noisy_members(task, n=300, k=3, seed=0):
    """``k`` members that each see the truth through independent noise: their average beats each one."""
    rng = np.random.default_rng(seed)
    if task == "regression":
        y = rng.normal(size=n)
        outputs = [y + rng.normal(0, 1.0, n) for _ in range(k)]
    else:
        y = rng.integers(0, 2, n)
        outputs = []
        for _ in range(k):
            logit = (2 * y - 1) * 0.8 + rng.normal(0, 1.5, n)
            p = 1 / (1 + np.exp(-logit))
            outputs.append(np.column_stack([1 - p, p]))
    data = PreparedData(X_train=np.zeros((n, 1), np.float32), y_train=y, X_val=np.zeros((n, 1), np.float32),
                        y_val=y, task=task, metric="r2" if task == "regression" else "accuracy",
                        n_classes=0 if task == "regression" else 2, feature_names=["x"])
    candidates, preds = [], {}
    for i, out in enumerate(outputs):
        name = f"m{i}"
        candidates.append(Candidate(name, "test", {}, _Fixed(out), fit_time_s=1.0))
        if task == "regression":
            preds[name] = Predictions(out, None, out, None)
        else:
            preds[name] = Predictions(out.argmax(axis=1), out, out.argmax(axis=1), out)
    return data, candidates, preds


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_weights_sum_to_one_and_prediction_is_weighted_average(task):
    data, candidates, preds = _noisy_members(task)
    combined = build_ensemble(candidates, preds, data)
    assert combined is not None and combined.family == "ensemble"
    members = combined.predictor.members
    assert len(members) >= 2
    weights = np.array([w for _, _, w in members])
    assert np.all(weights > 0) and weights.sum() == pytest.approx(1.0)
    X = np.zeros((len(data.y_val), 1))
    if task == "regression":
        expected = sum(w * p.predict(X) for _, p, w in members)
        np.testing.assert_allclose(combined.predictor.predict(X), expected)
    else:
        expected = sum(w * p.predict_proba(X) for _, p, w in members)
        np.testing.assert_allclose(combined.predictor.predict_proba(X), expected)
        np.testing.assert_array_equal(combined.predictor.predict(X), expected.argmax(axis=1))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_ensemble_improves_validation_over_each_member(task):
    data, candidates, preds = _noisy_members(task)
    combined = build_ensemble(candidates, preds, data)
    X = np.zeros((len(data.y_val), 1))
    if task == "regression":
        def mse(p):
            return np.mean((p.predict(X) - data.y_val) ** 2)
        assert mse(combined.predictor) < min(mse(c.predictor) for c in candidates)
    else:
        def loss(p):
            proba = np.clip(p.predict_proba(X)[np.arange(len(data.y_val)), data.y_val], 1e-15, 1)
            return -np.mean(np.log(proba))
        assert loss(combined.predictor) < min(loss(c.predictor) for c in candidates)


def test_no_ensemble_when_one_model_dominates():
    data, candidates, preds = _noisy_members("regression")
    # a perfect member: averaging anything into it only hurts, so the selection stays with it alone
    perfect = data.y_val.astype(float)
    candidates.append(Candidate("perfect", "test", {}, _Fixed(perfect), fit_time_s=1.0))
    preds["perfect"] = Predictions(perfect, None, perfect, None)
    assert build_ensemble(candidates, preds, data) is None


def test_ensemble_predictor_rejects_nothing_and_averages_probabilities():
    a = _Fixed([[0.9, 0.1], [0.2, 0.8]])
    b = _Fixed([[0.5, 0.5], [0.6, 0.4]])
    ens = EnsemblePredictor([("a", a, 0.75), ("b", b, 0.25)], "binary")
    np.testing.assert_allclose(ens.predict_proba(np.zeros((2, 1))), [[0.8, 0.2], [0.3, 0.7]])
    np.testing.assert_array_equal(ens.predict(np.zeros((2, 1))), [0, 1])


@pytest.fixture(scope="module")
def housing_result():
    import pandas as pd

    # an additive linear part that trees approximate in steps, plus bends a linear model cannot
    # follow: gradient boosting and the linear model err differently, so their average helps
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 10))
    y = X[:, :8] @ np.linspace(1, 0.3, 8) + 1.5 * np.sin(3 * X[:, 8]) + np.abs(X[:, 9]) + rng.normal(0, 0.5, 600)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]).assign(y=y)
    # two configurations per family: how many a time budget alone allows depends on the machine's load, and a
    # boosting search that finds a much better configuration leaves the ensemble nothing to add
    from automl.models.classic import GradientBoostingFamily, LinearFamily, RandomForestFamily

    families = [LinearFamily(), RandomForestFamily(max_configs=2), GradientBoostingFamily(max_configs=2)]
    return automl.fit(frame, "y", families=families, time_budget=6, verbose=0)


def test_ensemble_row_in_fit_matches_its_members(housing_result):
    board = housing_result.leaderboard
    assert "ensemble" in set(board["model"]), board
    row = board.set_index("model").loc["ensemble"]
    members = housing_result.models["ensemble"].predictor.members
    # chosen on validation: its validation score is at least its best member's
    assert row["val_score"] >= board.set_index("model").loc[[m for m, _, _ in members], "val_score"].max() - 1e-9
    expected = sum(w * housing_result.test["predictions"][name]["pred"] for name, _, w in members)
    np.testing.assert_allclose(housing_result.test["predictions"]["ensemble"]["pred"], expected, rtol=1e-6)
    assert np.isfinite(row["test_score"]) and row["test_score"] > 0.7
    # it helped on validation, so it leads the board
    assert board.iloc[0]["model"] == "ensemble"


def test_selection_reaches_uneven_weights_through_a_worse_even_step():
    # the weak member only helps at a small weight: an even 1/2-1/2 average is worse than the strong member
    # alone, 3/4-1/4 is better; a selection that stopped at the first non-improving round would miss it
    rng = np.random.default_rng(3)
    n = 4000
    y = rng.normal(size=n)
    strong, weak = y + rng.normal(0, 1.0, n), y + rng.normal(0, 2.5, n)
    data = PreparedData(X_train=np.zeros((n, 1), np.float32), y_train=y, X_val=np.zeros((n, 1), np.float32),
                        y_val=y, task="regression", metric="r2", n_classes=0, feature_names=["x"])
    candidates, preds = [], {}
    for name, out in (("strong", strong), ("weak", weak)):
        candidates.append(Candidate(name, "test", {}, _Fixed(out), fit_time_s=1.0))
        preds[name] = Predictions(out, None, out, None)
    assert np.mean(((strong + weak) / 2 - y) ** 2) > np.mean((strong - y) ** 2)
    combined = build_ensemble(candidates, preds, data)
    assert combined is not None
    weights = dict(combined.params)
    assert 0.05 <= weights["weak"] <= 0.3 and weights["strong"] == pytest.approx(1 - weights["weak"])


def _board_of(names_scores):
    import pandas as pd

    return pd.DataFrame({"model": [n for n, _ in names_scores], "val_score": [s for _, s in names_scores]})


def test_the_ensemble_is_chosen_when_a_single_models_lead_is_within_the_noise():
    from automl.evaluate import prefer_ensemble
    from automl.metrics import get_metric

    data, candidates, preds = _noisy_members("binary", n=600)
    accuracy = get_metric("accuracy", "binary")
    y = data.y_val
    # the "single" model is the ensemble's output with 20 wrong rows turned right and 17 right rows turned
    # wrong: it leads by 3 rows of 600 (0.005), less than resampling moves a difference made on 37 rows
    ensemble = np.mean([preds[c.name].val_proba for c in candidates], axis=0)
    single = ensemble.copy()
    right = ensemble.argmax(axis=1) == y
    flipped = np.concatenate([np.flatnonzero(~right)[:20], np.flatnonzero(right)[:17]])
    single[flipped] = single[flipped][:, ::-1]
    preds = {"single": Predictions(single.argmax(axis=1), single, single.argmax(axis=1), single),
             "ensemble": Predictions(ensemble.argmax(axis=1), ensemble, ensemble.argmax(axis=1), ensemble)}
    scores = [(n, accuracy.oriented(y, p.val_pred, p.val_proba)) for n, p in preds.items()]
    board, info = prefer_ensemble(_board_of(scores), preds, data)
    assert list(board["model"]) == ["ensemble", "single"]
    assert info["chosen"] == "ensemble" and info["over"] == "single"
    assert info["lead"] == pytest.approx(3 / 600) and info["lead"] < info["noise"]
    # a clear lead (every row the ensemble gets wrong, the single model gets right) keeps the single model first
    better = ensemble.copy()
    misses = np.flatnonzero(ensemble.argmax(axis=1) != y)
    better[misses] = better[misses][:, ::-1]
    preds["single"] = Predictions(better.argmax(axis=1), better, better.argmax(axis=1), better)
    scores = [(n, accuracy.oriented(y, p.val_pred, p.val_proba)) for n, p in preds.items()]
    board, info = prefer_ensemble(_board_of(scores), preds, data)
    assert list(board["model"]) == ["single", "ensemble"] and info["chosen"] == "single"
    assert info["over"] == "ensemble"
    assert info["lead"] > info["noise"]
