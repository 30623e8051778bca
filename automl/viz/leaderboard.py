"""The leaderboard figure: every model's train, validation and test score and its overfitting gap."""

from __future__ import annotations

import numpy as np

from ._common import _go, _metric_title, _natural, _subplots
from .theme import LINE_COLOR, SPLIT_COLORS, empty_figure, label, styled

__all__ = ["leaderboard_figure"]


def leaderboard_figure(result):
    """Train, validation and test score of every model, and the train-minus-validation gap.

    Parameters
    ----------
    result : FitResult

    Returns
    -------
    plotly.graph_objects.Figure
        Left: grouped bars per model in the metric's own units (best model on
        top). Right: the overfitting gap (train minus validation, oriented so a
        positive gap means the model does better on rows it has seen).

    Examples
    --------
    >>> leaderboard_figure(result).show()  # doctest: +SKIP
    """
    go = _go()
    board = result.leaderboard
    if board is None or len(board) == 0:
        return empty_figure("The leaderboard is empty.", title="Models")
    board = board.iloc[::-1]  # plotly draws the first category at the bottom
    names = [label(n) for n in board["model"]]
    fig = _subplots(rows=1, cols=2, column_widths=[0.72, 0.28], shared_yaxes=True, horizontal_spacing=0.03,
                    subplot_titles=(label(_metric_title(result)), "gap: train − validation"))
    for split, column in (("train", "train_score"), ("validation", "val_score"), ("test", "test_score")):
        values = _natural(result, board[column])
        fig.add_trace(go.Bar(
            y=names, x=values, orientation="h", name=split, marker_color=SPLIT_COLORS[split],
            text=[f"{v:.3f}" if np.isfinite(v) else "" for v in values], textposition="auto",
            hovertemplate="%{y}<br>" + split + ": %{x:.4f}<extra></extra>",
        ), row=1, col=1)
    gap = np.asarray(board["gap"], dtype=float)
    scale = np.nanmax(np.abs(_natural(result, board["val_score"]))) if len(board) else 1.0
    # A gap above 5% of the score's size is worth a warning colour.
    warn_at = 0.05 * (scale if np.isfinite(scale) and scale > 0 else 1.0)
    widest = float(np.nanmax(np.abs(gap))) if np.isfinite(gap).any() else 0.0
    fig.add_trace(go.Bar(
        y=names, x=gap, orientation="h", name="gap", showlegend=False,
        marker_color=["#E45756" if g > warn_at else "#9DA5B4" for g in np.nan_to_num(gap)],
        # labels inside wide bars; a near-zero bar has no room, so its label would be clipped: skip it
        text=[f"{g:+.3f}" if np.isfinite(g) and abs(g) >= 0.25 * widest else "" for g in gap],
        textposition="inside", insidetextanchor="end",
        hovertemplate="%{y}<br>train − validation: %{x:.4f}<extra></extra>",
    ), row=1, col=2)
    fig.update_yaxes(showticklabels=False, row=1, col=2)
    fig.add_vline(x=0, line_color=LINE_COLOR, row=1, col=2)
    height = 140 + 78 * len(board)
    styled(fig, title=f"Models compared on {result.metric}", height=min(max(height, 320), 1400),
           barmode="group", bargap=0.25, legend=dict(orientation="h", y=-0.12, x=0, traceorder="normal"))
    return fig
