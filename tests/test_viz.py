"""The figures read the result and draw what it holds: values, counts and labels checked."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

import automl
from automl import viz
from automl.errors import InputError
from report_cases import evil_fit, fitted, with_network


@pytest.fixture(scope="module")
def binary():
    return fitted("binary")


@pytest.fixture(scope="module")
def multiclass():
    return fitted("multiclass")


@pytest.fixture(scope="module")
def regression():
    return fitted("regression")


def _traces(fig, kind):
    return [t for t in fig.data if t.type == kind]


def test_leaderboard_figure_draws_every_split_and_the_gap(binary):
    fig = viz.leaderboard_figure(binary)
    board = binary.leaderboard
    bars = {t.name: t for t in _traces(fig, "bar")}
    assert set(bars) == {"train", "validation", "test", "gap"}
    # best model drawn on top: plotly lists categories bottom-up
    assert list(bars["validation"].y)[::-1] == list(board["model"])
    np.testing.assert_allclose(list(bars["validation"].x)[::-1], board["val_score"])
    np.testing.assert_allclose(list(bars["test"].x)[::-1], board["test_score"])
    np.testing.assert_allclose(list(bars["gap"].x)[::-1], board["gap"])


def test_leaderboard_figure_shows_lower_is_better_metrics_in_their_units(diabetes_df):
    result = automl.fit(diabetes_df, "target", metric="rmse", families=["linear"], time_budget=2, verbose=0)
    fig = viz.leaderboard_figure(result)
    validation = next(t for t in fig.data if t.name == "validation")
    # bottom-up like every leaderboard figure: the best model is the last bar
    np.testing.assert_allclose(list(validation.x)[::-1], -result.leaderboard["val_score"])
    assert 20 < validation.x[-1] < 100  # an RMSE on the diabetes target, positive
    assert "lower is better" in fig.layout.annotations[0].text


def test_confusion_matrix_counts_every_test_row(binary, multiclass):
    for result in (binary, multiclass):
        fig = viz.confusion_matrix_figure(result)
        z = np.asarray(fig.data[0].z)
        n = len(result.test["y"])
        assert z.shape == (len(result.classes),) * 2
        assert z.sum() == n
        assert np.trace(z) / n == pytest.approx(result.leaderboard["test_score"].iloc[0])  # metric: accuracy
        shares = np.asarray(viz.confusion_matrix_figure(result, normalize=True).data[0].z)
        np.testing.assert_allclose(shares.sum(axis=1), 1.0)


def test_roc_and_pr_curves_per_class(binary, multiclass):
    fig = viz.roc_figure(binary)
    curves = [t for t in fig.data if t.name != "chance"]
    assert len(curves) == 1
    out = binary.test["predictions"][binary.best_model_name]
    auc = roc_auc_score(binary.test["y"], out["proba"][:, 1])
    assert f"AUC {auc:.3f}" in curves[0].name
    assert 0.9 < auc <= 1.0
    fig = viz.roc_figure(multiclass)
    assert len([t for t in fig.data if t.name != "chance"]) == len(multiclass.classes)
    pr = viz.pr_figure(multiclass)
    assert len([t for t in pr.data if t.showlegend is not False]) == len(multiclass.classes)
    for trace in pr.data:
        assert 0.0 <= min(trace.y) and max(trace.y) <= 1.0


def test_calibration_bins_hold_every_row(multiclass):
    fig = viz.calibration_figure(multiclass)
    curves = [t for t in fig.data if t.name != "perfectly calibrated"]
    assert len(curves) == len(multiclass.classes)
    for trace in curves:
        assert int(np.sum(trace.customdata)) == len(multiclass.test["y"])
        assert all(0.0 <= v <= 1.0 for v in trace.y)


def test_regression_figures(regression):
    name = regression.best_model_name
    y = regression.test["y"]
    pred = regression.test["predictions"][name]["pred"]
    fig = viz.predicted_vs_actual_figure(regression)
    points = next(t for t in fig.data if t.mode == "markers")
    assert len(points.x) == len(y)
    np.testing.assert_allclose(points.y, pred)
    residuals = viz.residuals_figure(regression)
    scatter = next(t for t in residuals.data if t.type == "scatter")
    np.testing.assert_allclose(scatter.y, y - pred)
    assert set(viz.evaluation_figures(regression)) == {"predicted_vs_actual", "residuals"}
    assert set(viz.evaluation_figures(regression, model=name)) == {"predicted_vs_actual", "residuals"}


def test_figures_refuse_the_wrong_task_or_an_unknown_model(binary, regression):
    with pytest.raises(InputError, match="classification results"):
        viz.confusion_matrix_figure(regression)
    with pytest.raises(InputError, match="regression results"):
        viz.residuals_figure(binary)
    with pytest.raises(InputError, match="'nope'.*choose one of"):
        viz.roc_figure(binary, model="nope")


def test_training_curves_mark_the_kept_epoch(binary):
    empty = viz.training_curves_figure(binary)
    assert "No model in this result records training curves" in empty.layout.annotations[0].text
    with pytest.raises(InputError, match="records no training history"):
        viz.training_curves_figure(binary, model=binary.best_model_name)
    result = with_network(binary, best_epoch=4, epochs=7)
    fig = viz.training_curves_figure(result)
    assert "neural_network" in fig.layout.title.text and "early stopping" in fig.layout.title.text
    lines = [t for t in fig.data if t.type == "scatter"]
    assert {t.name for t in lines} == {"train", "validation"}
    assert len(lines) == 4  # loss and accuracy, train and validation each
    assert all(len(t.x) == 7 for t in lines)
    marks = [s for s in fig.layout.shapes if s.x0 == s.x1]
    assert len(marks) == 2 and all(s.x0 == 5 for s in marks)  # best_epoch is an index; epochs count from 1


def test_search_history_and_hyperparameters(binary, tmp_path):
    trials = binary.trials
    scored = int(((trials["status"] == "ok") & trials["score"].notna()).sum())
    fig = viz.search_history_figure(binary)
    points = [t for t in fig.data if t.mode == "markers" and t.name != "failed"]
    assert sum(len(t.x) for t in points) == scored
    best = next(t for t in fig.data if t.name == "best so far")
    assert np.all(np.diff(best.y) >= 0)
    assert max(best.y) == pytest.approx(trials["score"].max())

    hp = viz.hyperparameter_figure(binary, family="linear")
    linear = trials[(trials["family"] == "linear") & (trials["status"] == "ok")]
    assert len(hp.data[0].x) == len(linear)
    assert hp.layout.xaxis.type == "log"  # C spans several orders of magnitude
    with pytest.raises(InputError, match="`family`='nope' has no trials"):
        viz.hyperparameter_figure(binary, family="nope")

    loaded = automl.load(binary.save(tmp_path / "saved"))
    assert isinstance(loaded.trials["params"].iloc[0], dict)  # decoded back from JSON on load
    again = viz.hyperparameter_figure(loaded, family="linear")
    np.testing.assert_allclose(again.data[0].x, hp.data[0].x)


def test_importance_figure_draws_the_table_it_is_given(regression):
    table = regression.feature_importance()
    fig = viz.importance_figure(table, model=regression.best_model_name, metric=regression.metric)
    bars = fig.data[0]
    assert len(bars.y) == min(20, len(table))
    top = table.head(20)
    assert list(bars.y)[::-1] == list(top["feature"])
    np.testing.assert_allclose(list(bars.x)[::-1], top["importance"])
    assert table["importance"].iloc[0] > 0.01  # some column of the diabetes data matters
    assert regression.best_model_name in fig.layout.title.text and regression.metric in fig.layout.xaxis.title.text
    # the figure never starts an importance run: it refuses a result and names the method that computes
    with pytest.raises(InputError, match=r"feature_importance"):
        viz.importance_figure(regression)
    with pytest.raises(InputError, match=r"lacks the column\(s\) \['std'\]"):
        viz.importance_figure(table.drop(columns=["std"]))


def test_diagnostics_are_plain_tables_computed_once(binary, multiclass, regression, monkeypatch):
    import dataclasses

    from automl.evaluate import curves

    d = binary.diagnostics()
    out = binary.test["predictions"][binary.best_model_name]
    y = np.asarray(binary.test["y"])
    assert d.model == binary.best_model_name and d.rows == len(y)
    assert int(d.confusion.to_numpy().sum()) == len(y)
    assert list(d.confusion.index) == [str(c) for c in binary.classes]
    assert d.roc["auc"].iloc[0] == pytest.approx(roc_auc_score(y, out["proba"][:, 1]))
    assert d.roc["fpr"].between(0, 1).all() and d.roc["tpr"].is_monotonic_increasing
    assert d.pr["prevalence"].iloc[0] == pytest.approx(float(np.mean(y == 1)))
    assert int(d.calibration["rows"].sum()) == len(y)
    np.testing.assert_allclose(d.confusion_shares().sum(axis=1), 1.0)
    assert binary.diagnostics() is d  # cached on the result
    m = multiclass.diagnostics()
    assert sorted(m.roc["code"].unique()) == list(range(len(multiclass.classes)))
    r = regression.diagnostics()
    assert r.confusion is None and r.roc is None
    np.testing.assert_allclose(r.residuals["residual"], r.residuals["actual"] - r.residuals["predicted"])
    assert r.scores["rmse"] == pytest.approx(float(np.sqrt(np.mean(r.residuals["residual"] ** 2))))

    # the figures of one model read the tables computed once; drawing computes nothing more
    calls = []
    real = curves.diagnose
    monkeypatch.setattr(curves, "diagnose", lambda result, name: calls.append(name) or real(result, name))
    fresh = dataclasses.replace(binary, _diagnostics={})
    figures = viz.evaluation_figures(fresh)
    assert calls == [binary.best_model_name] and len(figures) == 5
    roc = next(t for t in figures["roc"].data if t.name != "chance")
    np.testing.assert_allclose(roc.x, d.roc["fpr"])
    with pytest.raises(InputError, match="'nope'.*choose one of"):
        fresh.diagnostics("nope")


def test_user_strings_are_escaped_inside_figures():
    result = evil_fit()
    fig = viz.confusion_matrix_figure(result)
    assert "&lt;img src=x onerror=alert(2)&gt;" in fig.data[0].x
    text = fig.to_json()
    assert "<img" not in text and "</script" not in text.lower()
    importance = viz.importance_figure(result.feature_importance(), model=result.best_model_name)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in importance.data[0].y


def test_shared_look(binary):
    figures = [viz.leaderboard_figure(binary), viz.search_history_figure(binary),
               *viz.evaluation_figures(binary).values()]
    assert set(viz.evaluation_figures(binary)) == {"confusion_matrix", "confusion_matrix_normalized", "roc",
                                                   "precision_recall", "calibration"}
    for fig in figures:
        layout = fig.layout.template.layout
        assert layout.paper_bgcolor == "rgba(0,0,0,0)" and layout.plot_bgcolor == "rgba(0,0,0,0)"
        assert fig.layout.height >= 250
        json.loads(fig.to_json())  # serialisable for the report and the notebook
