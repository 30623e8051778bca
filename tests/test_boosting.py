"""Boosting-library families: LightGBM (default), XGBoost and CatBoost (optional)."""

from __future__ import annotations

import time

import numpy as np
import pytest

import automl
from automl.budget import Budget
from automl.errors import SearchWarning
from automl.models import PreparedData
from automl.models import boosting
from automl.models.registry import DEFAULT_FAMILIES, get_family
from automl.progress import make_hooks
from automl.refit import all_rows


def _prepared(X, y, task, metric, seed=0):
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    n = int(0.7 * len(y))
    X = np.asarray(X, dtype=np.float32)
    return PreparedData(X[idx[:n]], y[idx[:n]], X[idx[n:]], y[idx[n:]], task, metric,
                        0 if task == "regression" else int(y.max()) + 1, [f"f{i}" for i in range(X.shape[1])])


@pytest.fixture(scope="module")
def cancer():
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)
    return _prepared(X, y, "binary", "roc_auc")


@pytest.fixture(scope="module")
def wine():
    from sklearn.datasets import load_wine
    X, y = load_wine(return_X_y=True)
    return _prepared(X, y, "multiclass", "accuracy")


@pytest.fixture(scope="module")
def lightgbm_run(cancer):
    family = boosting.LightGBMFamily(max_configs=4)
    return family, family.fit(cancer, Budget(20), make_hooks(0, None))


def test_lightgbm_is_a_default_family():
    assert "lightgbm" in DEFAULT_FAMILIES
    assert isinstance(get_family("lightgbm"), boosting.LightGBMFamily)


def test_lightgbm_tries_its_portfolio_first_and_early_stops(lightgbm_run, cancer):
    family, outcome = lightgbm_run
    trials = outcome.trials
    names = [p.get("name") for p in trials["params"]]
    portfolio = [c["name"] for c in boosting.LIGHTGBM_PORTFOLIO]
    assert names[:len(portfolio)] == portfolio and names[len(portfolio)] is None  # then random configurations
    # the portfolio's trees are bounded by the rows, like the search space
    assert max(p["num_leaves"] for p in trials["params"]) <= max(8, len(cancer.y_train) // 10)
    assert (trials["status"] == "ok").all()
    # early stopping on the validation rows ends far below the round cap
    head = trials.iloc[:len(portfolio)]
    assert head["stopped_early"].all() and (head["rounds"] < 1000).all()
    best = outcome.candidates[0]
    assert isinstance(best.predictor, boosting.BoostedModel)
    proba = best.predictor.predict_proba(cancer.X_val)
    assert proba.shape == (len(cancer.y_val), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert cancer.val_score(best.predictor) > 0.97  # ROC AUC on held-out rows


def test_lightgbm_refit_keeps_the_rounds(lightgbm_run, cancer):
    family, outcome = lightgbm_run
    best = outcome.candidates[0]
    X = np.concatenate([cancer.X_train, cancer.X_val])
    y = np.concatenate([cancer.y_train, cancer.y_val])
    refit = family.refit(best, all_rows(cancer, X, y), time.monotonic() + 30)
    assert refit is not None
    assert refit.estimator.booster_.current_iteration() == best.info["rounds"]
    assert (refit.predict(X) == y).mean() > 0.97
    # a refit that cannot end before its deadline is dropped, not returned half-grown
    assert family.refit(best, all_rows(cancer, X, y), time.monotonic() - 1) is None


def test_lightgbm_keeps_a_tight_budget():
    from sklearn.datasets import make_classification
    X, y = make_classification(20_000, 40, n_informative=20, random_state=0)
    data = _prepared(X, y, "binary", "accuracy")
    family = boosting.LightGBMFamily()
    family.portfolio = [{"name": "slow", "learning_rate": 0.002, "num_leaves": 255, "min_child_samples": 5}]
    started = time.monotonic()
    outcome = family.fit(data, Budget(1.5), make_hooks(0, None))
    elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 1.0, elapsed
    first = outcome.trials.iloc[0]
    assert bool(first["truncated"]) and first["rounds"] > 0
    assert data.val_score(outcome.candidates[0].predictor) > 0.6


@pytest.mark.parametrize("name, table, floor", [("xgboost", "wine", 0.88), ("catboost", "cancer", 0.97)])
def test_optional_boosting_families_fit_and_refit(name, table, floor, request):
    pytest.importorskip(name)
    data = request.getfixturevalue(table)  # multiclass accuracy for XGBoost, binary ROC AUC for CatBoost
    family = get_family(name, max_configs=1)
    outcome = family.fit(data, Budget(10), make_hooks(0, None))
    assert outcome.trials["params"].iloc[0]["name"] == "ag_default"
    best = outcome.candidates[0]
    assert data.val_score(best.predictor) > floor
    assert best.predictor.predict_proba(data.X_val).shape == (len(data.y_val), data.n_classes)
    rounds = best.info["rounds"]
    assert 0 < rounds < family.max_rounds
    X = np.concatenate([data.X_train, data.X_val])
    y = np.concatenate([data.y_train, data.y_val])
    refit = family.refit(best, all_rows(data, X, y), time.monotonic() + 30)
    trees = (refit.estimator.get_booster().num_boosted_rounds() if name == "xgboost"
             else refit.estimator.tree_count_)
    assert trees == rounds


def _missing(module):
    if module in ("xgboost", "catboost"):
        raise ImportError(f"{module} is not installed; {boosting._INSTALL[module]}")
    return __import__(module)


def test_missing_optional_family_asked_for_warns_with_the_install_line(monkeypatch, breast_cancer_df):
    monkeypatch.setattr(boosting, "optional_import", _missing)
    with pytest.warns(SearchWarning, match="xgboost"):
        result = automl.fit(breast_cancer_df, "target", families=["linear", "xgboost"], time_budget=3, verbose=0)
    assert set(result.leaderboard["family"]) == {"linear"}
    assert any("xgboost skipped" in n and "pip install" in n for n in result.info["notes"])


def test_missing_optional_family_in_the_defaults_is_only_noted(monkeypatch, recwarn, breast_cancer_df):
    import automl.api
    monkeypatch.setattr(boosting, "optional_import", _missing)
    monkeypatch.setattr(automl.api, "DEFAULT_FAMILIES", ("linear", "catboost"))
    result = automl.fit(breast_cancer_df, "target", time_budget=3, verbose=0)
    assert not [w for w in recwarn if issubclass(w.category, SearchWarning) and "catboost" in str(w.message)]
    assert any("catboost skipped" in n and "automl[boost]" in n for n in result.info["notes"])


def test_fit_with_lightgbm_refits_and_round_trips(diabetes_df, tmp_path):
    result = automl.fit(diabetes_df, "target", families=["lightgbm"], time_budget=6, verbose=0, ensemble=False)
    board = result.leaderboard
    assert board.iloc[0]["family"] == "lightgbm" and bool(board.iloc[0]["refit"])
    assert board.iloc[0]["test_score"] > 0.3  # R² on held-out diabetes rows
    predicted = result.predict(diabetes_df.drop(columns="target").head(20))
    loaded = automl.load(result.save(tmp_path / "run"))
    assert np.allclose(loaded.predict(diabetes_df.drop(columns="target").head(20)), predicted)
