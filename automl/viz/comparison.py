"""Figures that compare the searched models: importance side by side, agreement of their predictions.

Nothing here computes: the tables come from :mod:`automl.evaluate.comparison`
(held-out predictions and the cached permutation importance), and these
functions only draw them. The report and the dashboard call the same functions.

>>> from automl.evaluate.comparison import importance_by_model, prediction_correlation
>>> importance_comparison_figure(importance_by_model(result)).show()     # doctest: +SKIP
>>> prediction_correlation_figure(prediction_correlation(result)).show()  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

from .theme import LINE_COLOR, SEQUENTIAL, color, empty_figure, label, styled

__all__ = ["importance_comparison_figure", "prediction_correlation_figure"]

# Columns drawn in the side-by-side importance (the most important on average).
MAX_FEATURES = 15


def _go():
    import plotly.graph_objects as go
    return go


def _frame(table, argument: str, source: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"`{argument}` must be a DataFrame from automl.evaluate.comparison.{source}, "
                         f"got {type(table).__name__}; compute it first and pass it in.")
    return table


def importance_comparison_figure(table: pd.DataFrame, *, max_features: int = MAX_FEATURES):
    """Permutation importance of the input columns for several models, bars side by side.

    Parameters
    ----------
    table : DataFrame
        :func:`automl.evaluate.comparison.importance_by_model`: one row per input
        column (index), one column per model, largest mean importance first.
    max_features : int, default=15
        Columns shown, by mean importance across the models.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar colour per model; a column that matters to one model and not
        another shows as bars of different lengths in the same row.
    """
    table = _frame(table, "table", "importance_by_model(result)")
    go = _go()
    if table.shape[0] == 0 or table.shape[1] == 0:
        return empty_figure("No test rows were kept, so importance could not be measured.",
                            title="Feature importance by model")
    top = table.head(int(max_features)).iloc[::-1]
    names = [label(f) for f in top.index]
    fig = go.Figure()
    for i, model in enumerate(top.columns):
        fig.add_trace(go.Bar(x=top[model].to_numpy(dtype=float), y=names, orientation="h", name=label(model),
                             marker_color=color(i),
                             hovertemplate=f"{label(model)}<br>%{{y}}<br>score drop %{{x:.4f}}<extra></extra>"))
    fig.add_vline(x=0, line_color=LINE_COLOR)
    shown = f"top {len(top)} of {len(table)} columns" if len(table) > len(top) else f"{len(table)} columns"
    metric = table.attrs.get("metric") or "the score"
    styled(fig, title=f"Permutation importance by model on the test rows ({shown})",
           height=min(1100, 160 + (14 + 8 * top.shape[1]) * len(top)), barmode="group",
           xaxis_title=f"drop in {label(metric)} when the column is shuffled", legend=dict(traceorder="reversed"))
    fig.update_yaxes(type="category")
    return fig


def prediction_correlation_figure(table: pd.DataFrame):
    """How alike the models' held-out predictions are, as a matrix.

    Parameters
    ----------
    table : DataFrame
        :func:`automl.evaluate.comparison.prediction_correlation`: square, one
        row and column per model; ``attrs["measure"]`` names what was compared.

    Returns
    -------
    plotly.graph_objects.Figure
        Near 1: the models make the same mistakes (an ensemble of them gains
        little); lower: they disagree, and combining them may help.
    """
    table = _frame(table, "table", "prediction_correlation(result)")
    go = _go()
    if table.shape[0] == 0:
        return empty_figure("No test predictions were stored.", title="Agreement of the models' predictions")
    names = [label(n) for n in table.columns]
    z = table.to_numpy(dtype=float)
    finite = z[np.isfinite(z)]
    # start the scale a little below the lowest value so that 0.95 and 0.99 look different
    low = float(min(0.9, np.floor(finite.min() * 10) / 10)) if len(finite) else 0.0
    measure = table.attrs.get("measure", "correlation")
    fig = go.Figure(go.Heatmap(
        z=z, x=names, y=names, colorscale=SEQUENTIAL, zmin=low, zmax=1.0, xgap=2, ygap=2,
        texttemplate="%{z:.3f}", colorbar=dict(thickness=12),
        hovertemplate="%{y}<br>%{x}<br>" + label(measure) + " %{z:.4f}<extra></extra>",
    ))
    side = min(720, max(340, 160 + 70 * len(names)))
    rows = table.attrs.get("rows")
    styled(fig, title=f"Agreement of held-out predictions{f' ({rows} test rows)' if rows else ''}", height=side)
    fig.update_yaxes(autorange="reversed", type="category", showgrid=False)
    fig.update_xaxes(type="category", showgrid=False, tickangle=-30)
    return fig
