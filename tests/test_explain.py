"""Explanations as data: contributions that add up, on the user's columns; importance; PDP/ICE."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

import automl
from automl.evaluate import EnsemblePredictor
from automl.evaluate.explain import _output_fn
from automl.models.base import Candidate
from automl.models.boosting import BoostedModel
from automl.preprocess import feature_sources, one_hot_blocks


def _table(n=600, seed=0, task="binary"):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "income": rng.lognormal(10, 0.5, n),
        "colour": rng.choice(["red", "green", "blue", "grey"], n),
        "noise": rng.normal(size=n),
        "visits": rng.poisson(3, n),  # integers
    })
    frame.loc[rng.random(n) < 0.1, "income"] = np.nan  # a missing-value indicator joins "income"
    frame.loc[rng.random(n) < 0.05, "colour"] = None  # a "(missing)" level joins "colour"
    signal = 0.15 * (frame["age"] - 40) + (frame["colour"] == "red") * 2.0 - 1.0
    if task == "regression":
        frame["y"] = signal + rng.normal(0, 0.3, n)
    else:
        frame["y"] = np.where(signal + rng.logistic(size=n) > 0, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def binary():
    frame = _table()
    result = automl.fit(frame, "y", families=["linear", "random_forest", "gradient_boosting"], time_budget=6,
                        verbose=0, ensemble=False)
    # an ensemble of the three, weighted as automl's greedy selection weighs its members, and a model
    # that is neither a tree nor linear (the path networks take)
    members = [(name, result.refitted.get(name, result.models[name]).predictor, w)
               for name, w in zip(["linear", "random_forest", "gradient_boosting"], [0.5, 0.3, 0.2])]
    prepared = result.preprocessor.transform(frame.drop(columns="y"))
    labels = (frame["y"] == "yes").astype(int).to_numpy()
    knn = KNeighborsClassifier(15).fit(prepared, labels)
    extra = {"ensemble": Candidate("ensemble", "ensemble", {}, EnsemblePredictor(members, "binary"), 0.0),
             "knn": Candidate("knn", "knn", {}, knn, 0.0)}
    try:  # automl's LightGBM family wraps the library's estimator the same way
        import lightgbm

        booster = lightgbm.LGBMClassifier(n_estimators=40, verbose=-1).fit(prepared, labels)
        extra["lightgbm"] = Candidate("lightgbm", "lightgbm", {}, BoostedModel(booster, "binary", 2), 0.0)
        # one reading "colour" as a native category code beside the matrix: contributions add up only if
        # the code's share is folded back onto the colour's one-hot columns
        native = BoostedModel(None, "binary", 2, category_blocks=one_hot_blocks(result.preprocessor))
        codes = native.code_columns(prepared.shape[1])
        seen = native.features(prepared)
        seen[:, native.category_blocks[0]] = 0.0  # constant one-hot levels: the trees must split on the code
        native.estimator = lightgbm.LGBMClassifier(n_estimators=40, verbose=-1).fit(
            seen, labels, categorical_feature=codes)
        assert native.estimator.feature_importances_[codes].sum() > 0  # the trees split on the code
        extra["lightgbm_native"] = Candidate("lightgbm_native", "lightgbm", {}, native, 0.0)
    except ImportError:
        pass
    board = pd.concat([result.leaderboard, pd.DataFrame({"model": list(extra), "family": list(extra)})],
                      ignore_index=True)
    return dataclasses.replace(result, models={**result.models, **extra}, leaderboard=board), frame


def _explained_output(result, frame, contrib):
    fitted = result.model(contrib.attrs["model"])
    X = np.asarray(fitted.transform(frame.loc[contrib.index.get_level_values(0).unique()]), dtype=float)
    classes = [0] if result.task == "regression" else (
        [1] if result.task == "binary" else list(range(len(result.classes))))
    return _output_fn(fitted.predictor, result.task, contrib.attrs["output"], classes)(X)


@pytest.mark.parametrize("model, output, method", [
    ("linear", "auto", "linear"),
    ("random_forest", "auto", "tree_path_dependent"),
    ("gradient_boosting", "auto", "tree_path_dependent"),
    ("gradient_boosting", "probability", "tree_interventional"),
    ("ensemble", "auto", None),
    ("knn", "auto", "permutation"),
    ("lightgbm", "auto", "tree_path_dependent"),
    ("lightgbm_native", "auto", "tree_path_dependent"),
])
def test_contributions_add_up_to_the_model_output(binary, model, output, method):
    result, frame = binary
    if model not in result.models:
        pytest.skip("lightgbm is not installed")
    rows = frame.drop(columns="y").iloc[:12 if model == "knn" else 40]
    contrib = result.explain(rows, model=model, output=output)
    assert list(contrib.columns) == ["age", "income", "colour", "noise", "visits"]  # the user's, one-hot folded
    assert list(contrib.index) == list(rows.index)
    if method is not None:
        assert contrib.attrs["method"] == method
    expected = _explained_output(result, frame, contrib)[:, 0]
    total = contrib.sum(axis=1).to_numpy() + contrib.attrs["base_value"]
    np.testing.assert_allclose(total, expected, atol=1e-6, rtol=0)
    np.testing.assert_allclose(contrib.attrs["prediction"], expected, atol=1e-9)
    assert contrib.attrs["class"] == "yes"
    # the signal lives in age and colour; noise should matter least
    magnitude = contrib.abs().mean()
    assert magnitude["noise"] < max(magnitude["age"], magnitude["colour"])


def test_ensemble_combines_member_explanations_with_its_weights(binary):
    result, frame = binary
    rows = frame.drop(columns="y").iloc[:15]
    whole = result.explain(rows, model="ensemble")
    assert whole.attrs["output"] == "probability"
    parts = [(result.explain(rows, model=name, output="probability"), w)
             for name, w in [("linear", 0.5), ("random_forest", 0.3), ("gradient_boosting", 0.2)]]
    # the linear member is explained by permutation, seeded alike: the weighted sum is the ensemble's
    combined = sum(w * p for p, w in parts)
    np.testing.assert_allclose(whole.to_numpy(), combined.to_numpy(), atol=1e-9)
    assert whole.attrs["base_value"] == pytest.approx(sum(w * p.attrs["base_value"] for p, w in parts))


def test_time_bound_explains_a_random_subset(binary):
    result, frame = binary
    rows = frame.drop(columns="y")
    with pytest.warns(automl.AutomlWarning, match="rows explained within max_seconds"):
        contrib = result.explain(rows, model="knn", max_seconds=0.3)
    assert 1 <= contrib.attrs["rows_explained"] < len(rows) == contrib.attrs["rows_requested"]
    assert contrib.index.is_monotonic_increasing and contrib.index.isin(rows.index).all()


def test_explain_checks_its_arguments(binary):
    result, frame = binary
    rows = frame.drop(columns="y").iloc[:3]
    with pytest.raises(automl.InputError, match="`output`"):
        result.explain(rows, output="logit")
    with pytest.raises(automl.InputError, match="regression"):
        result.explain(rows, output="value")
    with pytest.raises(automl.InputError, match="max_seconds"):
        result.explain(rows, max_seconds=0)
    with pytest.raises(automl.InputError, match="colour"):
        result.explain(rows.drop(columns="colour"))


def test_feature_sources_map_prepared_columns_to_input_columns(binary):
    result, _ = binary
    sources = feature_sources(result.preprocessor)
    assert list(sources) == [str(n) for n in result.preprocessor.get_feature_names_out()]
    assert set(sources.values()) == {"age", "income", "colour", "noise", "visits"}
    assert sum(v == "colour" for v in sources.values()) == 5  # four one-hot levels and "(missing)"
    assert sum(v == "income" for v in sources.values()) == 2  # value + missing indicator


def test_shap_importance_names_its_method_and_ranks_signal_first(binary):
    result, _ = binary
    table = result.feature_importance(method="shap", model="gradient_boosting")
    assert "shap" in table.attrs["method"] and "tree_path_dependent" in table.attrs["method"]
    assert set(table["feature"][:2]) == {"age", "colour"}
    assert result.feature_importance(model="gradient_boosting").attrs["method"] == "permutation"
    with pytest.raises(automl.InputError, match="method"):
        result.feature_importance(method="gain")


def test_partial_dependence_and_ice_follow_the_signal(binary):
    result, _ = binary
    pdp = result.partial_dependence("age", model="gradient_boosting", grid=10, rows=50)
    average = pdp[pdp["kind"] == "average"]
    assert len(average) == 10 and (average["class"] == "yes").all()
    assert average["prediction"].iloc[-1] > average["prediction"].iloc[0] + 0.2  # risk rises with age
    individual = pdp[pdp["kind"] == "individual"]
    assert individual["row"].nunique() == 50
    # the average curve is the mean of the ICE curves
    np.testing.assert_allclose(individual.groupby("value")["prediction"].mean().to_numpy(),
                               average.sort_values("value")["prediction"].to_numpy(), atol=1e-9)
    colour = result.partial_dependence("colour", model="gradient_boosting", ice=False)
    by_level = colour.set_index("value")["prediction"]
    assert by_level["red"] == by_level.max() and "(missing)" in by_level.index
    visits = result.partial_dependence("visits", model="gradient_boosting", grid=5, ice=False)  # integers
    assert len(visits) >= 2 and visits["value"].dtype.kind == "f"
    with pytest.raises(automl.InputError, match="not a used input column"):
        result.partial_dependence("height")


def test_regression_and_multiclass_contributions_add_up():
    frame = _table(300, seed=1, task="regression")
    result = automl.fit(frame, "y", families=["linear", "gradient_boosting"], time_budget=4, verbose=0,
                        ensemble=False, refit=False)
    for name in result.models:
        contrib = result.explain(frame.drop(columns="y").iloc[:20], model=name)
        assert contrib.attrs["output"] == "value"
        total = contrib.sum(axis=1).to_numpy() + contrib.attrs["base_value"]
        np.testing.assert_allclose(total, result.predict(frame.iloc[:20], model=name), atol=1e-6)

    from sklearn.datasets import load_iris
    iris = load_iris(as_frame=True).frame
    result = automl.fit(iris, "target", families=["linear", "random_forest"], time_budget=4, verbose=0,
                        ensemble=False, refit=False)
    for name in result.models:
        contrib = result.explain(iris.iloc[::15], model=name)
        assert contrib.index.names == ["row", "class"]
        wide = contrib.sum(axis=1).unstack("class")
        total = wide.to_numpy() + np.array([contrib.attrs["base_value"][c] for c in wide.columns])
        np.testing.assert_allclose(total, _explained_output(result, iris, contrib), atol=1e-6)


def test_figures_draw_the_frames(binary):
    from automl.viz.explain import contribution_figure, gains_figure, partial_dependence_figure, threshold_figure

    result, frame = binary
    contrib = result.explain(frame.drop(columns="y").iloc[:30], model="gradient_boosting")
    one = contribution_figure(contrib, row=contrib.index[3])
    bars = one.data[0]
    assert sum(bars.x) == pytest.approx(contrib.iloc[3].sum()) and len(bars.y) == 5
    summary = contribution_figure(contrib)
    assert len(summary.data[1].x) == 30 * 5  # one dot per row and column
    pdp = partial_dependence_figure(result.partial_dependence("age", model="gradient_boosting", rows=20))
    assert len(pdp.data) == 21 and pdp.data[-1].name == "average (PDP)"
    curve = result.threshold_curve(model="gradient_boosting")
    assert len(threshold_figure(curve, threshold=0.3).data) == 4
    assert len(gains_figure(result.gains(model="gradient_boosting")).data[0].x) == 11
    with pytest.raises(automl.InputError, match="explain"):
        contribution_figure(pd.DataFrame({"age": [1.0]}))  # a frame without the base value


def test_dashboard_explain_tab_follows_row_form_column_and_threshold(binary):
    pytest.importorskip("anywidget")
    from automl.dashboard.fit_app import TAB_TITLES, FitDashboard

    result, _ = binary
    app = FitDashboard(result)
    assert TAB_TITLES[-1] == "Explain" and app.explain_tab.contribution_figure is None  # built on first open
    app.tabs.selected_index = TAB_TITLES.index("Explain")
    tab = app.explain_tab
    first = tab.contributions.copy()
    assert list(first.index) == [0] and tab.contribution_figure is not None
    tab.row_picker.value = 5
    assert tab.contributions.iloc[0].to_dict() != first.iloc[0].to_dict()
    assert tab.form["age"].value == str(result.test["X"]["age"].iloc[5])
    # what-if: a much older person of the same row gets a larger age contribution
    before = tab.contributions["age"].iloc[0]
    tab.form["age"].value = "90"
    tab.explain_form()
    assert tab.contributions["age"].iloc[0] > before
    assert "age" in tab.pdp_figure.layout.title.text
    tab.column_picker.value = "colour"
    assert "colour" in tab.pdp_figure.layout.title.text
    tab.threshold_slider.value = 0.05
    low = tab.confusion_html.value
    tab.threshold_slider.value = 0.95
    assert tab.confusion_html.value != low
    assert any(shape.x0 == 0.95 for shape in tab.threshold_figure.layout.shapes)
    app.model_picker.value = "linear"
    assert tab.contributions.attrs["model"] == "linear"
