"""The dashboard of a :class:`~automl.FitResult`: one tabbed ipywidgets app.

The views are computed by plain functions of ``(result, selection)`` at the top
of this module; :class:`FitDashboard` only wires widgets to them. Every figure
comes from :mod:`automl.viz`, the module the HTML report draws with.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from .. import viz
from ._widgets import figure_widget, frame_html, message_html, replace_figure, safe

ALL_FAMILIES = "all families"
TAB_TITLES = ("Leaderboard", "Evaluation", "Training", "Search", "Data", "Export", "Explain")


# -- views: plain functions of the result ------------------------------------------------
def model_options(result) -> list[tuple[str, str]]:
    """``(label, model name)`` pairs for the model picker, best first."""
    board = result.leaderboard
    return [(f"{row.model}  (val {row.val_score:.4f}, test {row.test_score:.4f})", str(row.model))
            for row in board.itertuples(index=False)]


def leaderboard_html(result, selected: str | None = None) -> str:
    """The leaderboard as an HTML table, the ``selected`` model's row highlighted."""
    board = result.leaderboard.copy()
    board.insert(0, "rank", range(1, len(board) + 1))
    columns = ["rank", "model", "family", "val_score", "test_score", "train_score", "gap",
               "fit_time_s", "predict_time_s", "params"]
    board = board[[c for c in columns if c in board.columns]]
    note = (f'<div style="margin:4px 0;color:#444">Scores are {html.escape(result.metric)} '
            f'(higher is better); gap = train - validation, the overfitting signal. '
            f'Pick a model above to inspect it in the other tabs.</div>')
    return note + frame_html(board, highlight=lambda row: row["model"] == selected)


def evaluation_figures(result, model: str) -> dict[str, Any]:
    """The evaluation figures of ``model`` (name -> ``go.Figure``), from :mod:`automl.viz`."""
    return dict(viz.evaluation_figures(result, model=model))


def has_curves(result, model: str) -> bool:
    """True when ``model`` kept per-epoch training curves (networks do; tree and linear models do not)."""
    candidate = result.models.get(model)
    history = getattr(candidate, "history", None)
    return bool(history) and any(len(v or []) > 0 for v in history.values())


def training_summary(result, model: str) -> str:
    """Text about ``model``'s training: scores, overfitting gap and, for networks, epochs."""
    row = result.leaderboard.loc[result.leaderboard["model"] == model]
    parts = []
    if len(row):
        r = row.iloc[0]
        parts.append(f"{model} ({r['family']}): train {r['train_score']:.4f}, validation {r['val_score']:.4f}, "
                     f"gap {r['gap']:+.4f} ({result.metric}).")
    candidate = result.models.get(model)
    info = getattr(candidate, "info", None) or {}
    details = {k: info[k] for k in ("best_epoch", "epochs", "stopped_early", "configs_tried") if k in info}
    if details:
        parts.append(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in details.items()) + ".")
    if not has_curves(result, model):
        parts.append("This model has no per-epoch curves: only neural networks train epoch by epoch. "
                     "Pick a neural_network model to see its loss curves and overfitting gap.")
    return " ".join(parts)


def trial_families(result) -> list[str]:
    """Families that have trials, in the order they ran."""
    trials = result.trials
    if trials is None or not len(trials) or "family" not in trials.columns:
        return []
    return list(dict.fromkeys(str(f) for f in trials["family"]))


def filter_trials(result, family: str | None):
    """``result`` with its trials restricted to ``family`` (all when None); nothing else changes."""
    if family in (None, ALL_FAMILIES):
        return result
    trials = result.trials.loc[result.trials["family"].astype(str) == family].reset_index(drop=True)
    return dataclasses.replace(result, trials=trials)


def search_figures(result, family: str | None) -> dict[str, Any]:
    """Trial history and hyperparameter figures for ``family`` (all families when None)."""
    family = None if family == ALL_FAMILIES else family
    return {"history": viz.search_history_figure(filter_trials(result, family)),
            "hyperparameters": viz.hyperparameter_figure(result, family=family)}


def trials_html(result, family: str | None, top: int = 15) -> str:
    """The best ``top`` trials of ``family`` as an HTML table, with failed-trial counts."""
    trials = filter_trials(result, family).trials
    if trials is None or not len(trials):
        return message_html("No search trials were recorded.")
    status = trials["status"].astype(str) if "status" in trials.columns else pd.Series(["ok"] * len(trials))
    failed = int((status != "ok").sum())
    columns = [c for c in ("family", "trial", "score", "status", "time_s", "epochs", "params") if c in trials.columns]
    shown = trials.sort_values("score", ascending=False, na_position="last")[columns].head(top).copy()
    if "params" in shown.columns:
        shown["params"] = shown["params"].map(_params_text)
    head = (f'<div style="margin:4px 0;color:#444">{len(trials)} trials, {failed} failed; '
            f'best {min(top, len(trials))} by validation {html.escape(result.metric)}:</div>')
    return head + frame_html(shown)


def _params_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def data_html(result) -> str:
    """Column decisions, split sizes and notes/warnings of the fit, as HTML."""
    info = result.info or {}
    parts = []
    facts = {"target": result.target, "task": result.task, "metric": result.metric,
             "rows": info.get("rows"), "input columns": info.get("columns"),
             "features after preprocessing": info.get("features"), "splits": info.get("splits"),
             "training rows used": info.get("train_rows_used"), "class counts": info.get("class_counts"),
             "time budget (s)": info.get("time_budget_s"), "elapsed (s)": info.get("elapsed_s"),
             "seed": info.get("seed"),
             "refit on all labelled rows": (info.get("refit") or {}).get("models") or None}
    items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(_params_text(v))}</li>"
                    for k, v in facts.items() if v is not None)
    parts.append(f"<ul style='margin:4px 0'>{items}</ul>")
    notes = list(info.get("notes") or []) + list(info.get("warnings") or [])
    if notes:
        parts.append("<h4 style='margin:8px 0 4px'>Notes and warnings</h4>")
        parts.extend(message_html(str(n)) for n in notes)
    decisions = result.schema.to_frame()
    dropped = int((decisions["role"] == "dropped").sum()) if "role" in decisions.columns else 0
    parts.append(f"<h4 style='margin:8px 0 4px'>Column decisions ({len(decisions)} columns, {dropped} dropped)</h4>")
    parts.append(frame_html(decisions, highlight=lambda row: row.get("role") == "dropped"))
    return "".join(parts)


def export_report(result, path: str | os.PathLike) -> Path:
    """Write the HTML report of ``result`` to ``path`` and return its absolute path."""
    from ..report import write_fit_report
    written = write_fit_report(result, path)
    return Path(written if written is not None else path).resolve()


def link_html(path: Path) -> str:
    """A link to ``path``, relative to the working directory (the notebook's folder) when possible."""
    try:
        href = os.path.relpath(path, Path.cwd())
    except ValueError:  # another drive on Windows
        href = path.as_uri()
    href = href.replace(os.sep, "/")
    return (f'Report written: <a href="{html.escape(href)}" target="_blank" download>{html.escape(path.name)}</a> '
            f'<span style="color:#666">({html.escape(str(path))})</span>')


# -- the app -----------------------------------------------------------------------------
class FitDashboard(widgets.VBox):
    """Tabbed dashboard of a fit: Leaderboard, Evaluation, Training, Search, Data, Export, Explain.

    Attributes (for scripting and tests)
    ------------------------------------
    model_picker : Dropdown
        The model every per-model tab shows; the best model at first.
    leaderboard_table : HTML
    leaderboard_figure : FigureWidget or None
    evaluation_figures : dict of str to FigureWidget
        The selected model's evaluation figures.
    importance_button : Button
        Computes and draws the selected model's permutation importance.
    importance_figure : FigureWidget or None
        None until the button is pressed; then it follows the selected model.
    training_figure : FigureWidget or None
        Epoch curves of the selected model, None when it has none.
    training_message : HTML
    family_filter : Dropdown
        Restricts the Search tab to one family.
    search_figures : dict of str to FigureWidget
        ``history`` and ``hyperparameters``.
    report_path : Text
    export_button : Button
    export_output : HTML
        The link to the written report, or the error.
    explain_tab : ExplainTab
        One row's contributions (or a what-if row), partial dependence and, for
        binary tasks, the threshold slider (:mod:`automl.dashboard.explain_tab`).
    tabs : Tab
    """

    def __init__(self, result):
        self.result = result
        best = result.best_model_name
        self.model_picker = widgets.Dropdown(options=model_options(result), value=best, description="Model:",
                                             layout=widgets.Layout(width="520px"),
                                             style={"description_width": "initial"})
        header = widgets.HTML(self._header_html())

        # Leaderboard
        self.leaderboard_table = widgets.HTML(leaderboard_html(result, best))
        figure, error = safe(lambda: viz.leaderboard_figure(result))
        self.leaderboard_figure = figure_widget(figure) if figure is not None else None
        board_children = [self.leaderboard_table]
        board_children.append(self.leaderboard_figure if figure is not None
                              else widgets.HTML(message_html(error, "error")))
        leaderboard_tab = widgets.VBox(board_children)

        # Evaluation
        self._evaluation_figures: dict[str, Any] = {}
        self.evaluation_title = widgets.HTML()
        self.evaluation_grid = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns="repeat(2, minmax(0, 1fr))", grid_gap="8px", width="100%"))
        # Permutation importance re-predicts the test rows many times: computed on request, then cached.
        self.importance_button = widgets.Button(description="Feature importance", icon="bar-chart",
                                                tooltip="Permutation importance of the input columns on the "
                                                        "test rows (computed once per model, then cached)")
        self.importance_figure = None
        self.importance_box = widgets.VBox()
        self.importance_button.on_click(lambda _b: self.show_importance())
        evaluation_tab = widgets.VBox([self.evaluation_title, self.evaluation_grid,
                                       self.importance_button, self.importance_box])

        # Training
        self.training_message = widgets.HTML()
        self._training_figure = None
        self.training_box = widgets.VBox()
        training_tab = widgets.VBox([self.training_message, self.training_box])

        # Search
        families = trial_families(result)
        self.family_filter = widgets.Dropdown(options=[ALL_FAMILIES] + families, value=ALL_FAMILIES,
                                              description="Family:")
        self._search_figures: dict[str, Any] = {}
        self.search_box = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns="repeat(2, minmax(0, 1fr))", grid_gap="8px", width="100%"))
        self.trials_table = widgets.HTML()
        search_tab = widgets.VBox([self.family_filter, self.search_box, self.trials_table])

        # Data
        self.data_view = widgets.HTML(data_html(result))
        data_tab = widgets.VBox([self.data_view])

        # Export
        self.report_path = widgets.Text(value="automl_report.html", description="File:",
                                        layout=widgets.Layout(width="420px"))
        self.export_button = widgets.Button(description="Write HTML report", icon="download",
                                            button_style="primary", layout=widgets.Layout(width="200px"))
        self.export_output = widgets.HTML()
        self.export_button.on_click(self._on_export)
        export_tab = widgets.VBox([
            widgets.HTML("One self-contained HTML file with the leaderboard, figures and data decisions; "
                         "it opens offline and can be shared."),
            widgets.HBox([self.report_path, self.export_button]), self.export_output])

        self.tabs = widgets.Tab(children=[leaderboard_tab, evaluation_tab, training_tab, search_tab,
                                          data_tab, export_tab, self._explain_tab()], titles=TAB_TITLES)
        # Each FigureWidget ships plotly.js to the page, and anywidget gives a model 2 s to start:
        # build a tab's figures when it is first opened, not all of them up front.
        self._built = {0}
        self._builders = {1: lambda: self._show_evaluation(self.model_picker.value),
                          2: lambda: self._show_training(self.model_picker.value),
                          3: lambda: self.show_family(self.family_filter.value),
                          6: lambda: self.explain_tab.build(self.model_picker.value)}
        self.show_model(best)
        self.tabs.observe(lambda change: self._ensure(change["new"]), names="selected_index")
        self.model_picker.observe(lambda change: self.show_model(change["new"]), names="value")
        self.family_filter.observe(lambda change: self.show_family(change["new"]), names="value")
        super().__init__([header, self.model_picker, self.tabs])

    # -- callbacks (plain methods: tests call them or set the widgets) ---------------------
    def show_model(self, name: str) -> None:
        """Point the Leaderboard highlight, Evaluation and Training tabs at model ``name``."""
        result = self.result
        self.leaderboard_table.value = leaderboard_html(result, name)
        self.training_message.value = message_html(training_summary(result, name))
        if 1 in self._built:
            self._show_evaluation(name)
        if 2 in self._built:
            self._show_training(name)
        if 6 in self._built:
            self.explain_tab.show_model(name)
        if self.importance_figure is not None:
            self.show_importance()

    def show_importance(self) -> None:
        """Draw the permutation importance of the selected model under the evaluation figures."""
        name = self.model_picker.value
        # the result computes (automl.evaluate, once per model, then cached); the figure only draws the table
        figure, error = safe(lambda: viz.importance_figure(self.result.feature_importance(model=name), model=name,
                                                           metric=self.result.metric))
        if figure is None:
            self.importance_box.children = (widgets.HTML(message_html(error, "error")),)
        elif self.importance_figure is None:
            self.importance_figure = figure_widget(figure)
            self.importance_box.children = (self.importance_figure,)
        else:
            replace_figure(self.importance_figure, figure)

    def show_family(self, family: str) -> None:
        """Restrict the Search tab to ``family`` (or all families)."""
        self._built.add(3)
        if not trial_families(self.result):
            self.search_box.children = ()
            self.trials_table.value = message_html("No search trials were recorded for this fit.")
            return
        figures, error = safe(lambda: search_figures(self.result, family))
        if figures is None:
            self._search_figures = {}
            self.search_box.children = (widgets.HTML(message_html(error, "error")),)
        else:
            self._fill(self._search_figures, figures, self.search_box)
        self.trials_table.value = trials_html(self.result, family)

    def _show_evaluation(self, name: str) -> None:
        self.evaluation_title.value = (f"<b>{html.escape(name)}</b>: figures on the held-out test rows "
                                       f"({self._test_rows()} rows).")
        figures, error = safe(lambda: evaluation_figures(self.result, name))
        if figures is None:
            self._evaluation_figures = {}
            self.evaluation_grid.children = (widgets.HTML(message_html(error, "error")),)
            return
        self._fill(self._evaluation_figures, figures, self.evaluation_grid)

    def _show_training(self, name: str) -> None:
        if not has_curves(self.result, name):
            self._training_figure = None
            self.training_box.children = ()
            return
        figure, error = safe(lambda: viz.training_curves_figure(self.result, model=name))
        if figure is None:
            self._training_figure = None
            self.training_box.children = (widgets.HTML(message_html(error, "error")),)
        elif self._training_figure is None:
            self._training_figure = figure_widget(figure)
            self.training_box.children = (self._training_figure,)
        else:
            replace_figure(self._training_figure, figure)
            self.training_box.children = (self._training_figure,)

    def _explain_tab(self):
        """The Explain tab (:mod:`automl.dashboard.explain_tab`); its views are built when it is first opened."""
        from .explain_tab import ExplainTab

        self.explain_tab = ExplainTab(self.result)
        return self.explain_tab

    # -- figures, built when their tab is first opened (or first asked for) -------------------
    def _ensure(self, index) -> None:
        if index is not None and index not in self._built and index in self._builders:
            self._built.add(index)
            self._builders[index]()

    @property
    def evaluation_figures(self) -> dict[str, Any]:
        """The selected model's evaluation figures (name -> FigureWidget)."""
        self._ensure(1)
        return self._evaluation_figures

    @property
    def training_figure(self):
        """The selected model's epoch curves as a FigureWidget, None when it has none."""
        self._ensure(2)
        return self._training_figure

    @property
    def search_figures(self) -> dict[str, Any]:
        """``history`` and ``hyperparameters`` FigureWidgets of the Search tab."""
        self._ensure(3)
        return self._search_figures

    @staticmethod
    def _fill(current: dict, figures: dict, box) -> None:
        """Update ``current`` FigureWidgets in place from ``figures``; add or drop widgets as keys change."""
        for key in list(current):
            if key not in figures:
                del current[key]
        for key, figure in figures.items():
            if key in current:
                replace_figure(current[key], figure)
            else:
                current[key] = figure_widget(figure)
        box.children = tuple(current[key] for key in figures)

    def _on_export(self, _button=None) -> None:
        self.export_output.value = "Writing..."
        path, error = safe(lambda: export_report(self.result, self.report_path.value or "automl_report.html"))
        self.export_output.value = link_html(path) if path is not None else message_html(error, "error")

    def _test_rows(self) -> int:
        y = (self.result.test or {}).get("y")
        return 0 if y is None else len(y)

    def _header_html(self) -> str:
        r = self.result
        info = r.info or {}
        elapsed = info.get("elapsed_s")
        spent = f", {elapsed:.0f}s" if isinstance(elapsed, (int, float)) else ""
        return (f"<h3 style='margin:4px 0'>automl: {html.escape(r.task)} on "
                f"<code>{html.escape(str(r.target))}</code></h3>"
                f"<div style='color:#444'>{len(r.leaderboard)} models, {len(r.trials)} trials{spent}; "
                f"best <b>{html.escape(r.best_model_name)}</b> by {html.escape(r.metric)}.</div>")
