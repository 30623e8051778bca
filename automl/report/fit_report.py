"""The HTML report of a :class:`~automl.result.FitResult`: sections built from :mod:`automl.viz`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import evaluate_all, get_metric
from .render import Section, render_report

__all__ = ["write_fit_report", "fit_sections", "fit_summary"]

# Networks whose training curves the report shows, best ranked first.
MAX_CURVES = 3
MAX_SEARCH_FAMILIES = 4


def write_fit_report(result, path: str | os.PathLike = "report.html", *, offline: bool = True,
                     title: str | None = None) -> Path:
    """Write the report of a fit result as one self-contained HTML file.

    Parameters
    ----------
    result : FitResult
    path : str or PathLike, default="report.html"
    offline : bool, default=True
        Embed plotly.js so the file opens anywhere without a network; False
        links plotly's CDN (a file of a few hundred kB instead of ~5 MB).
    title : str, optional
        Defaults to ``"automl report: <target>"``.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> result = automl.fit(df, "target", time_budget=30)  # doctest: +SKIP
    >>> result.report("report.html")                       # doctest: +SKIP
    PosixPath('report.html')
    """
    metric = get_metric(result.metric, result.task)
    subtitle = (f"{result.task} task · ranked by {metric.name} ({metric.description}) · "
                f"{len(result.leaderboard)} model(s) compared")
    return render_report(path, title=title or f"automl report: {result.target}", subtitle=subtitle,
                         summary=fit_summary(result), sections=fit_sections(result), offline=offline)


def fit_summary(result) -> list[tuple[str, str]]:
    """Key facts of a fit result as (label, value) pairs."""
    info = result.info or {}
    board = result.leaderboard
    metric = get_metric(result.metric, result.task)
    best = board.iloc[0]
    splits = info.get("splits") or {}
    pairs = [
        ("Task", result.task),
        ("Target", str(result.target)),
        ("Data", f"{info.get('rows', '?'):,} rows × {info.get('columns', '?')} columns"
         if isinstance(info.get("rows"), int) else "unknown"),
        ("Splits", " · ".join(f"{k} {v:,}" for k, v in splits.items()) if splits else "unknown"),
        ("Metric", f"{metric.name} ({'higher' if metric.greater_is_better else 'lower'} is better)"),
        ("Best model", str(best["model"])),
        (f"Best validation {metric.name}", _fmt(_natural(metric, best["val_score"]))),
        (f"Best test {metric.name}", _fmt(_natural(metric, best["test_score"]))),
        ("Time budget", _seconds(info.get("time_budget_s"))),
        ("Elapsed", _seconds(info.get("elapsed_s"))),
        ("Models · trials", f"{len(board)} · {len(result.trials)}"),
    ]
    refit = info.get("refit") or {}
    if refit.get("models"):
        pairs.append(("Deployed model", f"{best['model']} refit on all {refit.get('rows', 0):,} labelled rows "
                      "(scores above: the searched model, trained on the training split)"))
    if result.classes is not None:
        pairs.insert(3, ("Classes", str(len(result.classes))))
    used = len(result.schema.used)
    dropped = len(result.schema.dropped)
    pairs.insert(4, ("Columns used", f"{used} used · {dropped} dropped"))
    return pairs


def fit_sections(result) -> list[Section]:
    """The report body: data, leaderboard, evaluation, training, search, importance, notes."""
    from .. import viz

    sections = [_data_section(result), _leaderboard_section(result)]
    best = result.best_model_name
    metric = get_metric(result.metric, result.task)
    evaluation = viz.evaluation_figures(result)
    y = np.asarray(result.test.get("y"))
    out = result.test["predictions"][best]
    scores = evaluate_all(result.task, y, out["pred"], out.get("proba"))
    score_table = pd.DataFrame({"metric": list(scores), "test value": list(scores.values())})
    score_table.attrs["caption"] = f"Every metric of {best} on the {len(y)} test rows"
    sections.append(Section(
        "evaluation", "Evaluation of the best model", figures=list(evaluation.values()), tables=[score_table],
        columns=2,
        text=(f"{best} was ranked first by validation {metric.name}; these figures measure it on the test rows, "
              "which no model or search decision saw."),
    ))
    with_history = [n for n in result.leaderboard["model"] if n in result.models and result.models[n].history]
    if with_history:
        sections.append(Section(
            "training", "Training curves",
            figures=[viz.training_curves_figure(result, name) for name in with_history[:MAX_CURVES]],
            text="Loss and metric per epoch on the training and validation rows; the dotted line marks the "
                 "epoch whose weights were kept. A validation curve that turns up while the training curve "
                 "keeps falling is overfitting.",
        ))
    sections.append(_search_section(result))
    sections.append(_importance_section(result, best))
    sections.append(_notes_section(result))
    return sections


# -- sections ------------------------------------------------------------------------------
def _data_section(result) -> Section:
    schema = result.schema.to_frame()
    schema = schema.assign(missing=schema["missing_fraction"].map(lambda v: f"{100 * float(v):.1f}%"))
    schema = schema.drop(columns=["missing_fraction"]).rename(
        columns={"name": "column", "n_unique": "distinct"})[["column", "role", "dtype", "distinct", "missing",
                                                              "reason"]]
    schema.attrs["caption"] = "How each input column was used"
    tables = [schema]
    dropped = result.schema.dropped
    if dropped:
        frame = pd.DataFrame({"column": list(dropped), "reason": list(dropped.values())})
        frame.attrs["caption"] = "Dropped columns"
        tables.insert(0, frame)
    counts = (result.info or {}).get("class_counts")
    if counts:
        total = sum(counts.values()) or 1
        frame = pd.DataFrame({"class": list(counts), "rows": list(counts.values()),
                              "share": [f"{100 * v / total:.1f}%" for v in counts.values()]})
        frame.attrs["caption"] = f"Rows per class of {result.target}"
        tables.append(frame)
    roles = schema["role"].value_counts()
    text = (f"{len(result.schema.used)} of {len(schema)} input columns feed the models ("
            + ", ".join(f"{n} {role}" for role, n in roles.items()) + ").")
    return Section("data", "Data and column decisions", tables=tables, text=text)


def _leaderboard_section(result) -> Section:
    from .. import viz

    metric = get_metric(result.metric, result.task)
    board = result.leaderboard
    table = pd.DataFrame({
        "rank": np.arange(1, len(board) + 1),
        "model": board["model"],
        "family": board["family"],
        f"train {metric.name}": _natural(metric, board["train_score"]),
        f"validation {metric.name}": _natural(metric, board["val_score"]),
        f"test {metric.name}": _natural(metric, board["test_score"]),
        "gap": board["gap"],
        "fit time (s)": board["fit_time_s"],
        "predict time (s)": board["predict_time_s"],
        "params": [_params_text(p) for p in board["params"]],
    })
    table.attrs["caption"] = "Leaderboard (ranked by validation score; gap = train − validation, oriented)"
    return Section(
        "leaderboard", "Leaderboard", figures=[viz.leaderboard_figure(result)], tables=[table],
        text=("Models are ranked by their validation score. The test score is measured once, on rows kept "
              "aside from the start; a large gap between train and validation scores signals overfitting."),
    )


def _search_section(result) -> Section:
    from .. import viz

    figures = [viz.search_history_figure(result)]
    trials = result.trials
    tables = []
    if trials is not None and len(trials) and "family" in trials:
        status = trials.get("status", pd.Series("ok", index=trials.index)).astype(str)
        score = pd.to_numeric(trials["score"], errors="coerce")
        metric = get_metric(result.metric, result.task)
        summary = []
        for family, rows in trials.groupby(trials["family"].astype(str), sort=False):
            ok = (status[rows.index] == "ok") & score[rows.index].notna()
            summary.append({
                "family": family, "trials": len(rows), "scored": int(ok.sum()),
                "failed": int((status[rows.index] == "failed").sum()),
                f"best validation {metric.name}": _natural(metric, score[rows.index][ok].max())
                if ok.any() else float("nan"),
                "search time (s)": float(pd.to_numeric(rows.get("time_s"), errors="coerce").sum())
                if "time_s" in rows else float("nan"),
            })
            if ok.sum() >= 3 and len(figures) <= MAX_SEARCH_FAMILIES:
                figures.append(viz.hyperparameter_figure(result, family=family))
        frame = pd.DataFrame(summary)
        frame.attrs["caption"] = "Trials per family"
        tables.append(frame)
    return Section("search", "Search history and hyperparameters", figures=figures, tables=tables,
                   text="Each point is one configuration tried, scored on the validation rows.")


def _importance_section(result, model: str) -> Section:
    from .. import viz

    figure = viz.importance_figure(result, model)
    table = result.feature_importance(model=model).head(30)
    table = table.rename(columns={"importance": "mean score drop", "std": "std over repeats"})
    table.attrs["caption"] = f"Permutation importance of {model} on the test rows (top {len(table)})"
    return Section(
        "importance", "Feature importance", figures=[figure], tables=[table] if len(table) else [],
        text=("How much the test score drops when one input column's values are shuffled, breaking its link "
              "with the target. Near zero or negative: the model does not rely on that column."),
    )


def _notes_section(result) -> Section:
    info = result.info or {}
    notes = [str(n) for n in info.get("notes") or []]
    notes += [str(w) for w in info.get("warnings") or []]
    failed = 0
    if result.trials is not None and "status" in result.trials:
        failed = int((result.trials["status"].astype(str) == "failed").sum())
    if failed:
        notes.append(f"{failed} search trial(s) failed; see the search history for their errors.")
    settings = info.get("settings") or {}
    frame = pd.DataFrame({"setting": list(settings) + ["seed", "families"],
                          "value": [str(v) for v in settings.values()]
                          + [str(info.get("seed", "")), ", ".join(map(str, info.get("families") or []))]})
    frame.attrs["caption"] = "Settings of this run"
    text = "\n\n".join(notes) if notes else "No problems were recorded during this run."
    return Section("notes", "Notes and settings", tables=[frame], text=text)


# -- formatting ----------------------------------------------------------------------------
def _params_text(value) -> str:
    """``{"C": 0.1, "penalty": "l2"}`` (or its JSON text) as ``C=0.1, penalty=l2``."""
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items())


def _natural(metric, oriented):
    values = np.asarray(oriented, dtype=float)
    out = values if metric.greater_is_better else -values
    return float(out) if out.ndim == 0 else out


def _fmt(value) -> str:
    value = float(value)
    return "–" if not np.isfinite(value) else f"{value:.4f}"


def _seconds(value) -> str:
    if value is None:
        return "unknown"
    value = float(value)
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"
