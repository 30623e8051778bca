"""Refitting the chosen model on every labelled row (automl.refit) and the hold-out sizes behind it."""

from __future__ import annotations

import time

import numpy as np
import pytest

import automl
from automl.budget import refit_reserve
from automl.data import holdout_share
from automl.models import PreparedData
from automl.models.classic import GradientBoostingFamily, grow_within
from automl.refit import all_rows, members_of, refit_best

FAMILIES = ["linear", "gradient_boosting"]


@pytest.fixture(scope="module")
def refit_result(breast_cancer_df):
    return automl.fit(breast_cancer_df, "target", families=FAMILIES, time_budget=10, verbose=0)


def test_best_model_is_refit_on_every_labelled_row(refit_result, breast_cancer_df):
    result = refit_result
    best = result.best_model_name
    info = result.info["refit"]
    assert info["enabled"] and info["rows"] == len(breast_cancer_df)
    members = [name for name, _ in members_of(result.models[best])]
    assert set(info["models"]) == set(members) and not info["skipped"]
    assert set(result.refitted) >= set(members)
    # the leaderboard says which rows predict() refit; the others predict as scored
    marked = set(result.leaderboard.loc[result.leaderboard["refit"], "model"])
    assert marked == set(result.refitted)
    assert result.model().predictor is result.refitted[best].predictor
    assert result.model(refit=False).predictor is result.models[best].predictor
    for name in members:
        assert result.refitted[name].info["refit_rows"] == len(breast_cancer_df)
        assert result.refitted[name].predictor is not result.models[name].predictor
    # a refit model predicts like its searched twin on most rows, and well
    rows = breast_cancer_df.drop(columns=["target"])
    refit_pred = result.predict(rows)
    searched_pred = result.model(refit=False).predict(rows)
    assert np.mean(refit_pred == searched_pred) >= 0.95
    assert np.mean(refit_pred == breast_cancer_df["target"].to_numpy()) >= 0.95


def test_refit_false_keeps_the_scored_models(breast_cancer_df):
    result = automl.fit(breast_cancer_df, "target", families=["linear"], time_budget=5, verbose=0, refit=False)
    assert result.refitted == {} and result.info["refit"] == {"enabled": False}
    assert not result.leaderboard["refit"].any()
    assert result.model().predictor is result.models[result.best_model_name].predictor


def test_refitted_models_survive_save_and_load(refit_result, breast_cancer_df, tmp_path):
    rows = breast_cancer_df.drop(columns=["target"]).iloc[:80]
    loaded = automl.load(refit_result.save(tmp_path / "saved"))
    assert set(loaded.refitted) == set(refit_result.refitted)
    np.testing.assert_array_equal(loaded.predict_proba(rows).to_numpy(), refit_result.predict_proba(rows).to_numpy())
    np.testing.assert_array_equal(loaded.model(refit=False).predict(rows), refit_result.model(refit=False).predict(rows))


def test_report_and_importance_read_the_searched_model(refit_result, tmp_path):
    from automl.report.fit_report import fit_summary

    pairs = dict(fit_summary(refit_result))
    assert "refit on all 569 labelled rows" in pairs["Deployed model"]
    importance = refit_result.feature_importance(n_repeats=2)
    assert len(importance) == len(refit_result.schema.used)


def _prepared(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    cut = n // 2
    return PreparedData(X[:cut], y[:cut], X[cut:], y[cut:], "binary", "accuracy", 2, [f"x{i}" for i in range(5)])


def test_refit_past_the_deadline_keeps_the_searched_model():
    from automl.budget import Budget
    from automl.progress import Hooks

    data = _prepared()
    family = GradientBoostingFamily(max_configs=1)
    candidate = family.fit(data, Budget(10), Hooks()).candidates[0]
    everything = all_rows(data, np.concatenate([data.X_train, data.X_val]), np.concatenate([data.y_train, data.y_val]))
    assert len(everything.y_train) == 400 and len(everything.y_val) == 0
    outcome = refit_best(candidate, {candidate.name: candidate}, {family.name: family}, everything,
                         deadline=time.monotonic() - 1, row_ratio=2.0)
    assert outcome.models == {} and "s left" in outcome.info["skipped"][candidate.name]
    outcome = refit_best(candidate, {candidate.name: candidate}, {}, everything, time.monotonic() + 30, 2.0)
    assert outcome.models == {} and "cannot refit" in outcome.info["skipped"][candidate.name]


def test_refit_boosting_keeps_the_rounds_early_stopping_found():
    from automl.budget import Budget
    from automl.progress import Hooks

    data = _prepared()
    family = GradientBoostingFamily(max_configs=1)
    candidate = family.fit(data, Budget(10), Hooks()).candidates[0]
    everything = all_rows(data, np.concatenate([data.X_train, data.X_val]), np.concatenate([data.y_train, data.y_val]))
    refit = family.refit(candidate, everything, time.monotonic() + 30)
    assert refit is not candidate.predictor and refit.early_stopping is False
    assert refit.n_iter_ == candidate.info["rounds"] == candidate.predictor.n_iter_
    assert np.mean(refit.predict(data.X_val) == data.y_val) >= 0.9


def test_grow_within_finishes_a_target_one_round_past_a_chunk():
    # a last chunk much smaller than the model so far must still be grown when time allows
    from sklearn.ensemble import HistGradientBoostingClassifier

    data = _prepared()
    model = HistGradientBoostingClassifier(warm_start=True, early_stopping=False, max_iter=1)
    truncated = grow_within(model, "max_iter", 131, 65, time.monotonic() + 60,
                            lambda e: e.fit(data.X_train, data.y_train))
    assert not truncated and model.n_iter_ == 131


def test_refit_reserve_follows_the_two_best_models():
    class Family:
        def refit_seconds(self, candidate, ratio):
            return candidate * ratio

    scored = [(0.9, Family(), 2.0), (0.8, Family(), 3.0), (0.95, Family(), 1.0), (float("nan"), Family(), 50.0)]
    assert refit_reserve(scored, 1.5, cap=100) == pytest.approx((1.0 + 2.0) * 1.5)
    assert refit_reserve(scored, 1.5, cap=2.0) == 2.0
    assert refit_reserve([], 1.5, cap=5.0) == 0.0


@pytest.mark.parametrize("rows, share", [(500, 0.2), (50_000, 0.2), (100_000, 0.1), (10_000_000, 0.05)])
def test_holdout_share_shrinks_on_large_tables(rows, share):
    assert holdout_share(rows) == pytest.approx(share)
    assert holdout_share(rows, 0.3) == 0.3
