"""Figures of explanations and decisions: they draw the frames of :mod:`automl.evaluate.explain` and
:mod:`automl.evaluate.decision` and compute nothing themselves.

- :func:`contribution_figure`: one row's contributions (bars from the base value), or a summary of many
  rows (mean |contribution| bars with each row's contribution as a dot)
- :func:`partial_dependence_figure`: PDP with ICE curves (lines for numeric columns, dots for levels)
- :func:`threshold_figure`: precision, recall, F1 and balanced accuracy against the threshold
- :func:`gains_figure`: cumulative gains against the share of rows contacted

>>> contribution_figure(result.explain(rows.head(1))).show()             # doctest: +SKIP
>>> threshold_figure(result.threshold_curve(), threshold=result.threshold)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ._common import MAX_POINTS, _go
from .theme import color, empty_figure, label, styled

__all__ = ["contribution_figure", "partial_dependence_figure", "threshold_figure", "gains_figure"]

# Columns shown in contribution figures; the rest are summed into one bar.
TOP_COLUMNS = 15
# ICE curves drawn at most (a seeded sample): beyond this the figure is a blur.
MAX_CURVES = 100


def _require(frame, columns, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"`{what}` must be a DataFrame from FitResult.{what}(...); got {type(frame).__name__}.")
    missing = set(columns) - set(frame.columns)
    if missing:
        raise InputError(f"`{what}` lacks the column(s) {sorted(missing)}; pass the frame of FitResult.{what}().")


def contribution_figure(contrib: pd.DataFrame, *, row=None, class_=None, top: int = TOP_COLUMNS):
    """Contributions of the input columns, from :meth:`FitResult.explain`.

    Parameters
    ----------
    contrib : DataFrame
        The frame ``FitResult.explain`` returned.
    row : index label, optional
        Draw this row's contributions (default: the only row, or a summary when there are several).
    class_ : class label, optional
        Multiclass: which class's contributions (default: the first).
    top : int, default=15
        Columns shown, largest first; the others are summed into one bar.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    if not isinstance(contrib, pd.DataFrame) or "base_value" not in contrib.attrs:
        raise InputError("`contrib` must be the DataFrame of FitResult.explain(rows); its attrs carry the "
                         "base value the bars start from.")
    go = _go()
    base = contrib.attrs["base_value"]
    output = {"log_odds": "log-odds", "value": "prediction"}.get(contrib.attrs.get("output"),
                                                                 contrib.attrs.get("output", "output"))
    if isinstance(contrib.index, pd.MultiIndex):  # multiclass long frame: one class at a time
        classes = list(contrib.index.get_level_values("class").unique())
        class_ = classes[0] if class_ is None else class_
        if class_ not in classes:
            raise InputError(f"`class_`={class_!r} is not one of {classes}.")
        contrib = contrib.xs(class_, level="class")
        base = base[class_] if isinstance(base, dict) else base
        output = f"{output} of class {class_}"
    elif contrib.attrs.get("class") is not None:
        output = f"{output} of class {contrib.attrs['class']}"
    if len(contrib) == 0:
        return empty_figure("No row was explained.", title="Contributions")
    if row is None and len(contrib) == 1:
        row = contrib.index[0]
    if row is not None:
        if row not in contrib.index:
            raise InputError(f"`row`={row!r} is not among the explained rows.")
        values = contrib.loc[row]
        if isinstance(values, pd.DataFrame):
            values = values.iloc[0]
        order = values.abs().sort_values(ascending=False).index
        shown = values[order[:top]]
        if len(order) > top:
            shown[f"{len(order) - top} other columns"] = values[order[top:]].sum()
        shown = shown.iloc[::-1]
        fig = go.Figure(go.Bar(
            x=shown.to_numpy(), y=[label(c) for c in shown.index], orientation="h",
            marker_color=[color(3) if v > 0 else color(0) for v in shown.to_numpy()],
            hovertemplate="%{y}: %{x:+.4g}<extra></extra>"))
        total = float(base) + float(values.sum())
        return styled(fig, title=f"Row {row}: {output} {total:.4g} = base {float(base):.4g} "
                                 f"{'+' if values.sum() >= 0 else '-'} {abs(float(values.sum())):.4g}",
                      height=max(260, 28 * len(shown) + 120), xaxis_title=f"contribution to the {output}",
                      showlegend=False)
    magnitude = contrib.abs().mean().sort_values(ascending=False)
    columns = list(magnitude.index[:top])[::-1]
    sample = contrib
    if len(contrib) > MAX_POINTS // max(len(columns), 1):
        keep = np.random.default_rng(0).choice(len(contrib), MAX_POINTS // max(len(columns), 1), replace=False)
        sample = contrib.iloc[np.sort(keep)]
    fig = go.Figure(go.Bar(x=magnitude[columns].to_numpy(), y=[label(c) for c in columns], orientation="h",
                           marker_color=color(0), opacity=0.35, name="mean |contribution|",
                           hovertemplate="%{y}: mean |contribution| %{x:.4g}<extra></extra>"))
    jitter = np.random.default_rng(1).uniform(-0.3, 0.3, len(sample))
    xs, ys, text = [], [], []
    for i, column in enumerate(columns):
        xs.append(sample[column].to_numpy())
        ys.append(i + jitter)
        text.extend(str(r) for r in sample.index)
    fig.add_trace(go.Scatter(x=np.concatenate(xs), y=np.concatenate(ys), mode="markers", text=text,
                             marker=dict(size=5, color=color(1), opacity=0.5), name="one row",
                             hovertemplate="row %{text}: %{x:+.4g}<extra></extra>"))
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(columns))), ticktext=[label(c) for c in columns])
    return styled(fig, title=f"Contributions to the {output} ({len(contrib)} rows, "
                             f"{contrib.attrs.get('method', '')})",
                  height=max(300, 28 * len(columns) + 140), xaxis_title="contribution", legend_orientation="h")


def partial_dependence_figure(pdp: pd.DataFrame, *, class_=None, max_curves: int = MAX_CURVES):
    """Partial dependence (thick line) and ICE curves (thin lines), from :meth:`FitResult.partial_dependence`."""
    _require(pdp, ["value", "kind", "row", "prediction"], "partial_dependence")
    go = _go()
    column = pdp.attrs.get("column", "value")
    if "class" in pdp.columns:
        classes = list(pd.unique(pdp["class"]))
        class_ = classes[0] if class_ is None else class_
        pdp = pdp[pdp["class"] == class_]
        axis = f"probability of {class_}"
    else:
        axis = "prediction"
    if len(pdp) == 0:
        return empty_figure("No partial dependence to draw.", title=f"Partial dependence: {column}")
    numeric = pd.api.types.is_numeric_dtype(pdp["value"])
    fig = go.Figure()
    individual = pdp[pdp["kind"] == "individual"]
    rows = individual["row"].unique()
    if len(rows) > max_curves:
        rows = np.sort(np.random.default_rng(0).choice(rows, max_curves, replace=False))
    for k, r in enumerate(rows):
        curve = individual[individual["row"] == r]
        fig.add_trace(go.Scatter(x=curve["value"] if numeric else [label(v) for v in curve["value"]],
                                 y=curve["prediction"], mode="lines" if numeric else "markers",
                                 line=dict(width=1, color="rgba(128,128,128,0.3)"),
                                 marker=dict(size=4, color="rgba(128,128,128,0.4)"),
                                 name="one row (ICE)", legendgroup="ice", showlegend=k == 0,
                                 hovertemplate=f"row {r}: %{{y:.4g}}<extra></extra>"))
    average = pdp[pdp["kind"] == "average"]
    fig.add_trace(go.Scatter(x=average["value"] if numeric else [label(v) for v in average["value"]],
                             y=average["prediction"], mode="lines+markers",
                             line=dict(width=3, color=color(1)), marker=dict(size=7, color=color(1)),
                             name="average (PDP)", hovertemplate="%{x}: %{y:.4g}<extra></extra>"))
    return styled(fig, title=f"Partial dependence on {column}", xaxis_title=label(column), yaxis_title=axis,
                  legend_orientation="h")


def threshold_figure(curve: pd.DataFrame, *, threshold: float | None = None):
    """Precision, recall, F1 and balanced accuracy against the threshold, from
    :meth:`FitResult.threshold_curve`; a dashed line marks ``threshold``."""
    _require(curve, ["threshold", "precision", "recall", "f1", "balanced_accuracy"], "threshold_curve")
    go = _go()
    curve = curve[curve["threshold"] <= 1.0]
    fig = go.Figure()
    for i, name in enumerate(["precision", "recall", "f1", "balanced_accuracy"]):
        fig.add_trace(go.Scatter(x=curve["threshold"], y=curve[name], mode="lines", name=name.replace("_", " "),
                                 line=dict(color=color(i), width=2),
                                 hovertemplate=f"threshold %{{x:.3f}}: {name} %{{y:.3f}}<extra></extra>"))
    if threshold is not None:
        fig.add_vline(x=float(threshold), line_dash="dash", line_color=color(3),
                      annotation_text=f"threshold {float(threshold):.3f}", annotation_position="top")
    return styled(fig, title="Metrics by decision threshold (test rows)", xaxis_title="threshold on the "
                  "positive-class probability", yaxis_title="value", yaxis_range=[0, 1.02],
                  legend_orientation="h")


def gains_figure(gains: pd.DataFrame):
    """Cumulative gains (share of positives found against share of rows), from :meth:`FitResult.gains`."""
    _require(gains, ["cumulative_rows_share", "cumulative_gain", "lift"], "gains")
    go = _go()
    x = np.concatenate([[0.0], gains["cumulative_rows_share"].to_numpy()])
    y = np.concatenate([[0.0], gains["cumulative_gain"].to_numpy()])
    fig = go.Figure([
        go.Scatter(x=x, y=y, mode="lines+markers", name="model", line=dict(color=color(0), width=2),
                   customdata=np.concatenate([[np.nan], gains["cumulative_lift"].to_numpy()]),
                   hovertemplate="top %{x:.0%}: %{y:.0%} of positives (lift %{customdata:.2f})<extra></extra>"),
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random", line=dict(color="gray", dash="dot")),
    ])
    return styled(fig, title="Cumulative gains (test rows)", xaxis_title="share of rows, highest scores first",
                  yaxis_title="share of positives found", xaxis_tickformat=".0%", yaxis_tickformat=".0%",
                  legend_orientation="h")
