"""Custom metrics (``metric=`` a Metric or a scikit-learn scorer), average precision, and ``sample_weight=``."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

import automl
from automl import metrics as am
from automl.errors import InputError


# --- metrics -----------------------------------------------------------------------------------------------------

def test_average_precision_is_a_metric_and_matches_sklearn():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.1).astype(int)
    p1 = np.clip(0.3 * y + rng.random(300) * 0.7, 0, 1)
    proba = np.column_stack([1 - p1, p1])
    w = rng.uniform(0.5, 2.0, 300)
    metric = am.get_metric("average_precision", "binary")
    assert "average_precision" in am.metrics_for("binary") and metric.greater_is_better and metric.needs_proba
    assert metric.natural(y, None, proba) == pytest.approx(skm.average_precision_score(y, p1))
    assert metric.natural(y, None, proba, w) == pytest.approx(skm.average_precision_score(y, p1, sample_weight=w))
    assert am.get_metric("pr_auc", "binary") is metric


def test_a_plain_function_needs_a_declared_direction(breast_cancer_df):
    with pytest.raises(InputError, match="greater_is_better"):
        automl.fit(breast_cancer_df, "target", metric=skm.accuracy_score, families=["linear"], verbose=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"function": lambda y, p: 0.0, "greater_is_better": True}, "name="),
    ({"function": skm.accuracy_score, "greater_is_better": True, "name": "accuracy"}, "built-in"),
    ({"function": skm.accuracy_score, "greater_is_better": "yes"}, "greater_is_better"),
    ({"function": skm.accuracy_score, "greater_is_better": True, "tasks": ["ranking"]}, "tasks"),
])
def test_make_metric_checks_its_arguments(kwargs, message):
    function = kwargs.pop("function")
    with pytest.raises(InputError, match=message):
        am.make_metric(function, **kwargs)


@pytest.fixture(scope="module")
def mape_run(tmp_path_factory):
    from automl.datasets import diabetes
    mape = am.make_metric(skm.mean_absolute_percentage_error, greater_is_better=False, name="mape")
    result = automl.fit(diabetes(), "target", metric=mape, families=["linear", "lightgbm"], time_budget=5, verbose=0)
    return result, tmp_path_factory.mktemp("mape")


def test_custom_lower_is_better_metric_ranks_and_scores(mape_run):
    result, _ = mape_run
    board = result.leaderboard
    assert result.metric == "mape"
    assert (board["val_score"] < 0).all()  # oriented: -MAPE, higher is better
    assert list(board["val_score"]) == sorted(board["val_score"], reverse=True)
    best = board.iloc[0]
    pred = result.test["predictions"][best["model"]]["pred"]
    assert best["test_score"] == pytest.approx(-skm.mean_absolute_percentage_error(result.test["y"], pred))


def test_custom_metric_name_reaches_the_report_and_survives_save_load(mape_run, monkeypatch):
    result, tmp = mape_run
    path = result.save(tmp / "saved")
    # a fresh process knows no custom metric: only its saved name and direction come back
    monkeypatch.setattr(am, "_CUSTOM", {})
    loaded = automl.load(path)
    assert loaded.metric == "mape"
    metric = am.get_metric("mape", "regression")
    assert metric.custom and not metric.greater_is_better
    assert np.isnan(metric.natural(np.ones(3), np.ones(3)))  # the function itself was not saved
    loaded.report(tmp / "loaded.html")
    assert "mape" in (tmp / "loaded.html").read_text()


def test_sklearn_scorers_are_accepted_with_their_direction_and_name(breast_cancer_df):
    f2 = skm.make_scorer(skm.fbeta_score, beta=2)
    result = automl.fit(breast_cancer_df, "target", metric=f2, families=["linear"], time_budget=3, verbose=0)
    assert result.metric == "fbeta_score(beta=2)"
    row = result.leaderboard.iloc[0]
    pred = result.test["predictions"][row["model"]]["pred"]
    assert row["test_score"] == pytest.approx(skm.fbeta_score(result.test["y"], pred, beta=2))

    auc = skm.make_scorer(skm.roc_auc_score, response_method="predict_proba")
    result = automl.fit(breast_cancer_df, "target", metric=auc, families=["linear"], time_budget=3, verbose=0)
    row = result.leaderboard.iloc[0]
    proba = result.test["predictions"][row["model"]]["proba"]
    assert row["test_score"] == pytest.approx(skm.roc_auc_score(result.test["y"], proba[:, 1]))

    loss = skm.make_scorer(skm.log_loss, greater_is_better=False, response_method="predict_proba")
    assert not am.resolve_metric(loss, "binary").greater_is_better


# --- sample_weight ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("column, values, message", [
    ("nope", None, "not a column"),
    ("w", ["a"] * 569, "numeric"),
    ("w", [1.0] * 568 + [np.nan], "missing or infinite"),
    ("w", [1.0] * 568 + [-1.0], "negative"),
    ("w", [0.0] * 569, "sums to zero"),
    ("target", None, "target"),
])
def test_sample_weight_is_checked(breast_cancer_df, column, values, message):
    frame = breast_cancer_df.copy()
    if values is not None:
        frame["w"] = values
    with pytest.raises(InputError, match=message) as info:
        automl.fit(frame, "target", sample_weight=column, families=["linear"], time_budget=2, verbose=0)
    assert "sample_weight" in str(info.value)


def test_weighted_scores_use_the_weights_and_the_column_is_no_feature(breast_cancer_df):
    frame = breast_cancer_df.copy()
    frame["w"] = 1.0 + 4.0 * frame["target"]  # known from the label, so test weights can be rebuilt
    result = automl.fit(frame, "target", sample_weight="w", families=["linear"], time_budget=3, verbose=0)
    assert "w" not in set(result.schema.to_frame().iloc[:, 0].astype(str))
    assert result.info["sample_weight"] == "w"
    row = result.leaderboard.iloc[0]
    y = result.test["y"]
    pred = result.test["predictions"][row["model"]]["pred"]
    weights = 1.0 + 4.0 * result.classes[y].astype(float)
    assert row["test_score"] == pytest.approx(skm.accuracy_score(y, pred, sample_weight=weights))
    # new rows need no weight column
    assert len(result.predict(breast_cancer_df.drop(columns="target").head(5))) == 5


@pytest.fixture(scope="module")
def poisoned():
    """Breast cancer with the label of a random half of the rows flipped, those rows weighing 0."""
    from automl.datasets import breast_cancer
    frame = breast_cancer()
    flip = np.random.default_rng(0).random(len(frame)) < 0.5
    truth = frame["target"].to_numpy()
    frame = frame.assign(target=np.where(flip, 1 - truth, truth), w=np.where(flip, 0.0, 1.0))
    return frame, truth


def test_every_family_trains_with_the_weights(poisoned):
    frame, truth = poisoned
    # LightGBM first: a family squeezed to its last second would stop after a few rounds, whatever the weights
    families = ["lightgbm", "linear", "random_forest", "gradient_boosting"]
    # holdout: the refit below must happen within 10 s (a bag's refit is a whole new bag); bagging with weights
    # has its own test just after
    result = automl.fit(frame, "target", sample_weight="w", families=families, time_budget=10, verbose=0,
                        ensemble=False, resampling="holdout")
    board = result.leaderboard.set_index("family")
    assert set(board.index) == set(families)
    # the zero-weight rows carry wrong labels: only a family that honours the weights learns the real ones
    # (the weighted test accuracy counts the right rows only; trained unweighted, accuracy is about 0.6)
    assert (board["test_score"] > 0.85).all(), board[["val_score", "test_score"]]
    assert (board["val_score"] > 0.85).all()
    best = result.leaderboard.iloc[0]["model"]
    assert best in result.refitted
    # the refit on every labelled row kept the weights too (raw model: calibration and threshold aside)
    X = np.asarray(result.preprocessor.transform(frame.drop(columns=["target", "w"])), dtype=np.float32)
    refit_pred = result.refitted[best].predictor.predict(X)
    assert (result.classes[refit_pred] == truth).mean() > 0.9, best


def test_bagged_folds_train_with_the_weights(poisoned):
    frame, truth = poisoned
    result = automl.fit(frame, "target", sample_weight="w", families=["linear"], time_budget=10, verbose=0,
                        ensemble=False, refit=False, resampling=3)
    row = result.leaderboard.iloc[0]
    assert row["validation"].startswith("3-fold"), result.info["resampling"]
    # every fold model ignored the zero-weight (flipped) rows, or the out-of-fold and test scores would be ~0.6
    assert row["val_score"] > 0.85 and row["test_score"] > 0.85, row
