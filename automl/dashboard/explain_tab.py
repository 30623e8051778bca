"""The "Explain" tab of the fit dashboard: one row's contributions (a test row, or values typed into a
what-if form), partial dependence of any column and, for binary tasks, a threshold slider that updates
the confusion matrix and the metrics.

As in :mod:`automl.dashboard.fit_app`, the views are plain functions of ``(result, selection)``; the
:class:`ExplainTab` widget only wires controls to them. Numbers come from :class:`~automl.FitResult`
(``explain``, ``partial_dependence``, ``threshold_curve``), figures from :mod:`automl.viz.explain`.
"""

from __future__ import annotations

import html
import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..viz import explain as viz_explain
from ._widgets import figure_widget, frame_html, message_html, replace_figure, safe

# The what-if form shows at most this many columns (the most important first would need a computation:
# the schema's order is kept).
MAX_FORM_COLUMNS = 30
# Explaining one row in the dashboard should feel immediate.
ROW_SECONDS = 10.0


# -- views: plain functions of the result ------------------------------------------------
def test_rows(result) -> pd.DataFrame:
    """The held-out test rows the tab explains (empty when the result kept none)."""
    rows = (result.test or {}).get("X")
    return rows if rows is not None else pd.DataFrame(columns=list(result.schema.used))


def row_explanation(result, model: str, rows: pd.DataFrame):
    """``(contributions, prediction text)`` of the one-row frame ``rows`` for ``model``."""
    contrib = result.explain(rows, model=model, max_seconds=ROW_SECONDS)
    fitted = result.model(model)
    if result.task == "regression":
        text = f"prediction {float(fitted.predict(rows)[0]):.4g}"
    else:
        proba = fitted.predict_proba(rows).iloc[0]
        top = ", ".join(f"{html.escape(str(c))}: {p:.3f}" for c, p in proba.sort_values(ascending=False)[:3].items())
        text = f"predicted <b>{html.escape(str(fitted.predict(rows)[0]))}</b> ({top})"
        if fitted.threshold is not None:
            text += f"; decision threshold {fitted.threshold:.3f}"
    return contrib, text


def what_if_row(result, values: dict[str, str]) -> pd.DataFrame:
    """A one-row frame from the form's text ``values``: numbers where the column is numeric, '' = missing."""
    roles = {d.name: d.role for d in result.schema.columns}
    row = {}
    for column in result.schema.used:
        text = values.get(column, "")
        text = "" if text is None else str(text).strip()
        if text == "":
            row[column] = np.nan
        elif roles.get(column) == "numeric":
            row[column] = pd.to_numeric(text, errors="coerce")
        else:
            row[column] = text
    return pd.DataFrame([row])


def confusion_at(result, threshold: float, model: str | None = None) -> tuple[pd.DataFrame, dict[str, float]]:
    """Binary tasks: the test confusion matrix and metrics of the decision ``probability >= threshold``."""
    y, p = result._binary_test_scores(model)
    predicted = p >= threshold
    actual = y == 1
    tp, fp = int((predicted & actual).sum()), int((predicted & ~actual).sum())
    fn, tn = int((~predicted & actual).sum()), int((~predicted & ~actual).sum())
    negative, positive = [str(c) for c in result.classes[:2]]
    table = pd.DataFrame([[tn, fp], [fn, tp]], index=[f"actual {negative}", f"actual {positive}"],
                         columns=[f"predicted {negative}", f"predicted {positive}"])
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    metrics = {"precision": precision, "recall": recall,
               "f1": 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0,
               "balanced_accuracy": (recall + specificity) / 2, "accuracy": (tp + tn) / max(len(y), 1)}
    return table, metrics


# -- the widget --------------------------------------------------------------------------
class ExplainTab(widgets.VBox):
    """Explain tab: row picker + what-if form, contributions, PDP/ICE, threshold slider (binary).

    Attributes (for scripting and tests)
    ------------------------------------
    row_picker : BoundedIntText
        Position of the explained test row.
    form : dict of str to Text
        What-if values per input column; ``explain_form_button`` explains them.
    contribution_figure : FigureWidget or None
    prediction_html : HTML
    column_picker : Dropdown
        The column of the partial-dependence view.
    pdp_figure : FigureWidget or None
    threshold_slider : FloatSlider or None
        Binary tasks only.
    confusion_html : HTML
    threshold_figure : FigureWidget or None
    contributions : DataFrame or None
        The frame behind the contribution figure.
    """

    def __init__(self, result):
        self.result = result
        self.model = result.best_model_name
        self.contributions = None
        self.contribution_figure = None
        self.pdp_figure = None
        self.threshold_figure = None
        rows = test_rows(result)
        self.row_picker = widgets.BoundedIntText(value=0, min=0, max=max(len(rows) - 1, 0),
                                                 description="Test row:", layout=widgets.Layout(width="200px"))
        self.prediction_html = widgets.HTML()
        self.contribution_box = widgets.VBox()
        used = list(result.schema.used)[:MAX_FORM_COLUMNS]
        self.form = {c: widgets.Text(description=str(c)[:20], layout=widgets.Layout(width="260px"),
                                     style={"description_width": "110px"}) for c in used}
        self.explain_form_button = widgets.Button(description="Explain these values", icon="question")
        self.explain_form_button.on_click(lambda _b: self.explain_form())
        form_box = widgets.GridBox(list(self.form.values()), layout=widgets.Layout(
            grid_template_columns="repeat(3, minmax(0, 1fr))", grid_gap="4px", width="100%"))
        pdp_columns = [d.name for d in result.schema.columns if d.name in result.schema.used and d.role != "datetime"]
        self.column_picker = widgets.Dropdown(options=pdp_columns, value=pdp_columns[0] if pdp_columns else None,
                                              description="Column:")
        self.pdp_box = widgets.VBox()
        self.confusion_html = widgets.HTML()
        self.threshold_box = widgets.VBox()
        self.threshold_slider = None
        children = [widgets.HTML("<b>One prediction, explained</b>: pick a held-out test row, or edit its values "
                                 "and explain them (what-if)."),
                    self.row_picker, self.prediction_html, self.contribution_box,
                    widgets.Accordion([widgets.VBox([form_box, self.explain_form_button])], titles=("What-if",)),
                    widgets.HTML("<b>Partial dependence</b> (average and one curve per test row)"),
                    self.column_picker, self.pdp_box]
        if result.task == "binary" and len(rows):
            threshold = result.model(self.model).threshold
            self.threshold_slider = widgets.FloatSlider(value=0.5 if threshold is None else threshold, min=0.0,
                                                        max=1.0, step=0.005, readout_format=".3f",
                                                        description="Threshold:", continuous_update=False,
                                                        layout=widgets.Layout(width="520px"))
            self.threshold_slider.observe(lambda change: self.show_threshold(change["new"]), names="value")
            children += [widgets.HTML("<b>Decision threshold</b> (test rows; the tuned threshold first)"),
                         self.threshold_slider, self.confusion_html, self.threshold_box]
        self._built = False
        self.row_picker.observe(lambda change: self.show_row(change["new"]), names="value")
        self.column_picker.observe(lambda change: self.show_column(change["new"]), names="value")
        super().__init__(children)

    # -- callbacks ----------------------------------------------------------------------
    def build(self, model: str | None = None) -> None:
        """Fill every view (called when the tab is first opened)."""
        self._built = True
        self.show_model(model or self.model)

    def show_model(self, model: str) -> None:
        """Point every view at ``model``."""
        self.model = model
        self.show_row(self.row_picker.value)
        if self.column_picker.value is not None:
            self.show_column(self.column_picker.value)
        if self.threshold_slider is not None:
            threshold = self.result.model(model).threshold
            value = 0.5 if threshold is None else float(threshold)
            if self.threshold_slider.value != value:
                self.threshold_slider.value = value  # the observer redraws
            else:
                self.show_threshold(value)

    def show_row(self, position: int) -> None:
        """Explain test row ``position`` and fill the what-if form with its values."""
        rows = test_rows(self.result)
        if not len(rows):
            self.prediction_html.value = message_html("This result kept no test rows; use the what-if form.")
            return
        row = rows.iloc[[int(position)]]
        for column, box in self.form.items():
            value = row[column].iloc[0] if column in row.columns else ""
            box.value = "" if pd.isna(value) else str(value)
        self._explain(row)

    def explain_form(self) -> None:
        """Explain the values typed into the what-if form."""
        self._explain(what_if_row(self.result, {c: w.value for c, w in self.form.items()}))

    def _explain(self, row: pd.DataFrame) -> None:
        out, error = safe(lambda: row_explanation(self.result, self.model, row))
        if out is None:
            self.prediction_html.value = message_html(error, "error")
            return
        self.contributions, text = out
        self.prediction_html.value = f"<div style='margin:4px 0'>{html.escape(self.model)}: {text}</div>"
        self._draw("contribution_figure", self.contribution_box,
                   lambda: viz_explain.contribution_figure(self.contributions))

    def show_column(self, column: str) -> None:
        """Draw the partial dependence of ``column``."""
        self._draw("pdp_figure", self.pdp_box, lambda: viz_explain.partial_dependence_figure(
            self.result.partial_dependence(column, model=self.model, rows=100)))

    def show_threshold(self, threshold: float) -> None:
        """Confusion matrix and metrics at ``threshold``; the threshold figure marks it."""
        out, error = safe(lambda: confusion_at(self.result, threshold, self.model))
        if out is None:
            self.confusion_html.value = message_html(error, "error")
            return
        table, metrics = out
        numbers = ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in metrics.items())
        shown = table.reset_index().rename(columns={"index": ""})  # frame_html shows columns only
        self.confusion_html.value = frame_html(shown) + f"<div style='margin:4px 0'>{numbers}</div>"
        self._draw("threshold_figure", self.threshold_box, lambda: viz_explain.threshold_figure(
            self.result.threshold_curve(model=self.model), threshold=threshold))

    def _draw(self, attribute: str, box, build) -> None:
        figure, error = safe(build)
        current = getattr(self, attribute)
        if figure is None:
            box.children = (widgets.HTML(message_html(error, "error")),)
        elif current is None:
            setattr(self, attribute, figure_widget(figure))
            box.children = (getattr(self, attribute),)
        else:
            replace_figure(current, figure)
            box.children = (current,)

