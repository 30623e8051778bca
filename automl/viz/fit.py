"""Figures of a :class:`~automl.result.FitResult`: each reads the result and returns a ``go.Figure``.

Nothing here fits or predicts: the curves are drawn from the test-split
predictions :func:`automl.fit` stored on the result, the training curves from
the recorded histories and the importances from
:meth:`FitResult.feature_importance`. The dashboard and the HTML report call
these same functions.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..metrics import get_metric
from .theme import LINE_COLOR, SEQUENTIAL, SPLIT_COLORS, color, empty_figure, label, styled

__all__ = [
    "leaderboard_figure", "confusion_matrix_figure", "roc_figure", "pr_figure", "calibration_figure",
    "predicted_vs_actual_figure", "residuals_figure", "training_curves_figure", "search_history_figure",
    "hyperparameter_figure", "importance_figure", "evaluation_figures",
]

# Curves per class beyond this are unreadable; the most frequent classes are drawn.
MAX_CLASS_CURVES = 12
# Scatter plots draw at most this many points (a seeded sample) so files and browsers stay light.
MAX_POINTS = 3000
MAX_FEATURES = 20
MAX_PARAM_PANELS = 9


# -- helpers -------------------------------------------------------------------------------
def _go():
    import plotly.graph_objects as go

    return go


def _subplots(**kwargs):
    from plotly.subplots import make_subplots

    return make_subplots(**kwargs)


def _metric(result):
    return get_metric(result.metric, result.task)


def _natural(result, oriented):
    """Oriented scores (higher is better) back in the metric's own units."""
    values = np.asarray(oriented, dtype=float)
    return values if _metric(result).greater_is_better else -values


def _metric_title(result) -> str:
    m = _metric(result)
    return f"{m.name} ({'higher' if m.greater_is_better else 'lower'} is better)"


def _model_name(result, model: str | None) -> str:
    name = result.best_model_name if model is None else str(model)
    available = list((result.test or {}).get("predictions", {}))
    if name not in available:
        raise InputError(f"`model`={name!r} has no stored test predictions; choose one of {available}.")
    return name


def _test_predictions(result, model):
    name = _model_name(result, model)
    out = result.test["predictions"][name]
    y = np.asarray(result.test["y"])
    pred = np.asarray(out["pred"])
    proba = None if out.get("proba") is None else np.asarray(out["proba"], dtype=float)
    return name, y, pred, proba


def _class_names(result) -> list[str]:
    return [str(c) for c in result.classes]


def _require_classification(result, what: str) -> None:
    if result.task == "regression":
        raise InputError(f"{what} is drawn for classification results; this result is a regression "
                         "(use predicted_vs_actual_figure or residuals_figure).")


def _require_regression(result, what: str) -> None:
    if result.task != "regression":
        raise InputError(f"{what} is drawn for regression results; this result is {result.task} "
                         "(use confusion_matrix_figure, roc_figure or pr_figure).")


def _curve_classes(result, y) -> list[int]:
    """Class codes to draw one-vs-rest curves for: the positive class of a binary task, else the most frequent."""
    if result.task == "binary":
        return [1]
    counts = np.bincount(y.astype(int), minlength=len(result.classes))
    present = [k for k in np.argsort(-counts, kind="stable") if counts[k] > 0]
    return sorted(present[:MAX_CLASS_CURVES])


def _sample(n: int, seed: int = 0) -> np.ndarray:
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_POINTS, replace=False))


def _params(value) -> dict[str, Any]:
    """Trial params as a dict whether stored as a dict or (after loading) as JSON text."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


# -- model comparison ----------------------------------------------------------------------
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
    """
    _require_classification(result, "A confusion matrix")
    go = _go()
    name, y, pred, _ = _test_predictions(result, model)
    k = len(result.classes)
    matrix = np.zeros((k, k), dtype=float)
    np.add.at(matrix, (y.astype(int), pred.astype(int)), 1.0)
    counts = matrix.copy()
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    names = [label(c) for c in _class_names(result)]
    fig = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, colorscale=SEQUENTIAL, showscale=False, xgap=2, ygap=2,
        customdata=counts, zmin=0, zmax=1 if normalize else max(1.0, float(matrix.max())),
        texttemplate="%{z:.0%}" if normalize else "%{z:d}",
        hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata:d} row(s)"
                      + (" (%{z:.1%} of the true class)" if normalize else "") + "<extra></extra>",
    ))
    side = min(700, max(340, 120 + 42 * k))
    styled(fig, title=f"Confusion matrix{' (share of each true class)' if normalize else ''}: {name}",
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
        One curve per class with its AUC in the legend, and the chance diagonal.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    _require_classification(result, "A ROC curve")
    go = _go()
    name, y, _, proba = _test_predictions(result, model)
    if proba is None:
        return empty_figure(f"{name} gives no class probabilities.", title="ROC curve")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", hoverinfo="skip",
                             line=dict(color=LINE_COLOR, dash="dash", width=1)))
    classes = _class_names(result)
    for i, k in enumerate(_curve_classes(result, y)):
        positive = y == k
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, proba[:, k])
        auc = roc_auc_score(positive, proba[:, k])
        fig.add_trace(go.Scatter(
            x=fpr, y=tpr, mode="lines", name=f"{label(classes[k])} (AUC {auc:.3f})",
            line=dict(color=color(i), width=2, shape="hv"),
            hovertemplate="false positive rate %{x:.3f}<br>true positive rate %{y:.3f}<extra>"
                          + label(classes[k]) + "</extra>",
        ))
    suffix = f" (positive class {classes[1]})" if result.task == "binary" else " (one-vs-rest)"
    styled(fig, title=f"ROC curve{suffix}: {name}", height=440,
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
        One curve per class and, dotted, the precision of guessing (the class's share).
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    _require_classification(result, "A precision-recall curve")
    go = _go()
    name, y, _, proba = _test_predictions(result, model)
    if proba is None:
        return empty_figure(f"{name} gives no class probabilities.", title="Precision-recall curve")
    fig = go.Figure()
    classes = _class_names(result)
    for i, k in enumerate(_curve_classes(result, y)):
        positive = y == k
        if not positive.any():
            continue
        precision, recall, _ = precision_recall_curve(positive, proba[:, k])
        ap = average_precision_score(positive, proba[:, k])
        fig.add_trace(go.Scatter(
            x=recall, y=precision, mode="lines", name=f"{label(classes[k])} (AP {ap:.3f})",
            line=dict(color=color(i), width=2, shape="hv"), legendgroup=str(k),
            hovertemplate="recall %{x:.3f}<br>precision %{y:.3f}<extra>" + label(classes[k]) + "</extra>",
        ))
        share = float(positive.mean())
        fig.add_trace(go.Scatter(x=[0, 1], y=[share, share], mode="lines", legendgroup=str(k), showlegend=False,
                                 line=dict(color=color(i), dash="dot", width=1),
                                 hovertemplate=f"chance: {share:.3f}<extra></extra>"))
    suffix = f" (positive class {classes[1]})" if result.task == "binary" else " (one-vs-rest)"
    styled(fig, title=f"Precision-recall{suffix}: {name}", height=480, xaxis_title="recall",
           yaxis_title="precision", legend=dict(orientation="h", x=0, y=-0.18, yanchor="top"))
    fig.update_xaxes(range=[-0.01, 1.01])
    fig.update_yaxes(range=[-0.01, 1.03])
    return fig


def calibration_figure(result, model: str | None = None):
    """Reliability diagram: predicted probability against the observed share, per class.

    Probabilities are grouped in equal-width bins (3 to 10, fewer on small test
    splits); each marker's size shows how many rows its bin holds.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    _require_classification(result, "A calibration curve")
    go = _go()
    name, y, _, proba = _test_predictions(result, model)
    if proba is None:
        return empty_figure(f"{name} gives no class probabilities.", title="Calibration")
    n_bins = int(np.clip(len(y) // 15, 3, 10))
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", hoverinfo="skip",
                             line=dict(color=LINE_COLOR, dash="dash", width=1)))
    classes = _class_names(result)
    for i, k in enumerate(_curve_classes(result, y)):
        p = proba[:, k]
        bins = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
        counts = np.bincount(bins, minlength=n_bins)
        filled = counts > 0
        mean_p = np.bincount(bins, weights=p, minlength=n_bins)[filled] / counts[filled]
        observed = np.bincount(bins, weights=(y == k).astype(float), minlength=n_bins)[filled] / counts[filled]
        sizes = counts[filled]
        fig.add_trace(go.Scatter(
            x=mean_p, y=observed, mode="lines+markers", name=label(classes[k]), customdata=sizes,
            line=dict(color=color(i), width=2),
            marker=dict(size=6 + 14 * np.sqrt(sizes / sizes.max()), color=color(i)),
            hovertemplate="mean predicted %{x:.3f}<br>observed share %{y:.3f}<br>%{customdata} row(s)<extra>"
                          + label(classes[k]) + "</extra>",
        ))
    styled(fig, title=f"Calibration on the test rows: {name}", height=480,
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
    """
    from ..metrics import evaluate_all

    _require_regression(result, "A predicted-vs-actual plot")
    go = _go()
    name, y, pred, _ = _test_predictions(result, model)
    y, pred = y.astype(float), pred.astype(float)
    scores = evaluate_all("regression", y, pred)
    keep = _sample(len(y))
    finite = np.concatenate([y[np.isfinite(y)], pred[np.isfinite(pred)]])
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[low, high], y=[low, high], mode="lines", name="perfect", hoverinfo="skip",
                             line=dict(color=LINE_COLOR, dash="dash", width=1)))
    fig.add_trace(go.Scatter(x=y[keep], y=pred[keep], mode="markers", name="test rows",
                             marker=dict(color=color(0), size=7, opacity=0.7),
                             hovertemplate="actual %{x:.4g}<br>predicted %{y:.4g}<extra></extra>"))
    styled(fig, title=f"Predicted vs actual: {name} (R² {scores['r2']:.3f}, RMSE {scores['rmse']:.4g})",
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
    """
    _require_regression(result, "A residual plot")
    go = _go()
    name, y, pred, _ = _test_predictions(result, model)
    residual = y.astype(float) - pred.astype(float)
    keep = _sample(len(y))
    fig = _subplots(rows=1, cols=2, column_widths=[0.75, 0.25], shared_yaxes=True, horizontal_spacing=0.02)
    fig.add_trace(go.Scatter(x=pred[keep], y=residual[keep], mode="markers", name="test rows",
                             marker=dict(color=color(0), size=7, opacity=0.7),
                             hovertemplate="predicted %{x:.4g}<br>residual (actual − predicted) %{y:.4g}<extra></extra>"),
                  row=1, col=1)
    fig.add_hline(y=0, line_color=LINE_COLOR, line_dash="dash", row=1, col=1)
    fig.add_trace(go.Histogram(y=residual, name="residuals", marker_color=color(0), opacity=0.75,
                               nbinsy=int(np.clip(len(residual) // 8, 5, 40)),
                               hovertemplate="residual %{y}<br>%{x} row(s)<extra></extra>"), row=1, col=2)
    styled(fig, title=f"Residuals on the test rows: {name}", height=440, showlegend=False)
    fig.update_xaxes(title_text="predicted", row=1, col=1)
    fig.update_xaxes(title_text="rows", row=1, col=2)
    fig.update_yaxes(title_text="residual", row=1, col=1)
    return fig


# -- training and search -------------------------------------------------------------------
def _with_history(result) -> list[str]:
    order = list(result.leaderboard["model"]) if result.leaderboard is not None else []
    order += [n for n in result.models if n not in order]
    return [n for n in order if n in result.models and result.models[n].history]


def training_curves_figure(result, model: str | None = None):
    """Loss and metric per epoch, training against validation, for an iteratively trained model.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name of a model with a recorded history (the networks).
        When None: the best model if it has one, else the best-ranked model
        that does.

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per quantity (loss first), the epoch whose weights were kept
        marked (``info["best_epoch"]``, a 0-based index into the history), and
        whether early stopping ended the training. A short
        message figure when no model of the result records curves.
    """
    go = _go()
    if model is None:
        candidates = _with_history(result)
        if not candidates:
            return empty_figure("No model in this result records training curves (only neural networks do).",
                                title="Training curves")
        name = candidates[0]
    else:
        name = str(model)
        if name not in result.models:
            raise InputError(f"`model`={name!r} is not in this result; choose one of {list(result.models)}.")
        if not result.models[name].history:
            raise InputError(f"Model {name!r} records no training history; models with one: "
                             f"{_with_history(result) or 'none'}.")
    candidate = result.models[name]
    history = {k: np.asarray([np.nan if v is None else v for v in vals], dtype=float)
               for k, vals in candidate.history.items() if isinstance(vals, (list, tuple, np.ndarray))}
    # quantities measured on both splits (a learning-rate schedule, say, is not a fit curve)
    quantities = [k for k in history if not k.startswith("val_") and (k == "loss" or f"val_{k}" in history)]
    quantities = sorted(quantities, key=lambda k: (k != "loss", k))[:3]
    if not quantities:
        quantities = [k for k in history][:1]
    fig = _subplots(rows=1, cols=len(quantities), subplot_titles=[label(q) for q in quantities],
                    horizontal_spacing=0.08)
    info = candidate.info or {}
    best = _best_epoch(info, history)
    for j, quantity in enumerate(quantities, start=1):
        for split, key in (("train", quantity), ("validation", f"val_{quantity}")):
            if key not in history:
                continue
            values = history[key]
            epochs = np.arange(1, len(values) + 1)
            fig.add_trace(go.Scatter(
                x=epochs, y=values, mode="lines+markers" if len(values) <= 30 else "lines",
                name=split, legendgroup=split, showlegend=j == 1,
                line=dict(color=SPLIT_COLORS[split], width=2), marker=dict(size=5),
                hovertemplate="epoch %{x}<br>" + split + " " + label(quantity) + " %{y:.4g}<extra></extra>",
            ), row=1, col=j)
        if best is not None:
            fig.add_vline(x=best, line_color="#54A24B", line_dash="dot", row=1, col=j)
        longest = max((len(history[k]) for k in history), default=0)
        fig.update_xaxes(title_text="epoch", row=1, col=j, dtick=1 if longest <= 12 else None)
    note = ""
    if best is not None:
        note = f" · kept epoch {best}"
    if info.get("stopped_early"):
        note += " (early stopping)"
    styled(fig, title=f"Training curves: {name}{note}", height=400,
           legend=dict(orientation="h", y=-0.2, x=0))
    return fig


def _best_epoch(info: dict, history: dict) -> int | None:
    """The epoch (counted from 1, as drawn) whose weights were kept.

    ``info['best_epoch']`` is the 0-based index into the history that the
    network family records; without it, the epoch of the lowest validation loss.
    """
    best = info.get("best_epoch")
    if best is not None:
        try:
            return int(best) + 1
        except (TypeError, ValueError):
            return None
    val = history.get("val_loss")
    if val is not None and np.isfinite(val).any():
        return int(np.nanargmin(val)) + 1
    return None


def search_history_figure(result):
    """Validation score of every search trial in the order they ran, with the best so far.

    Parameters
    ----------
    result : FitResult

    Returns
    -------
    plotly.graph_objects.Figure
        x: seconds of search time when the trial ended (trial durations summed
        in run order); y: validation score in the metric's units; one colour
        per family; failed trials as crosses along the bottom.
    """
    go = _go()
    trials = result.trials
    if trials is None or len(trials) == 0 or "score" not in trials:
        return empty_figure("This result records no search trials.", title="Search history")
    trials = trials.reset_index(drop=True)
    durations = pd.to_numeric(trials.get("time_s", pd.Series(0.0, index=trials.index)), errors="coerce")
    ended = durations.fillna(0.0).cumsum().to_numpy()
    oriented = pd.to_numeric(trials["score"], errors="coerce").to_numpy(dtype=float)
    natural = _natural(result, oriented)
    status = trials.get("status", pd.Series("ok", index=trials.index)).astype(str).to_numpy()
    ok = np.isfinite(natural) & (status == "ok")
    families = trials.get("family", pd.Series("model", index=trials.index)).astype(str).to_numpy()
    hover = [_params_text(p) for p in trials.get("params", pd.Series([{}] * len(trials)))]
    fig = go.Figure()
    for i, family in enumerate(dict.fromkeys(families)):
        rows = ok & (families == family)
        if not rows.any():
            continue
        fig.add_trace(go.Scatter(
            x=ended[rows], y=natural[rows], mode="markers", name=label(family),
            marker=dict(color=color(i), size=8, opacity=0.85), customdata=np.array(hover, dtype=object)[rows],
            hovertemplate="%{y:.4f} after %{x:.1f}s<br>%{customdata}<extra>" + label(family) + "</extra>",
        ))
    if ok.any():
        best_oriented = np.maximum.accumulate(np.where(ok, oriented, -np.inf))
        seen = np.isfinite(best_oriented)
        fig.add_trace(go.Scatter(x=ended[seen], y=_natural(result, best_oriented[seen]), mode="lines",
                                 name="best so far", line=dict(color=LINE_COLOR, width=2, shape="hv"),
                                 hovertemplate="best %{y:.4f} at %{x:.1f}s<extra></extra>"))
    failed = ~ok
    if failed.any():
        floor = float(np.nanmin(natural[ok])) if ok.any() else 0.0
        errors = trials.get("error", pd.Series("", index=trials.index)).fillna("").astype(str).to_numpy()
        fig.add_trace(go.Scatter(
            x=ended[failed], y=np.full(int(failed.sum()), floor), mode="markers", name="failed",
            marker=dict(symbol="x", color="#E45756", size=9),
            customdata=[label(e[:160] or s) for e, s in zip(errors[failed], status[failed])],
            hovertemplate="failed after %{x:.1f}s<br>%{customdata}<extra></extra>",
        ))
    styled(fig, title=f"Search history: {int(ok.sum())} scored trial(s), {int(failed.sum())} failed",
           height=420, xaxis_title="search time (s)", yaxis_title=f"validation {label(result.metric)}")
    return fig


def _params_text(value) -> str:
    params = _params(value)
    if not params:
        return ""
    parts = [f"{label(k)}={label(_short(v))}" for k, v in params.items()]
    return "<br>".join(parts[:12])


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def hyperparameter_figure(result, family: str | None = None):
    """Validation score against each hyperparameter that varied in one family's search.

    Parameters
    ----------
    result : FitResult
    family : str, optional
        Family whose trials to show; by default the one with the most scored trials.

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per hyperparameter (numbers on a numeric axis, logarithmic
        when they span two orders of magnitude; choices as categories), the
        best trial as a star. SVG only, so it renders without WebGL.
    """
    go = _go()
    trials = result.trials
    if trials is None or len(trials) == 0 or "params" not in trials:
        return empty_figure("This result records no search trials.", title="Hyperparameters")
    status = trials.get("status", pd.Series("ok", index=trials.index)).astype(str)
    scored = trials[(status == "ok") & pd.to_numeric(trials["score"], errors="coerce").notna()]
    families = scored.get("family", pd.Series("model", index=scored.index)).astype(str)
    if family is None:
        if len(scored) == 0:
            return empty_figure("No search trial was scored.", title="Hyperparameters")
        family = families.value_counts().index[0]
    elif str(family) not in set(trials.get("family", pd.Series(dtype=str)).astype(str)):
        raise InputError(f"`family`={family!r} has no trials; choose one of "
                         f"{sorted(set(trials['family'].astype(str)))}.")
    family = str(family)
    rows = scored[families == family]
    params = pd.DataFrame([_flat(_params(p)) for p in rows["params"]], index=rows.index)
    # KerasTuner's own bookkeeping (tuner/epochs, tuner/trial_id, ...) is not a hyperparameter
    params = params[[c for c in params.columns if not str(c).startswith("tuner/")]]
    varied = [c for c in params.columns if params[c].astype(str).nunique(dropna=False) > 1][:MAX_PARAM_PANELS]
    title = f"Hyperparameters of {family}"
    if not varied or len(rows) < 2:
        return empty_figure(f"{len(rows)} scored trial(s) of {family}; no hyperparameter varied.", title=title)
    score = _natural(result, pd.to_numeric(rows["score"]))
    best = int(np.nanargmax(pd.to_numeric(rows["score"]).to_numpy()))
    cols = min(3, len(varied))
    n_rows = int(np.ceil(len(varied) / cols))
    fig = _subplots(rows=n_rows, cols=cols, subplot_titles=[label(v) for v in varied], shared_yaxes=True,
                    horizontal_spacing=0.06, vertical_spacing=min(0.18, 0.5 / n_rows))
    for i, param in enumerate(varied):
        r, c = divmod(i, cols)
        values = params[param]
        numeric = pd.to_numeric(values, errors="coerce")
        is_numeric = numeric.notna().all() and not values.map(lambda v: isinstance(v, bool)).any()
        # a trial that did not set the parameter used the estimator's default
        x = numeric.to_numpy(dtype=float) if is_numeric else [
            "(default)" if _missing(v) else label(_short(v)) for v in values]
        fig.add_trace(go.Scatter(
            x=x, y=score, mode="markers", showlegend=False, marker=dict(color=color(0), size=8, opacity=0.75),
            hovertemplate=label(param) + " %{x}<br>score %{y:.4f}<extra></extra>",
        ), row=r + 1, col=c + 1)
        fig.add_trace(go.Scatter(
            x=[x[best]], y=[score[best]], mode="markers", showlegend=False, name="best trial",
            marker=dict(symbol="star", color="#F58518", size=14, line=dict(width=0)),
            hovertemplate=label(param) + " %{x}<br>best score %{y:.4f}<extra></extra>",
        ), row=r + 1, col=c + 1)
        if is_numeric and (numeric > 0).all() and numeric.max() / numeric.min() >= 100:
            fig.update_xaxes(type="log", row=r + 1, col=c + 1)
        elif not is_numeric:
            fig.update_xaxes(type="category", row=r + 1, col=c + 1)
    for r in range(n_rows):
        fig.update_yaxes(title_text="validation score" if r == n_rows // 2 else None, row=r + 1, col=1)
    styled(fig, title=f"{title}: validation {_metric_title(result)} per trial (★ best)",
           height=150 + 250 * n_rows)
    return fig


def _missing(value) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _flat(params: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            out[name] = str(list(value))
        else:
            out[name] = value
    return out


# -- importance ----------------------------------------------------------------------------
def importance_figure(result, model: str | None = None):
    """Permutation importance of the input columns on the test rows.

    The numbers come from :meth:`FitResult.feature_importance` (computed once
    and cached on the result).

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.

    Returns
    -------
    plotly.graph_objects.Figure
        The 20 most important columns, with the spread over repeats as error bars.
    """
    go = _go()
    name = _model_name(result, model)
    table = result.feature_importance(model=name)
    if table is None or len(table) == 0:
        return empty_figure("No test rows were kept, so importance could not be measured.",
                            title="Feature importance")
    top = table.head(MAX_FEATURES).iloc[::-1]
    fig = go.Figure(go.Bar(
        x=top["importance"], y=[label(f) for f in top["feature"]], orientation="h",
        error_x=dict(type="data", array=top["std"], color=LINE_COLOR, thickness=1.2),
        marker_color=[color(0) if v > 0 else "#9DA5B4" for v in top["importance"]],
        hovertemplate="%{y}<br>score drop %{x:.4f}<extra></extra>",
    ))
    fig.add_vline(x=0, line_color=LINE_COLOR)
    shown = f"top {len(top)} of {len(table)}" if len(table) > len(top) else f"{len(table)} columns"
    styled(fig, title=f"Permutation importance on the test rows: {name} ({shown})",
           height=min(900, 140 + 26 * len(top)), xaxis_title=f"drop in {result.metric} when the column is shuffled")
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
    name = _model_name(result, model)
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
