"""Boosting-library families: LightGBM (default), XGBoost and CatBoost (optional)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
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


@pytest.mark.parametrize("name", ["lightgbm", "gradient_boosting"])
def test_fold_models_stop_early_on_the_rows_they_leave_out(name, cancer):
    # the searched round count came from other rows: a fold model finds its own, up to about twice as many
    family = get_family(name)
    params = {"learning_rate": 0.1, "num_leaves": 4, "min_child_samples": 5, "colsample_bytree": 1.0,
              "max_leaf_nodes": 4, "min_samples_leaf": 5, "l2_regularization": 0.0}
    searched = automl.models.Candidate("m", name, params, None, fit_time_s=1.0, info={"rounds": 5})
    fold = family.fit_fold(searched, cancer, time.monotonic() + 30)
    rounds = (fold.estimator.booster_.current_iteration() if name == "lightgbm" else fold.n_iter_)
    patience = 25 if name == "lightgbm" else 20
    assert 5 < rounds <= 2 * 5 + patience
    # without held-out rows it is the plain refit: exactly the searched rounds
    plain = family.fit_fold(searched, all_rows(cancer, cancer.X_train, cancer.y_train), time.monotonic() + 30)
    assert (plain.estimator.booster_.current_iteration() if name == "lightgbm" else plain.n_iter_) == 5


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


# --- large frames: the search runs on a row sample, the refit reads the shared float32 matrix whole ---------------
def _spy_on_train(family, seen):
    original = family.train

    def train(estimator, data, *args, **kwargs):
        seen.append(data.X_train)
        return original(estimator, data, *args, **kwargs)

    family.train = train


def test_large_frames_search_on_a_sample_and_refit_on_every_row(cancer):
    family = boosting.LightGBMFamily(max_configs=2)
    family.search_rows = 300  # the threshold, lowered: cancer has 398 training rows
    seen = []
    _spy_on_train(family, seen)
    outcome = family.fit(cancer, Budget(20), make_hooks(0, None))
    best = outcome.candidates[0]
    assert best.info["search_rows"] == 300 and best.info["train_rows"] == len(cancer.y_train)
    assert (outcome.trials["search_rows"] == 300).all()
    # LightGBM gets float32 rows, never a float64 copy; every search fit the same 300 rows
    assert [x.shape for x in seen] == [(300, cancer.X_train.shape[1])] * len(outcome.trials)
    assert all(x.dtype == np.float32 for x in seen)
    assert np.shares_memory(seen[0], seen[-1])  # one sample for the whole search, not one per configuration
    assert cancer.val_score(best.predictor) > 0.95
    # the refit trains on every labelled row, reading the matrix it is given as it is
    X = np.concatenate([cancer.X_train, cancer.X_val])
    y = np.concatenate([cancer.y_train, cancer.y_val])
    seen.clear()
    refit = family.refit(best, all_rows(cancer, X, y), time.monotonic() + 30)
    assert refit is not None and len(seen) == 1 and seen[0] is X
    assert refit.estimator.booster_.current_iteration() == best.info["rounds"]
    # its time is estimated from the rows it trains on, not from the sample's
    assert family.refit_seconds(best, 1.0) == pytest.approx(
        best.fit_time_s * family.refit_cost_factor * len(cancer.y_train) / 300)


def test_small_frames_search_on_every_row(lightgbm_run, cancer):
    _, outcome = lightgbm_run
    assert "search_rows" not in outcome.candidates[0].info and "search_rows" not in outcome.trials


def test_histogram_gradient_boosting_searches_and_refits_on_float64_samples(monkeypatch, cancer):
    from automl.models import classic, sampling
    family = get_family("gradient_boosting", max_configs=1)
    family.search_rows = 250
    fitted = []
    original_fit = classic.HistGradientBoostingClassifier.fit

    def fit(self, X, *args, **kwargs):  # what scikit-learn receives: already float64, so it makes no copy
        fitted.append((X.shape[0], X.dtype.name))
        return original_fit(self, X, *args, **kwargs)

    monkeypatch.setattr(classic.HistGradientBoostingClassifier, "fit", fit)
    outcome = family.fit(cancer, Budget(10), make_hooks(0, None))
    best = outcome.candidates[0]
    assert best.info["search_rows"] == 250 and outcome.trials["search_rows"].iloc[0] == 250
    assert set(fitted) == {(250, "float64")}
    assert cancer.val_score(best.predictor) > 0.95
    # the refit: half of the labelled rows (its float64 copy is then the size of the float32 matrix of all)
    X = np.concatenate([cancer.X_train, cancer.X_val])
    y = np.concatenate([cancer.y_train, cancer.y_val])
    fitted.clear()
    refit = family.refit(best, all_rows(cancer, X, y), time.monotonic() + 30)
    assert refit is not None and set(fitted) == {(len(y) // 2, "float64")}
    assert (refit.predict(X) == y).mean() > 0.95
    assert family.refit_seconds(best, 1.0) == pytest.approx(
        best.fit_time_s * family.refit_cost_factor * max(1.0, 0.5 * len(cancer.y_train) / 250))
    # small frames: every row, as they are
    assert sampling.refit_sample(cancer, None) is cancer and sampling.refit_sample(cancer, 10**6) is cancer


def test_sample_keeps_every_class_and_the_validation_rows(wine):
    from automl.models.sampling import search_sample
    sample = search_sample(wine, 20)
    assert len(sample.y_train) == 20 and set(sample.y_train) == set(wine.y_train)
    assert sample.X_val is wine.X_val and sample.X_train.dtype == np.float32
    assert search_sample(wine, None) is wine and search_sample(wine, 10**6) is wine


def test_forests_on_large_frames_sample_rows_and_bound_their_leaves(monkeypatch, cancer):
    from automl.models import classic
    family = get_family("random_forest")
    small = family.make_estimator({"max_features": "sqrt", "min_samples_leaf": 1, "extra_trees": True}, cancer)
    assert small.max_leaf_nodes is None and small.max_samples is None and not small.bootstrap
    monkeypatch.setattr(classic, "_FOREST_SAMPLE_ROWS", 100)  # cancer's 398 training rows count as large
    for extra in (False, True):
        forest = family.make_estimator({"max_features": "sqrt", "min_samples_leaf": 1, "extra_trees": extra}, cancer)
        assert forest.bootstrap and forest.max_samples == pytest.approx(100 / len(cancer.y_train))
        # a quarter of the training matrix's bytes for the whole forest, at 80 bytes a node (two classes)
        leaves = forest.max_leaf_nodes
        assert leaves == max(64, int(0.25 * cancer.X_train.nbytes / 80 / forest.n_estimators // 2))
        family.fit_one(forest, cancer, time.monotonic() + 30)
        assert max(t.get_n_leaves() for t in forest.estimators_) <= leaves
        assert cancer.val_score(forest) > 0.95


def test_release_memory_runs_anywhere():
    from automl.resources import release_memory
    assert release_memory() in (True, False)



def test_catboost_refits_large_frames_on_a_share_of_the_rows(cancer):
    pytest.importorskip("catboost")
    family = get_family("catboost", max_configs=1)
    family.search_rows = 200
    seen = []
    _spy_on_train(family, seen)
    outcome = family.fit(cancer, Budget(10), make_hooks(0, None))
    best = outcome.candidates[0]
    X = np.concatenate([cancer.X_train, cancer.X_val])
    y = np.concatenate([cancer.y_train, cancer.y_val])
    seen.clear()
    refit = family.refit(best, all_rows(cancer, X, y), time.monotonic() + 30)
    # a share of the labelled rows, never fewer than the search used
    assert refit is not None and [x.shape[0] for x in seen] == [max(200, int(len(y) * family.refit_share))]
    assert seen[0].dtype == np.float32 and refit.estimator.tree_count_ == best.info["rounds"]


def test_category_codes_read_the_level_of_each_one_hot_block():
    X = np.array([[0.5, 0, 1, 0, 1, 0],
                  [1.5, 1, 0, 0, 0, 1],
                  [2.5, 0, 0, 0, 0, 1]], dtype=np.float32)  # the last row has no level in the first block
    codes = boosting.category_codes(X, [[1, 2, 3], [4, 5]])
    np.testing.assert_array_equal(codes, np.array([[1, 0], [0, 1], [np.nan, 1]], dtype=np.float32))
    model = boosting.BoostedModel(None, "binary", 2, category_blocks=[[1, 2, 3], [4, 5]])
    assert model.features(X).shape == (3, 8) and model.code_columns(6) == [6, 7]


def test_lightgbm_reads_one_hot_columns_as_native_categories(tmp_path):
    # the class is set by which half of 24 cities a row is in: a grouping of levels, what native splits find
    rng = np.random.default_rng(0)
    cities = np.array([f"city_{i}" for i in range(24)])
    frame = pd.DataFrame({"city": rng.choice(cities, 900), "x": rng.normal(size=900)})
    north = set(cities[rng.permutation(24)[:12]])
    frame["y"] = np.where(frame["city"].isin(north) ^ (rng.random(900) < 0.1), "north", "south")
    result = automl.fit(frame, "y", families=["lightgbm"], time_budget=6, verbose=0, resampling="holdout")
    params = list(result.trials["params"])
    assert params[0].get("categories") == "native" and "categories" not in params[1]  # then the one-hot variant
    assert result.leaderboard["test_score"].iloc[0] > 0.85
    fresh = pd.DataFrame({"city": ["city_0", "atlantis"], "x": [0.0, 0.0]})  # a level never seen: read as missing
    assert set(result.predict(fresh)) <= {"north", "south"}
    result.save(tmp_path / "native")
    np.testing.assert_array_equal(automl.load(tmp_path / "native").predict(fresh), result.predict(fresh))
