"""k-fold bagging: the policy, the folds, out-of-fold predictions, the bag, and fit's wiring of them."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import automl
from automl.errors import InputError
from automl.evaluate import build_ensemble
from automl.evaluate.decision import decide_all
from automl.evaluate.ensemble import BaggedPredictor, ensemble_validation
from automl.evaluate.leaderboard import Predictions, score_candidates
from automl.models import get_family
from automl.budget import Budget
from automl.models.base import Candidate, PreparedData
from automl.models.classic import PORTFOLIO_SUFFIX, SklearnFamily
from automl.progress import Hooks
from automl.resampling import (bag_candidates, bagging_rounds, check_resampling, fold_indices, plan_resampling,
                               rows_data)


# -- policy ----------------------------------------------------------------------------------------------
def test_auto_bags_small_tables_and_holds_out_large_or_rushed_ones():
    small = plan_resampling("auto", 3_000, 30)
    assert (small.kind, small.k, small.label) == ("kfold", 5, "5-fold")
    assert "3000 development rows" in small.reason
    large = plan_resampling("auto", 50_000, 120)
    assert large.kind == "holdout" and "50000" in large.reason and large.label == "holdout"
    rushed = plan_resampling("auto", 1_000, 5)
    assert rushed.kind == "holdout" and "time_budget" in rushed.reason
    assert plan_resampling("holdout", 500, 60).kind == "holdout"
    assert plan_resampling(3, 50_000, 60).k == 3  # an explicit k is kept whatever the size


def test_k_is_lowered_to_the_smallest_class():
    y = np.array([0] * 100 + [1] * 3)
    plan = plan_resampling("auto", len(y), 30, y_dev=y, task="binary")
    assert plan.k == 3 and "smallest class" in plan.reason
    single = plan_resampling(5, 101, 30, y_dev=np.array([0] * 100 + [1]), task="binary")
    assert single.kind == "holdout"


@pytest.mark.parametrize("bad", ["cv", 1, 21, True, 2.5, None])
def test_bad_resampling_names_the_argument(bad):
    with pytest.raises(InputError, match="`resampling` must be 'auto', 'holdout' or a number of folds"):
        check_resampling(bad)


def test_fit_rejects_bad_resampling_before_any_work():
    df = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0)})
    with pytest.raises(InputError, match="resampling"):
        automl.fit(df, "y", resampling="kfold", time_budget=5, verbose=0)


# -- folds and the bag ---------------------------------------------------------------------------------------
def test_stratified_folds_partition_the_rows_with_each_class_in_each_fold():
    y = np.array([0] * 90 + [1] * 10)
    folds = fold_indices(y, 5, "binary", seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(100))
    assert all((y[f] == 1).sum() == 2 for f in folds)  # 10 positives, 2 per fold
    assert [f.tolist() for f in folds] == [f.tolist() for f in fold_indices(y, 5, "binary", seed=0)]


class _Const:
    def __init__(self, proba, classes=None):
        self.proba = np.asarray(proba, dtype=float)
        if classes is not None:
            self.classes_ = np.asarray(classes)

    def predict_proba(self, X):
        return np.tile(self.proba, (len(X), 1))


def test_bag_averages_probabilities_and_fills_classes_a_fold_lacked():
    bag = BaggedPredictor([_Const([0.2, 0.8, 0.0]), _Const([0.6, 0.4], classes=[0, 1])], "multiclass", 3)
    proba = bag.predict_proba(np.zeros((4, 2)))
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba[0], [0.4, 0.6, 0.0])
    assert bag.predict(np.zeros((2, 2))).tolist() == [1, 1]
    assert [w for _, _, w in bag.members] == [0.5, 0.5]


@pytest.fixture(scope="module")
def small_task():
    """A noisy linear binary task: dev rows (train then validation) and a searched linear candidate."""
    rng = np.random.default_rng(0)
    n = 400
    X = rng.normal(size=(n, 5)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 1.0, n) > 0).astype(np.int64)
    data = PreparedData(X_train=X[:300], y_train=y[:300], X_val=X[300:], y_val=y[300:], task="binary",
                        metric="accuracy", n_classes=2, feature_names=[f"x{i}" for i in range(5)])
    family = get_family("linear")
    from automl.budget import Budget
    from automl.progress import make_hooks

    found = family.fit(data, Budget(10.0), make_hooks(0, None)).candidates
    return X, y, data, family, found


def test_out_of_fold_predictions_cover_every_dev_row_from_the_model_that_did_not_see_it(small_task):
    X, y, data, family, found = small_task
    plan = plan_resampling(5, len(y), 30, y_dev=y, task="binary")
    outcome = bag_candidates(found, {family.name: family}, data, X, y, None, plan, deadline=1e12, row_ratio=1.07,
                             max_sets=1)
    assert outcome.info["bagged"] == [found[0].name] and not outcome.info["skipped"]
    bagged = outcome.candidates[0]
    assert isinstance(bagged.predictor, BaggedPredictor) and len(bagged.predictor.fold_models) == 5
    assert bagged.info["validation"] == "5-fold"
    oof = outcome.oof[bagged.name]
    assert oof.pred.shape == (400,) and oof.proba.shape == (400, 2)
    folds = fold_indices(y, 5, "binary", seed=0)
    for member, rows in zip(bagged.predictor.fold_models, folds):
        np.testing.assert_allclose(oof.proba[rows], member.predict_proba(X[rows]))
    # out of fold is honest: a noisy linear rule scores well below its in-sample fit but far above chance
    accuracy = float((oof.pred == y).mean())
    assert 0.65 < accuracy < 0.9
    # leaderboard: validated out of fold over every dev row, scored on test rows by the averaged bag
    board, preds = score_candidates(outcome.candidates, data, X[:50], y[:50], oof=outcome.oof)
    assert board.loc[0, "validation"] == "5-fold"
    assert board.loc[0, "val_score"] == pytest.approx(accuracy)
    assert len(preds[bagged.name].val_y) == 400


def test_refit_of_a_bag_keeps_its_fold_models_and_adds_k_on_every_row(small_task):
    import time

    from automl.refit import all_rows, refit_best

    X, y, data, family, found = small_task
    plan = plan_resampling(5, len(y), 30, y_dev=y, task="binary")
    bagged = bag_candidates(found, {family.name: family}, data, X, y, None, plan, 1e12, 1.07,
                            max_sets=2).candidates[0]  # two sets of 5 fold models
    extra = np.random.default_rng(1).normal(size=(100, 5)).astype(np.float32)  # the test rows join
    X_all = np.vstack([X, extra])
    y_all = np.concatenate([y, (extra[:, 0] > 0).astype(np.int64)])
    outcome = refit_best(bagged, {bagged.name: bagged}, {family.name: family}, all_rows(data, X_all, y_all),
                         time.monotonic() + 60, row_ratio=500 / 300)
    refit = outcome.models[bagged.name].predictor
    searched, added = refit.fold_models
    assert searched is bagged.predictor and len(searched.fold_models) == 10
    assert len(added.fold_models) == 5  # k = 5 more, not one per searched fold model
    # the new five trained on 4/5 of the 500 labelled rows; the searched ten on 4/5 of the 400 dev rows;
    # each half weighs half, however many sets the searched bag has
    assert {m.coef_.shape for m in added.fold_models} == {(1, 5)}
    halves = [np.mean([m.predict_proba(X) for m in bag.fold_models], axis=0) for bag in (searched, added)]
    np.testing.assert_allclose(refit.predict_proba(X), np.mean(halves, axis=0), rtol=1e-5)


def test_time_left_buys_further_bag_sets_on_other_folds(small_task):
    X, y, data, family, found = small_task
    plan = plan_resampling(5, len(y), 30, y_dev=y, task="binary")
    outcome = bag_candidates(found, {family.name: family}, data, X, y, None, plan, 1e12, 1.07, max_sets=3)
    bagged, oof = outcome.candidates[0], outcome.oof[found[0].name]
    assert len(bagged.predictor.fold_models) == 15 and bagged.info["bag_sets"] == 3
    assert bagged.info["validation"] == oof.validation == "5-fold x3"
    # each row's out-of-fold probability is the mean over the sets of the one model per set that left it out
    expected = np.zeros((len(y), 2))
    for set_ in range(3):
        folds = fold_indices(y, 5, "binary", seed=set_)
        for member, rows in zip(bagged.predictor.fold_models[5 * set_:5 * set_ + 5], folds):
            expected[rows] += member.predict_proba(X[rows]) / 3
    np.testing.assert_allclose(oof.proba, expected, rtol=1e-6)
    # the time kept for the refit is not spent on further sets
    kept = bag_candidates(found, {family.name: family}, data, X, y, None, plan, time.monotonic() + 5, 1.07,
                          reserve_share=1e6)
    assert len(kept.candidates[0].predictor.fold_models) == 5 and kept.candidates[0].info["bag_sets"] == 1


def test_fold_fits_run_through_the_joblib_backend(small_task):
    import joblib

    X, y, data, family, found = small_task
    plan = plan_resampling(5, len(y), 30, y_dev=y, task="binary")
    plain = bag_candidates(found, {family.name: family}, data, X, y, None, plan, 1e12, 1.07)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        threaded = bag_candidates(found, {family.name: family}, data, X, y, None, plan, 1e12, 1.07)
    name = found[0].name
    np.testing.assert_allclose(plain.oof[name].proba, threaded.oof[name].proba)


def test_a_bag_that_cannot_finish_in_time_keeps_its_holdout_scores(small_task):
    import time

    X, y, data, family, found = small_task
    plan = plan_resampling(5, len(y), 30, y_dev=y, task="binary")
    outcome = bag_candidates(found, {family.name: family}, data, X, y, None, plan, time.monotonic() - 1, 1.07)
    assert outcome.candidates[0] is found[0] and not outcome.oof
    assert "s left" in outcome.info["skipped"][found[0].name]


def test_a_bag_that_would_take_most_of_the_time_left_waits_for_the_cheaper_ones(small_task):
    import time

    X, y, data, family, found = small_task
    plan = plan_resampling(5, len(y), 30, y_dev=y, task="binary")
    searched = found[0]
    # the same linear model as the best of two families: "slow" claims 1.6 s per fit (8 s for 5 folds),
    # "quick" next to nothing; "second" is the other family's second best
    slow = Candidate("slow", "linear", dict(searched.params), searched.predictor, fit_time_s=1.6)
    quick = Candidate("quick", "other", dict(searched.params), searched.predictor, fit_time_s=0.001)
    second = Candidate("second", "other", dict(searched.params), searched.predictor, fit_time_s=0.001)
    families = {"linear": family, "other": family}
    order = bag_candidates([slow, quick, second], families, data, X, y, None, plan,
                           time.monotonic() + 10, row_ratio=1.0).info["bagged"]
    # 8 s of 10 left: deferred behind the cheaper best of the other family, then made with the time still
    # left -- before any family's second best
    assert order == ["quick", "slow", "second"]
    roomy = bag_candidates([slow, quick, second], families, data, X, y, None, plan,
                           time.monotonic() + 100, row_ratio=1.0).info["bagged"]
    assert roomy == ["slow", "quick", "second"]


def test_each_familys_best_is_bagged_before_any_familys_second():
    def item(family, score, position):
        return (score, position, Candidate(f"{family}_{position}", family, {}, None, fit_time_s=1.0))

    scored = [item("xgboost", 0.93, 0), item("xgboost", 0.92, 1), item("xgboost", 0.915, 2),
              item("catboost", 0.91, 3), item("linear", 0.80, 4), item("catboost", 0.90, 5)]
    order = [c.name for round_ in bagging_rounds(scored) for _, _, c in round_]
    assert order == ["xgboost_0", "catboost_3", "linear_4", "xgboost_1", "catboost_5", "xgboost_2"]


def test_rows_data_has_no_validation_rows(small_task):
    X, y, data, _, _ = small_task
    fold = rows_data(data, X[:10], y[:10], None)
    assert fold.X_train.shape == (10, 5) and len(fold.y_val) == 0 and fold.task == "binary"


class _Neighbours(SklearnFamily):
    """k-nearest neighbours whose only default configuration (k = 150) is far worse than the random ones (k <= 5)."""

    name = "neighbours"

    def make_estimator(self, params, data):
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=params["k"])

    def default_configs(self, data):
        return [{"k": 150}]

    def sample_config(self, rng, data):
        return {"k": int(rng.integers(1, 6))}


def test_a_family_offers_its_best_default_beside_the_searched_best():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2)).astype(np.float32)
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)  # a checkerboard: local neighbours win
    data = PreparedData(X_train=X[:300], y_train=y[:300], X_val=X[300:], y_val=y[300:], task="binary",
                        metric="accuracy", n_classes=2, feature_names=["a", "b"], seed=0)
    searched, portfolio = _Neighbours(max_configs=4).fit(data, Budget(60), Hooks()).candidates
    assert (searched.name, portfolio.name) == ("neighbours", "neighbours" + PORTFOLIO_SUFFIX)
    assert portfolio.family == "neighbours" and portfolio.params == {"k": 150}
    assert searched.params["k"] <= 5
    assert data.val_score(searched.predictor) > data.val_score(portfolio.predictor)
    # where a default configuration is the best, it is offered alone
    alone = _Neighbours(max_configs=1).fit(data, Budget(60), Hooks()).candidates
    assert [c.name for c in alone] == ["neighbours"] and alone[0].params == {"k": 150}


# -- ensemble and decisions on out-of-fold predictions -----------------------------------------------------
def _oof_members(n_dev=300, n_val=40, seed=0):
    """Three noisy members with out-of-fold predictions over ``n_dev`` rows (the split has ``n_val``)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_dev)
    data = PreparedData(X_train=np.zeros((5, 1), np.float32), y_train=y[:5], X_val=np.zeros((n_val, 1), np.float32),
                        y_val=y[:n_val], task="binary", metric="accuracy", n_classes=2, feature_names=["x"])
    candidates, preds = [], {}
    for i in range(3):
        p = 1 / (1 + np.exp(-((2 * y - 1) * 0.8 + rng.normal(0, 1.5, n_dev))))
        proba = np.column_stack([1 - p, p])
        candidates.append(Candidate(f"m{i}", "test", {}, _Const([0.5, 0.5]), fit_time_s=1.0))
        preds[f"m{i}"] = Predictions(proba.argmax(1), proba, proba[:10].argmax(1), proba[:10], val_y=y,
                                     validation="5-fold")
    return data, candidates, preds, y


def test_ensemble_is_selected_on_out_of_fold_rows():
    data, candidates, preds, y = _oof_members()
    combined = build_ensemble(candidates, preds, data)
    assert combined is not None and combined.info["selected_on"] == "out-of-fold (5-fold)"
    folds = ensemble_validation(combined, preds)
    assert folds is not None and folds.proba.shape == (300, 2) and folds.validation == "5-fold"
    expected = sum(w * preds[name].val_proba for name, _, w in combined.predictor.members)
    np.testing.assert_allclose(folds.proba, expected)
    # the average of independent noisy members beats the best member on the out-of-fold rows
    best_single = max(float((preds[c.name].val_pred == y).mean()) for c in candidates)
    assert float((folds.pred == y).mean()) >= best_single - 0.01


def test_decisions_use_each_models_own_validation_rows():
    data, candidates, preds, y = _oof_members()
    board = pd.DataFrame({"model": ["m0", "m1"]})
    decisions, board, info = decide_all(board, preds, data.y_val, y[:10], task="binary", metric="accuracy")
    assert set(decisions) == {"m0", "m1"}
    assert 0.0 < decisions["m0"].threshold < 1.0
    assert np.isfinite(board["val_at_threshold"]).all()


# -- fit end to end ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bagged_fit(breast_cancer_df):
    from automl.models.boosting import LightGBMFamily
    from automl.models.classic import LinearFamily

    # configurations capped by count, not by the clock: the search ends early and bagging has time on a busy machine
    return automl.fit(breast_cancer_df, "target", families=[LinearFamily(max_configs=2), LightGBMFamily(max_configs=2)],
                      time_budget=60, verbose=0, resampling=3, seed=0)


def test_fit_bags_ranks_out_of_fold_and_stays_in_budget(bagged_fit):
    r = bagged_fit
    info = r.info["resampling"]
    assert info["kind"] == "kfold" and info["k"] == 3 and "resampling=3" in info["reason"]
    assert set(info["bagged"]) == {"linear", "lightgbm"}
    board = r.leaderboard
    # "3-fold", or "3-fold x2" ... where time was left for further sets of folds
    assert board["validation"].str.fullmatch(r"3-fold( x[2-4])?|holdout").all()
    assert board.loc[board["model"].isin(["linear", "lightgbm"]), "validation"].str.startswith("3-fold").all()
    assert set(info["bag_sets"]) <= {"linear", "lightgbm"}
    if (r.info["selection"] or {}).get("chosen") == "ensemble":  # first although a single model led, by noise
        board = board.iloc[1:]
    held_out = board["validation"].eq("holdout")
    assert held_out.is_monotonic_increasing  # bagged models rank before those that kept holdout scores
    assert board.loc[~held_out, "val_score"].is_monotonic_decreasing
    assert (board["test_score"] > 0.9).all()
    assert r.info["elapsed_s"] <= 60 * 1.1
    assert r.decisions  # calibration / threshold chosen on out-of-fold predictions


def test_bagged_result_saves_loads_and_explains(bagged_fit, breast_cancer_df, tmp_path):
    r = bagged_fit
    X = breast_cancer_df.drop(columns="target").head(20)
    r.save(tmp_path / "bagged")
    loaded = automl.load(tmp_path / "bagged")
    np.testing.assert_allclose(loaded.predict_proba(X).to_numpy(), r.predict_proba(X).to_numpy())
    assert list(loaded.leaderboard["validation"]) == list(r.leaderboard["validation"])
    name = "lightgbm"
    contrib = r.explain(X.head(3), model=name, output="probability", max_seconds=20)
    model = r.model(name)
    assert isinstance(model.predictor, BaggedPredictor)
    # the bag's explanation is its fold models' averaged, so it adds up to the bag's own (uncalibrated) output;
    # within 1e-3 only: shap's interventional TreeSHAP of one LightGBM model in probability space is itself off
    # by ~3e-4 on these rows (measured, single model, no bag)
    raw = model.predictor.predict_proba(np.asarray(model.transform(X.head(3)), dtype=np.float32))[:, 1]
    np.testing.assert_allclose(contrib.attrs["prediction"], raw, atol=1e-9)
    total = contrib.sum(axis=1).to_numpy() + contrib.attrs["base_value"]
    np.testing.assert_allclose(total, raw, atol=1e-3)


@pytest.mark.slow
def test_bagged_network_saves_and_loads(breast_cancer_df, tmp_path):
    # one trial ends the search early (max_trials), so the two fold fits have time whatever the machine's load
    r = automl.fit(breast_cancer_df, "target", families=["neural_network"], time_budget=60, verbose=0,
                   resampling=2, refit=False, network={"tuner": "random", "max_trials": 1, "max_epochs": 3,
                                                       "directory": str(tmp_path / "search")})
    bagged = [m for m in r.models.values() if isinstance(m.predictor, BaggedPredictor)]
    assert bagged, r.info["resampling"]
    assert r.leaderboard.loc[0, "validation"] == "2-fold"
    X = breast_cancer_df.drop(columns="target").head(10)
    r.save(tmp_path / "net")
    loaded = automl.load(tmp_path / "net")
    np.testing.assert_allclose(loaded.predict_proba(X).to_numpy(), r.predict_proba(X).to_numpy(), atol=1e-6)


def test_stack_learns_on_out_of_fold_predictions_with_its_own_out_of_fold_score():
    from automl.resampling import build_stack

    data, candidates, preds, y = _oof_members()
    for c in candidates:  # build_stack stacks bags
        c.predictor = BaggedPredictor([c.predictor] * 5, "binary", 2)
    candidate, folds = build_stack(candidates, preds, data)
    assert candidate.name == "stack" and candidate.params["stacker"] == "LogisticRegression"
    assert folds.proba.shape == (300, 2) and folds.validation == "5-fold"
    # three independent noisy views: the stack's out-of-fold accuracy beats the best single view
    best_single = max(float((preds[c.name].val_pred == y).mean()) for c in candidates)
    assert float((folds.pred == y).mean()) > best_single
    assert candidate.predictor.predict_proba(np.zeros((4, 1))).shape == (4, 2)


def test_fit_with_stack_adds_an_out_of_fold_row(breast_cancer_df):
    from automl.models.boosting import LightGBMFamily
    from automl.models.classic import LinearFamily

    r = automl.fit(breast_cancer_df.iloc[:300], "target", families=[LinearFamily(max_configs=2),
                   LightGBMFamily(max_configs=2)], time_budget=60, verbose=0, resampling=3, stack=True, refit=False)
    row = r.leaderboard.set_index("model").loc["stack"]
    assert row["validation"].startswith("3-fold") and 0.85 < row["val_score"] <= 1.0 and row["test_score"] > 0.85
    assert r.predict(breast_cancer_df.head(5)).shape == (5,)
