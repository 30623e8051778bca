"""The fit dashboard and the notebook progress widget, driven without a browser.

Widgets are driven the way a user drives them (set a dropdown value, click a
button) and the figures they show are compared with what :mod:`automl.viz`
draws for the new selection.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")

import automl  # noqa: E402
from automl import viz  # noqa: E402
from automl.dashboard import fit_dashboard  # noqa: E402
from automl.dashboard.fit_app import ALL_FAMILIES, TAB_TITLES, FitDashboard, filter_trials  # noqa: E402
from automl.dashboard.progress import NotebookProgress  # noqa: E402


@pytest.fixture(scope="module")
def fit_result(breast_cancer_df):
    return automl.fit(breast_cancer_df, "target", families=["linear", "gradient_boosting"], time_budget=5,
                      verbose=0, seed=0)


@pytest.fixture(scope="module")
def app(fit_result):
    return fit_dashboard(fit_result)


def _trace_arrays(figure) -> list:
    """Every data array of every trace (NaN and None alike as None), for comparing what two figures show."""
    out = []
    for trace in figure.data:
        for key in ("x", "y", "z", "values"):
            value = trace[key] if key in trace else None
            if value is None:
                continue
            try:
                array = np.asarray(value, dtype=float)
                out.append(np.where(np.isfinite(array), array, None).tolist())
            except (TypeError, ValueError):
                out.append(np.asarray(value, dtype=object).tolist())
    return out


def test_figure_widgets_carry_no_nan_into_widget_state():
    import plotly.graph_objects as go
    from automl.dashboard._widgets import figure_widget, replace_figure

    heatmap = go.Figure(go.Heatmap(z=np.array([[1.0, np.nan], [np.inf, 2.0]])))
    widget = figure_widget(heatmap)
    json.dumps(widget.get_state(), allow_nan=False, default=str)  # Jupyter rejects NaN in messages
    assert widget.data[0].z[0][1] is None and widget.data[0].z[1][0] is None
    replace_figure(widget, go.Figure(go.Scatter(x=[1, 2, 3], y=[0.5, np.nan, 1.5])))
    json.dumps(widget.get_state(), allow_nan=False, default=str)
    assert list(widget.data[0].y) == [0.5, None, 1.5]
    assert widget._widget_data[0]["type"] == "scatter"  # the state a late page loads is the new figure


def test_app_has_the_six_tabs_and_starts_on_the_best_model(app, fit_result):
    assert isinstance(app, FitDashboard)
    assert tuple(app.tabs.titles) == TAB_TITLES
    assert app.model_picker.value == fit_result.best_model_name
    assert [v for _, v in app.model_picker.options] == list(fit_result.leaderboard["model"])
    assert app.leaderboard_figure is not None and len(app.leaderboard_figure.data) >= 1
    # The highlighted leaderboard row is the selected model.
    assert f"<td style=\"padding:3px 8px;border-bottom:1px solid #eee\">{fit_result.best_model_name}</td>" \
        in app.leaderboard_table.value.split("font-weight:600")[1].split("</tr>")[0]
    assert app.evaluation_figures, "no evaluation figure"
    assert all(len(w.data) >= 1 for w in app.evaluation_figures.values())


def test_tabs_build_their_figures_when_first_opened(fit_result):
    app = fit_dashboard(fit_result)
    # Only the leaderboard figure exists at first: each FigureWidget ships plotly.js to the page.
    assert app.evaluation_grid.children == () and app.search_box.children == ()
    app.tabs.selected_index = 1
    assert len(app.evaluation_grid.children) == len(viz.evaluation_figures(fit_result)) >= 4
    app.tabs.selected_index = 3
    assert len(app.search_box.children) == 2


def test_result_dashboard_method_returns_the_app(fit_result):
    assert isinstance(fit_result.dashboard(), FitDashboard)


def test_choosing_a_model_redraws_evaluation_figures(fit_result):
    app = fit_dashboard(fit_result)
    names = list(fit_result.leaderboard["model"])
    assert len(names) >= 2
    other = names[1]
    before = {k: _trace_arrays(w) for k, w in app.evaluation_figures.items()}
    widgets_before = dict(app.evaluation_figures)

    app.model_picker.value = other  # what a user does in the dropdown

    expected = viz.evaluation_figures(fit_result, model=other)
    assert set(app.evaluation_figures) == set(expected)
    for key, figure in expected.items():
        assert _trace_arrays(app.evaluation_figures[key]) == _trace_arrays(figure), key
    changed = [k for k in before if _trace_arrays(app.evaluation_figures[k]) != before[k]]
    assert changed, "no evaluation figure changed when another model was chosen"
    # Updated in place: the page keeps the same widgets, only their data changes.
    assert all(app.evaluation_figures[k] is widgets_before[k] for k in widgets_before)
    assert "font-weight:600" in app.leaderboard_table.value
    highlighted = app.leaderboard_table.value.split("font-weight:600")[1].split("</tr>")[0]
    assert f">{other}</td>" in highlighted


def test_training_tab_says_why_classic_models_have_no_curves(app, fit_result):
    app.model_picker.value = fit_result.best_model_name
    assert app.training_figure is None
    assert "no per-epoch curves" in app.training_message.value
    assert "gap" in app.training_message.value


def test_training_tab_draws_curves_when_the_model_kept_a_history(fit_result):
    # A copy of the result whose first model carries per-epoch curves, as a network's does.
    name = fit_result.best_model_name
    epochs = 12
    history = {"loss": list(np.linspace(0.7, 0.1, epochs)), "val_loss": list(np.linspace(0.7, 0.3, epochs))}
    models = dict(fit_result.models)
    models[name] = dataclasses.replace(models[name], history=history, info={"best_epoch": 9})
    with_curves = dataclasses.replace(fit_result, models=models)
    app = fit_dashboard(with_curves)
    assert app.training_figure is not None
    shown = _trace_arrays(app.training_figure)
    assert shown == _trace_arrays(viz.training_curves_figure(with_curves, model=name))
    assert any(np.allclose(arr, history["val_loss"]) for arr in shown if len(arr) == epochs)
    assert "best epoch: 9" in app.training_message.value
    other = [m for m in with_curves.leaderboard["model"] if m != name][0]
    app.model_picker.value = other
    assert app.training_figure is None and "no per-epoch curves" in app.training_message.value
    app.model_picker.value = name
    assert app.training_figure is not None


def test_family_filter_restricts_the_search_tab(app, fit_result):
    assert list(app.family_filter.options) == [ALL_FAMILIES, "linear", "gradient_boosting"]
    all_history = _trace_arrays(app.search_figures["history"])
    app.family_filter.value = "linear"
    linear = filter_trials(fit_result, "linear")
    assert set(linear.trials["family"]) == {"linear"} and len(linear.trials) < len(fit_result.trials)
    assert _trace_arrays(app.search_figures["history"]) == _trace_arrays(viz.search_history_figure(linear))
    assert _trace_arrays(app.search_figures["history"]) != all_history
    assert _trace_arrays(app.search_figures["hyperparameters"]) == _trace_arrays(
        viz.hyperparameter_figure(fit_result, family="linear"))
    assert "gradient_boosting" not in app.trials_table.value
    assert f"{len(linear.trials)} trials" in app.trials_table.value
    app.family_filter.value = ALL_FAMILIES
    assert _trace_arrays(app.search_figures["history"]) == all_history


def test_data_tab_lists_column_decisions(app, fit_result):
    text = app.data_view.value
    for column in fit_result.schema.used[:5]:
        assert column in text
    assert f"{len(fit_result.schema.columns)} columns" in text
    assert str(fit_result.info["rows"]) in text


def test_export_button_writes_the_report_and_links_it(app, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app.report_path.value = str(tmp_path / "out" / "fit_report.html")
    (tmp_path / "out").mkdir()
    app.export_button.click()
    written = tmp_path / "out" / "fit_report.html"
    assert written.exists() and written.stat().st_size > 10_000
    assert "<html" in written.read_text(encoding="utf-8").lower()
    assert 'href="out/fit_report.html"' in app.export_output.value


def test_export_reports_errors_in_place(app, tmp_path):
    app.report_path.value = str(tmp_path / "missing_dir" / "x" / "report.html")
    blocker = tmp_path / "missing_dir"
    blocker.write_text("a file where a folder is expected")
    app.export_button.click()
    assert "Error" in app.export_output.value or "error" in app.export_output.value
    assert "href" not in app.export_output.value


def test_dashboard_of_a_reloaded_result(fit_result, tmp_path):
    fit_result.save(tmp_path / "saved")
    loaded = automl.load(tmp_path / "saved")
    app = fit_dashboard(loaded)
    assert app.model_picker.value == fit_result.best_model_name
    for key, widget in fit_dashboard(fit_result).evaluation_figures.items():
        assert _trace_arrays(app.evaluation_figures[key]) == _trace_arrays(widget), key


# -- live progress ------------------------------------------------------------------------
def test_notebook_progress_tracks_budget_and_best_trials():
    progress = NotebookProgress(top=2, show=False)
    progress.on_fit_begin({"task": "binary", "metric": "accuracy", "rows": 100, "time_budget": 1e6,
                           "families": ["linear"]})
    assert progress.bar.value < 0.01 and progress.bar.bar_style == "info"
    assert "no finished trial" in progress.board_html()
    progress.on_family_begin("linear", 10.0)
    for trial, score, status in [(0, 0.80, "ok"), (1, 0.90, "ok"), (2, float("nan"), "failed"), (3, 0.85, "ok")]:
        progress.on_trial_end({"family": "linear", "trial": trial, "score": score, "status": status,
                               "params": {"C": 10.0 ** trial}, "time_s": 0.1})
    best = progress.best_trials()
    assert list(best["trial"]) == [1, 3]
    assert best["score"].tolist() == pytest.approx([0.90, 0.85])
    assert "4 trials" in progress.status.value and "1 failed" in progress.status.value
    assert "0.9000" in progress.status.value and "0.9000" in progress.board.value
    assert "val accuracy" in progress.board.value
    board = pd.DataFrame([{"model": "linear", "val_score": 0.9, "test_score": 0.88}])
    progress.on_fit_end(board)
    assert progress.bar.value == 1.0 and progress.bar.bar_style == "success"
    assert "best linear" in progress.status.value


def test_notebook_progress_bar_follows_the_budget(monkeypatch):
    import automl.dashboard.progress as module
    clock = [100.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    progress = NotebookProgress(show=False)
    progress.on_fit_begin({"task": "regression", "metric": "r2", "time_budget": 20})
    clock[0] += 5
    progress.on_trial_end({"family": "linear", "trial": 0, "score": 0.5, "status": "ok", "params": {}})
    assert progress.bar.value == pytest.approx(0.25)
    assert progress.bar.description == "25%"
    clock[0] += 100  # past the budget: the bar stops at full
    progress.on_family_end("linear", 1)
    assert progress.bar.value == 1.0


def test_verbose_shows_the_widget_in_a_notebook_and_text_elsewhere(monkeypatch):
    import sys
    import types

    import automl.dashboard as dashboard
    from automl.progress import TextProgress, default_listener, make_hooks

    # automl offers the notebook listener to the hooks (registered by automl.dashboard at import)
    assert type(default_listener()) is TextProgress  # not in a Jupyter kernel
    assert make_hooks(0).listeners == []

    class ZMQInteractiveShell:  # what get_ipython() returns inside a Jupyter kernel
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: ZMQInteractiveShell()
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert dashboard.in_notebook()
    listener = default_listener()
    assert isinstance(listener, NotebookProgress)
    hooks = make_hooks(1, callbacks=[])
    assert len(hooks.listeners) == 1 and isinstance(hooks.listeners[0], NotebookProgress)
    # without the widget libraries (the dashboard extra) a notebook gets the text listener
    monkeypatch.setitem(sys.modules, "automl.dashboard.progress", None)
    assert dashboard.notebook_listener() is None and type(default_listener()) is TextProgress


def test_notebook_progress_receives_events_from_fit(breast_cancer_df):
    progress = NotebookProgress(show=False)
    result = automl.fit(breast_cancer_df, "target", families=["linear"], time_budget=3, verbose=0,
                        callbacks=[progress], ensemble=False)
    assert len(progress.trials) == len(result.trials) >= 1
    assert progress.best_trials()["score"].iloc[0] == pytest.approx(result.trials["score"].max())
    assert progress.bar.value == 1.0
    json.dumps(progress.best_trials().to_dict(orient="records"))  # plain values only


def test_importance_on_request_follows_the_selected_model(fit_result):
    result = dataclasses.replace(fit_result, _importance={})
    app = fit_dashboard(result)
    assert app.importance_figure is None  # nothing computed until asked
    assert not result._importance
    app.importance_button.click()
    best = result.best_model_name
    assert set(result._importance) == {best}
    expected = viz.importance_figure(result.feature_importance(model=best), model=best, metric=result.metric)
    assert _trace_arrays(app.importance_figure) == _trace_arrays(expected)
    # The other model's importance, as the result would cache it, is what the figure shows after a switch.
    other = [m for m in result.leaderboard["model"] if m != best][0]
    result._importance[other] = pd.DataFrame({"feature": ["mean radius", "mean texture"],
                                              "importance": [0.25, 0.05], "std": [0.01, 0.02]})
    app.model_picker.value = other
    bars = app.importance_figure.data[0]
    assert list(bars.x) == [0.05, 0.25] and list(bars.y) == ["mean texture", "mean radius"]


# -- cluster dashboard ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster_result(wine_df):
    # No autoencoder: the dashboard only reads the result, and UMAP on 178 rows is quick.
    return automl.cluster(wine_df, labels="target", autoencoder=False, k_max=6, verbose=0, seed=0)


def test_cluster_dashboard_controls_redraw_the_map(cluster_result):
    from automl.dashboard import ClusterDashboard
    from automl.viz import cluster as cviz

    app = cluster_result.dashboard()
    assert isinstance(app, ClusterDashboard)
    assert tuple(app.tabs.titles) == ("Map", "Profiles", "Choice of k")
    assert list(app.color_by.options)[:2] == ["cluster", "label"]
    assert set(cluster_result.data.columns) <= set(app.color_by.options)
    assert len(app.map_figure.data) == cluster_result.n_clusters  # one trace per cluster
    app.color_by.value = "label"
    assert _trace_arrays(app.map_figure) == _trace_arrays(cviz.cluster_map_figure(cluster_result, 2, "label"))
    column = str(cluster_result.data.columns[0])
    app.color_by.value = column
    assert _trace_arrays(app.map_figure) == _trace_arrays(cviz.cluster_map_figure(cluster_result, 2, column))
    assert cluster_result.map3d is None  # nothing fitted for display until the 3-D view is asked for
    app.dims.value = 3
    assert cluster_result.map3d is not None  # the result computed it (clustering layer); the figure drew it
    assert {t.type for t in app.map_figure.data} == {"scatter3d"}
    assert np.asarray(app.map_figure.data[0].z).size > 0
    app.dims.value = 2
    assert {t.type for t in app.map_figure.data} <= {"scatter", "scattergl"}


def test_k_slider_reclusters_the_stored_embedding(cluster_result):
    app = cluster_result.dashboard()
    base_k = cluster_result.n_clusters
    new_k = 2 if base_k != 2 else 3
    assert app.k_slider.min <= new_k <= app.k_slider.max
    app.k_slider.value = new_k
    assert app.result.n_clusters == new_k and len(np.unique(app.result.labels)) == new_k
    assert app.result.embedding is cluster_result.embedding  # re-clustered, not retrained
    app.color_by.value = "cluster"
    assert len(app.map_figure.data) == new_k
    assert [i for _, i in app.cluster_picker.options] == list(range(new_k))
    assert f"<b>Clusters</b> {new_k}" in app.status.value
    sizes = list(app.sizes_figure.data[0].y)
    assert sum(sizes) == len(cluster_result.labels) and len(sizes) == new_k
    # A different method on the same embedding; HDBSCAN chooses its own k, so the slider is disabled.
    app.method_picker.value = "umap_kmeans"
    assert app.result.method == "umap_kmeans" and app.result.n_clusters == new_k
    app.method_picker.value = "hdbscan"
    assert app.k_slider.disabled and app.result.method == "hdbscan"
    app.method_picker.value = cluster_result.method
    assert not app.k_slider.disabled


def test_profile_of_the_selected_cluster(cluster_result):
    from automl.viz import cluster as cviz

    app = cluster_result.dashboard()
    last = app.cluster_picker.options[-1][1]
    app.cluster_picker.value = last
    profile = cluster_result.profiles.loc[cluster_result.profiles["cluster"] == last]
    top_feature = str(profile.sort_values("rank")["feature"].iloc[0])
    assert top_feature in app.profile_table.value
    assert f"{int(profile['size'].iloc[0])} rows" in app.profile_table.value
    assert "target inside" in app.label_mix.value
    assert _trace_arrays(app.profile_figure) == _trace_arrays(cviz.cluster_profile_figure(cluster_result, last))
