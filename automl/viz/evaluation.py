"""Figures of one model on the test rows: confusion, ROC, precision-recall, calibration, residuals, importance.

Nothing here computes: the tables come from :mod:`automl.evaluate` --
:meth:`FitResult.diagnostics <automl.result.FitResult.diagnostics>` (computed
once per model and cached on the result) for the curves, bins and counts,
:meth:`FitResult.feature_importance <automl.result.FitResult.feature_importance>`
for the importance table that :func:`importance_figure` takes. The dashboard
and the HTML report call these same functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._common import _go, _require_classification, _require_regression, _sample, _subplots
from .theme import LINE_COLOR, SEQUENTIAL, color, empty_figure, label, styled

__all__ = ["confusion_matrix_figure", "roc_figure", "pr_figure", "calibration_figure",
           "predicted_vs_actual_figure", "residuals_figure", "importance_figure", "evaluation_figures"]

MAX_FEATURES = 20


def _suffix(result) -> str:
    return f" (positive class {label(result.classes[1])})" if result.task == "binary" else " (one-vs-rest)"


def _no_proba(diagnostics, title: str):
    return empty_figure(f"{diagnostics.model} gives no class probabilities.", title=title)


# -- classification ------------------------------------------------------------------------
def confusion_matrix_figure(result, model: str | None = None, normalize: bool = False):
    """Confusion matrix of a classifier on the test rows.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.
    normalize : bool, default=False
        Show each true class's row as shares (its recall on the diagonal)
        instead of counts.

    Returns
    -------
    plotly.graph_objects.Figure
        Drawn from ``result.diagnostics(model).confusion``.
    """
    _require_classification(result, "A confusion matrix")
    go = _go()
    d = result.diagnostics(model)
    counts = d.confusion.to_numpy(dtype=float)
    z = d.confusion_shares().to_numpy(dtype=float) if normalize else counts
    names = [label(c) for c in d.confusion.index]
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, colorscale=SEQUENTIAL, showscale=False, xgap=2, ygap=2,
        customdata=counts, zmin=0, zmax=1 if normalize else max(1.0, float(counts.max())),
        texttemplate="%{z:.0%}" if normalize else "%{z:d}",
        hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata:d} row(s)"
                      + (" (%{z:.1%} of the true class)" if normalize else "") + "<extra></extra>",
    ))
    side = min(700, max(340, 120 + 42 * len(names)))
    styled(fig, title=f"Confusion matrix{' (share of each true class)' if normalize else ''}: {d.model}",
           height=side, xaxis_title="predicted", yaxis_title="true")
    fig.update_yaxes(autorange="reversed", type="category", showgrid=False)
    fig.update_xaxes(type="category", showgrid=False, side="bottom")
    return fig


def roc_figure(result, model: str | None = None):
    """ROC curve on the test rows: the positive class (binary) or one-vs-rest per class.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.

    Returns
    -------
    plotly.graph_objects.Figure
        One curve per class with its AUC in the legend, and the chance
        diagonal; drawn from ``result.diagnostics(model).roc``.
    """
    _require_classification(result, "A ROC curve")
    go = _go()
    d = result.diagnostics(model)
    if d.roc is None:
        return _no_proba(d, "ROC curve")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", hoverinfo="skip",
                             line=dict(color=LINE_COLOR, dash="dash", width=1)))
    for i, (_, curve) in enumerate(d.roc.groupby("code", sort=False)):
        name = label(curve["class"].iloc[0])
        fig.add_trace(go.Scatter(
            x=curve["fpr"].to_numpy(), y=curve["tpr"].to_numpy(), mode="lines",
            name=f"{name} (AUC {curve['auc'].iloc[0]:.3f})", line=dict(color=color(i), width=2, shape="hv"),
            hovertemplate="false positive rate %{x:.3f}<br>true positive rate %{y:.3f}<extra>" + name + "</extra>",
        ))
    styled(fig, title=f"ROC curve{_suffix(result)}: {d.model}", height=440,
           xaxis_title="false positive rate", yaxis_title="true positive rate",
           legend=dict(x=0.98, y=0.02, xanchor="right", yanchor="bottom"))
    fig.update_xaxes(range=[-0.01, 1.01], constrain="domain")
    fig.update_yaxes(range=[-0.01, 1.01], scaleanchor="x", scaleratio=1)
    return fig


def pr_figure(result, model: str | None = None):
    """Precision-recall curve on the test rows, per class (one-vs-rest), with average precision.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.

    Returns
    -------
    plotly.graph_objects.Figure
        One curve per class and, dotted, the precision of guessing (the
        class's share); drawn from ``result.diagnostics(model).pr``.
    """
    _require_classification(result, "A precision-recall curve")
    go = _go()
    d = result.diagnostics(model)
    if d.pr is None:
        return _no_proba(d, "Precision-recall curve")
    fig = go.Figure()
    for i, (code, curve) in enumerate(d.pr.groupby("code", sort=False)):
        name = label(curve["class"].iloc[0])
        fig.add_trace(go.Scatter(
            x=curve["recall"].to_numpy(), y=curve["precision"].to_numpy(), mode="lines",
            name=f"{name} (AP {curve['average_precision'].iloc[0]:.3f})",
            line=dict(color=color(i), width=2, shape="hv"), legendgroup=str(code),
            hovertemplate="recall %{x:.3f}<br>precision %{y:.3f}<extra>" + name + "</extra>",
        ))
        share = float(curve["prevalence"].iloc[0])
        fig.add_trace(go.Scatter(x=[0, 1], y=[share, share], mode="lines", legendgroup=str(code), showlegend=False,
                                 line=dict(color=color(i), dash="dot", width=1),
                                 hovertemplate=f"chance: {share:.3f}<extra></extra>"))
    styled(fig, title=f"Precision-recall{_suffix(result)}: {d.model}", height=480, xaxis_title="recall",
           yaxis_title="precision", legend=dict(orientation="h", x=0, y=-0.18, yanchor="top"))
    fig.update_xaxes(range=[-0.01, 1.01])
    fig.update_yaxes(range=[-0.01, 1.03])
    return fig


def calibration_figure(result, model: str | None = None):
    """Reliability diagram: predicted probability against the observed share, per class.

    Probabilities are grouped in equal-width bins (3 to 10, fewer on small test
    splits; see :func:`automl.evaluate.curves.calibration_table`); each
    marker's size shows how many rows its bin holds.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.

    Returns
    -------
    plotly.graph_objects.Figure
        Drawn from ``result.diagnostics(model).calibration``.
    """
    _require_classification(result, "A calibration curve")
    go = _go()
    d = result.diagnostics(model)
    if d.calibration is None:
        return _no_proba(d, "Calibration")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", hoverinfo="skip",
                             line=dict(color=LINE_COLOR, dash="dash", width=1)))
    for i, (_, bins) in enumerate(d.calibration.groupby("code", sort=False)):
        name = label(bins["class"].iloc[0])
        sizes = bins["rows"].to_numpy()
        fig.add_trace(go.Scatter(
            x=bins["mean_predicted"].to_numpy(), y=bins["observed"].to_numpy(), mode="lines+markers", name=name,
            customdata=sizes, line=dict(color=color(i), width=2),
            marker=dict(size=6 + 14 * np.sqrt(sizes / sizes.max()), color=color(i)),
            hovertemplate="mean predicted %{x:.3f}<br>observed share %{y:.3f}<br>%{customdata} row(s)<extra>"
                          + name + "</extra>",
        ))
    styled(fig, title=f"Calibration on the test rows: {d.model}", height=480,
           xaxis_title="predicted probability", yaxis_title="observed share of the class",
           legend=dict(orientation="h", x=0, y=-0.18, yanchor="top"))
    fig.update_xaxes(range=[-0.02, 1.02])
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


# -- regression ----------------------------------------------------------------------------
def predicted_vs_actual_figure(result, model: str | None = None):
    """Predicted against actual target values on the test rows, with the identity line.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.

    Returns
    -------
    plotly.graph_objects.Figure
        Drawn from ``result.diagnostics(model).residuals`` (at most 3000
        points, a seeded sample), R² and RMSE in the title.
    """
    _require_regression(result, "A predicted-vs-actual plot")
    go = _go()
    d = result.diagnostics(model)
    y, pred = d.residuals["actual"].to_numpy(), d.residuals["predicted"].to_numpy()
    keep = _sample(len(y))
    finite = np.concatenate([y[np.isfinite(y)], pred[np.isfinite(pred)]])
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="perfect", hoverinfo="skip",
                             line=dict(color=LINE_COLOR, dash="dash", width=1)))
    fig.add_trace(go.Scatter(x=y[keep], y=pred[keep], mode="markers", name="test rows",
                             marker=dict(color=color(0), size=7, opacity=0.7),
                             hovertemplate="actual %{x:.4g}<br>predicted %{y:.4g}<extra></extra>"))
    styled(fig, title=f"Predicted vs actual: {d.model} (R² {d.scores['r2']:.3f}, RMSE {d.scores['rmse']:.4g})",
           height=460, xaxis_title=f"actual {label(result.target)}",
           yaxis_title=f"predicted {label(result.target)}", showlegend=False)
    return fig


def residuals_figure(result, model: str | None = None):
    """Residuals (actual minus predicted) against the prediction, with their distribution.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.

    Returns
    -------
    plotly.graph_objects.Figure
        Left: residual per test row against its prediction (a pattern means
        the model misses structure). Right: histogram of the residuals.
        Drawn from ``result.diagnostics(model).residuals``.
    """
    _require_regression(result, "A residual plot")
    go = _go()
    d = result.diagnostics(model)
    pred, residual = d.residuals["predicted"].to_numpy(), d.residuals["residual"].to_numpy()
    keep = _sample(len(pred))
    fig = _subplots(rows=1, cols=2, column_widths=[0.75, 0.25], shared_yaxes=True, horizontal_spacing=0.02)
    fig.add_trace(go.Scatter(x=pred[keep], y=residual[keep], mode="markers", name="test rows",
                             marker=dict(color=color(0), size=7, opacity=0.7),
                             hovertemplate="predicted %{x:.4g}<br>residual (actual − predicted) %{y:.4g}<extra></extra>"),
                  row=1, col=1)
    fig.add_hline(y=0, line_color=LINE_COLOR, line_dash="dash", row=1, col=1)
    fig.add_trace(go.Histogram(y=residual, name="residuals", marker_color=color(0), opacity=0.75,
                               nbinsy=int(np.clip(len(residual) // 8, 5, 40)),
                               hovertemplate="residual %{y}<br>%{x} row(s)<extra></extra>"), row=1, col=2)
    styled(fig, title=f"Residuals on the test rows: {d.model}", height=440, showlegend=False)
    fig.update_xaxes(title_text="predicted", row=1, col=1)
    fig.update_xaxes(title_text="rows", row=1, col=2)
    fig.update_yaxes(title_text="residual", row=1, col=1)
    return fig


# -- importance ----------------------------------------------------------------------------
def importance_figure(importance: pd.DataFrame, *, model: str | None = None, metric: str | None = None):
    """Permutation importance of the input columns on the test rows, as bars.

    The figure only draws a table computed before: pass
    :meth:`FitResult.feature_importance <automl.result.FitResult.feature_importance>`
    (computed once per model, then cached), so showing the figure never starts
    an importance run.

    Parameters
    ----------
    importance : DataFrame
        Columns ``feature``, ``importance`` and ``std`` (spread over repeats),
        largest importance first.
    model : str, optional
        Model name, for the title.
    metric : str, optional
        Metric name, for the axis title.

    Returns
    -------
    plotly.graph_objects.Figure
        The 20 most important columns, with the spread over repeats as error bars.

    Examples
    --------
    >>> importance_figure(result.feature_importance(), model=result.best_model_name,
    ...                   metric=result.metric).show()  # doctest: +SKIP
    """
    if not isinstance(importance, pd.DataFrame):
        raise InputError(f"`importance` must be the DataFrame of FitResult.feature_importance(model=...), got "
                         f"{type(importance).__name__}; compute it first, e.g. "
                         "importance_figure(result.feature_importance(), model=..., metric=result.metric).")
    missing = {"feature", "importance", "std"} - set(importance.columns)
    if missing:
        raise InputError(f"`importance` lacks the column(s) {sorted(missing)}; pass the DataFrame of "
                         "FitResult.feature_importance().")
    go = _go()
    if len(importance) == 0:
        return empty_figure("No test rows were kept, so importance could not be measured.",
                            title="Feature importance")
    top = importance.head(MAX_FEATURES).iloc[::-1]
    fig = go.Figure(go.Bar(
        x=top["importance"], y=[label(f) for f in top["feature"]], orientation="h",
        error_x=dict(type="data", array=top["std"], color=LINE_COLOR, thickness=1.2),
        marker_color=[color(0) if v > 0 else "#9DA5B4" for v in top["importance"]],
        hovertemplate="%{y}<br>score drop %{x:.4f}<extra></extra>",
    ))
    fig.add_vline(x=0, line_color=LINE_COLOR)
    shown = f"top {len(top)} of {len(importance)}" if len(importance) > len(top) else f"{len(importance)} columns"
    name = f": {label(model)}" if model else ""
    styled(fig, title=f"Permutation importance on the test rows{name} ({shown})",
           height=min(900, 140 + 26 * len(top)),
           xaxis_title=f"drop in {label(metric or 'the score')} when the column is shuffled")
    fig.update_yaxes(type="category")
    return fig


# -- the set for one model -----------------------------------------------------------------
def evaluation_figures(result, model: str | None = None) -> dict[str, Any]:
    """The evaluation figures that suit the task, for one model on the test rows.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.

    Returns
    -------
    dict of str to Figure
        Classification: ``confusion_matrix``, ``confusion_matrix_normalized``,
        ``roc``, ``precision_recall``, ``calibration``. Regression:
        ``predicted_vs_actual``, ``residuals``.

    Examples
    --------
    >>> for name, fig in evaluation_figures(result).items():  # doctest: +SKIP
    ...     fig.show()
    """
    name = result.diagnostics(model).model  # checks the name once; the figures reuse the cached tables
    if result.task == "regression":
        return {"predicted_vs_actual": predicted_vs_actual_figure(result, name),
                "residuals": residuals_figure(result, name)}
    return {
        "confusion_matrix": confusion_matrix_figure(result, name),
        "confusion_matrix_normalized": confusion_matrix_figure(result, name, normalize=True),
        "roc": roc_figure(result, name),
        "precision_recall": pr_figure(result, name),
        "calibration": calibration_figure(result, name),
    }
