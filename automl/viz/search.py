"""Figures of how models were found: training curves per epoch, search history, hyperparameters.

They read the trials table and the recorded histories of a
:class:`~automl.result.FitResult`; nothing here trains or predicts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._common import _go, _metric_title, _natural, _params, _subplots
from .theme import LINE_COLOR, SPLIT_COLORS, color, empty_figure, label, styled

__all__ = ["training_curves_figure", "search_history_figure", "hyperparameter_figure"]

MAX_PARAM_PANELS = 9


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
