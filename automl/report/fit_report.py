"""The HTML report of a :class:`~automl.result.FitResult`: sections built from :mod:`automl.viz`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..metrics import get_metric
from .render import Section, render_report

__all__ = ["write_fit_report", "fit_sections", "fit_summary"]

# Networks whose training curves the report shows, best ranked first.
MAX_CURVES = 3
MAX_SEARCH_FAMILIES = 4
# Models that get a section of their own (params, scores, evaluation figures), best ranked first.
LEADING_MODELS = 3
# Models whose held-out predictions are compared with one another.
MAX_CORRELATED = 8


def write_fit_report(result, path: str | os.PathLike = "report.html", *, offline: bool = True,
                     title: str | None = None) -> Path:
    """Write the report of a fit result as one self-contained HTML file.

    Parameters
    ----------
    result : FitResult
    path : str or PathLike, default="report.html"
    offline : bool, default=True
        Embed plotly.js so the file opens anywhere without a network; False
        links plotly's CDN: a file of a few hundred kB instead of about
        2 MB, which needs a network to show its figures.
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
        ("Best model", str(best["model"]) + _selection_note(info.get("selection"), metric)),
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


def _selection_note(selection, metric) -> str:
    """Why the ensemble is first although a single model scored higher on validation (empty otherwise)."""
    if not selection or selection.get("chosen") != "ensemble":
        return ""
    return (f" (chosen over {selection['over']}, whose validation {metric.name} was higher by "
            f"{selection['lead']:.4g}: less than the {selection['noise']:.4g} that resampling the validation "
            "rows moves that difference)")


def fit_sections(result) -> list[Section]:
    """The report body: data, leaderboard, one section per leading model, training, search, importance,
    the models compared, notes and what it takes to reproduce the run."""
    from .. import viz

    leading = _leading(result)
    sections = [_data_section(result), _leaderboard_section(result)]
    sections += [_model_section(result, name, rank) for rank, name in enumerate(leading, start=1)]
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
    sections.append(_importance_section(result, result.best_model_name))
    if len(result.leaderboard) > 1:
        sections.append(_comparison_section(result, leading))
    sections += _optional_sections(result)
    sections.append(_notes_section(result))
    sections.append(_reproducibility_section(result))
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


def _leading(result) -> list[str]:
    from ..evaluate.comparison import leading_models

    return leading_models(result, LEADING_MODELS)


def _model_section(result, name: str, rank: int) -> Section:
    """Parameters, scores and (where test predictions exist) the evaluation figures of one model."""
    from .. import viz

    metric = get_metric(result.metric, result.task)
    board = result.leaderboard
    row = board.loc[board["model"].astype(str) == name].iloc[0]
    params = _params_dict(row["params"])
    param_table = pd.DataFrame({"parameter": [str(k) for k in params],
                                "value": [f"{v:.4g}" if isinstance(v, float) else str(v) for v in params.values()]})
    param_table.attrs["caption"] = f"Parameters of {name}"
    score_table = pd.DataFrame({
        "split": ["train", "validation", "test"],
        metric.name: [_natural(metric, row["train_score"]), _natural(metric, row["val_score"]),
                      _natural(metric, row["test_score"])],
    })
    score_table.attrs["caption"] = f"{metric.name} of {name} on each split"
    tables = [score_table, param_table] if params else [score_table]
    figures = []
    out = (result.test.get("predictions") or {}).get(name)
    y = result.test.get("y")
    notes = []
    if out is not None and out.get("pred") is not None and y is not None and len(np.asarray(y)):
        y = np.asarray(y)
        scores = result.diagnostics(name).scores  # computed in automl.evaluate, once per model (cached)
        metrics = pd.DataFrame({"metric": list(scores), "test value": list(scores.values())})
        metrics.attrs["caption"] = f"Every metric of {name} on the {len(y):,} test rows"
        tables.insert(1, metrics)
        figures = list(viz.evaluation_figures(result, name).values())
        notes.append(_sampling_note(figures, len(y)))
    else:
        notes.append("No test predictions were stored for this model, so it has no evaluation figures.")
    best = "the best model, " if rank == 1 else ""
    refit = " Predictions use this model refit on every labelled row." if bool(row.get("refit", False)) else ""
    text = (f"{name} ({row['family']}) is ranked {rank} of {len(board)} by validation {metric.name} "
            f"({best}validation {_fmt(_natural(metric, row['val_score']))}, test "
            f"{_fmt(_natural(metric, row['test_score']))}); fit in {_seconds(row.get('fit_time_s'))}.{refit} "
            "The figures measure it on the test rows, which no model or search decision saw.")
    title = f"Model {rank}: {name}" + (" (best)" if rank == 1 else "")
    return Section(f"model-{rank}", title, figures=figures, tables=tables, columns=2,
                   text="\n\n".join([text] + [n for n in notes if n]))


def _sampling_note(figures, rows: int) -> str:
    """Say so when a scatter of test rows shows fewer points than there are rows (read from the figures themselves).

    Only marker-only traces draw one point per row; lines with markers (calibration bins) summarise rows.
    """
    shown = [len(t.x) for fig in figures for t in fig.data
             if t.type in ("scatter", "scattergl") and t.mode == "markers" and t.x is not None]
    fewest = min(shown, default=rows)
    if fewest >= rows:
        return ""
    return (f"Scatter plots show a random sample of {fewest:,} of the {rows:,} test rows to keep the page light; "
            "every score, curve and histogram uses all of them.")


def _comparison_section(result, leading: list[str]) -> Section:
    """Importance side by side and the agreement of held-out predictions (from stored results only)."""
    from ..evaluate.comparison import importance_by_model, prediction_correlation
    from ..viz.comparison import importance_comparison_figure, prediction_correlation_figure

    importance = importance_by_model(result, leading)
    correlation = prediction_correlation(result, list(result.leaderboard["model"])[:MAX_CORRELATED])
    figures = [importance_comparison_figure(importance)]
    tables = []
    if len(importance):
        frame = importance.head(30).reset_index()
        frame.attrs["caption"] = (f"Permutation importance (drop in {result.metric}) of each input column, "
                                  f"by model (top {len(frame)} by mean)")
        tables.append(frame)
    if correlation.shape[0] > 1:
        figures.append(prediction_correlation_figure(correlation))
        frame = correlation.reset_index(names="model")
        frame.attrs["caption"] = f"{correlation.attrs['measure']} on the test rows"
        tables.append(frame)
    return Section(
        "comparison", "Models compared", figures=figures, tables=tables, columns=2,
        text=("Which input columns each leading model relies on, and how alike the models' predictions on the "
              "test rows are. Models that agree closely make the same mistakes, so averaging them gains little; "
              "a column that only one model uses deserves a second look."),
    )


def _optional_sections(result) -> list[Section]:
    """The explanation summary and the decision analysis, where the result offers them."""
    return [section for section in (_explanation_section(result), _decision_section(result)) if section is not None]


def _explanation_section(result) -> Section | None:
    """Mean |SHAP contribution| of each input column for the best model (cached on the result)."""
    from .. import viz

    best = result.best_model_name
    try:
        table = result.feature_importance(method="shap", model=best)
    except TypeError:  # a result type without SHAP importance
        return None
    except (ImportError, InputError) as exc:
        return Section("explanations", "Explanations", text=f"SHAP contributions could not be computed: {exc}")
    if table is None or len(table) == 0:
        return None
    method = str(table.attrs.get("method", "shap"))
    figure = viz.importance_figure(table, model=best, metric="the output")
    figure.update_layout(title_text=viz.label(f"Mean |contribution| of each input column: {best} "
                                              f"({min(len(table), 20)} of {len(table)} columns)"))
    figure.update_xaxes(title_text="mean |SHAP contribution| over the explained test rows")
    shown = table.head(30).rename(columns={"importance": "mean |contribution|", "std": "std over rows"})
    shown.attrs["caption"] = f"Mean absolute contribution per input column ({method})"
    rows = table.attrs.get("rows")
    return Section(
        "explanations", "Explanations", figures=[figure], tables=[shown],
        text=(f"How far each input column moves {best}'s output, on average over "
              f"{f'{rows:,} ' if isinstance(rows, int) else ''}test rows: the mean absolute SHAP contribution, on "
              "the user's columns (one-hot levels and engineered parts folded back). result.explain(rows) gives "
              "the contributions of single rows, which add up to the model's output."),
    )


def _decision_section(result) -> Section | None:
    """Calibration and (binary) threshold of the best model: chosen on validation rows, measured on test rows."""
    decision = (getattr(result, "decisions", None) or {}).get(result.best_model_name)
    if decision is None or result.task == "regression":
        return None
    best = result.best_model_name
    info = getattr(decision, "info", {}) or {}
    tables, text = [], []
    calibration = info.get("calibration") or {}
    if calibration:
        frame = pd.DataFrame({"item": [str(k) for k in calibration],
                              "value": [_params_text(v) if isinstance(v, dict) else v for v in calibration.values()]})
        frame.attrs["caption"] = "Probability calibration, chosen on the validation rows"
        tables.append(frame)
        text.append(f"Calibration: {calibration.get('method', 'none')} ({calibration.get('reason', '')}).")
    threshold = info.get("threshold") or {}
    if result.task == "binary" and threshold:
        from ..evaluate.decision import decision_value

        chosen = getattr(decision, "threshold", None)
        chosen = 0.5 if chosen is None else float(chosen)
        y, p = result._binary_test_scores(best)
        names = ["f1", "balanced_accuracy", "accuracy"]
        frame = pd.DataFrame({"metric": names,
                              "at 0.5": [decision_value(n, y, p, 0.5) for n in names],
                              f"at {chosen:.4g}": [decision_value(n, y, p, chosen) for n in names]})
        frame.attrs["caption"] = f"{best} on the {len(y):,} test rows at the default and the tuned threshold"
        tables.append(frame)
        gains = result.gains(model=best)
        gains.attrs["caption"] = "Cumulative gains and lift by score decile (test rows)"
        tables.append(gains)
        ks = result.ks(model=best)
        objective = threshold.get("objective") or "none"
        text.append(f"Decision threshold: {chosen:.4g} (objective {objective}, chosen on the validation rows; "
                    f"{threshold.get('reason', 'tuned')}). KS statistic on the test rows: {_fmt(ks['ks'])} "
                    f"at score {_fmt(ks['threshold'])}.")
    if not tables:
        return None
    return Section("decisions", "Decisions: calibration and threshold", tables=tables, text="\n\n".join(text))


def _reproducibility_section(result) -> Section:
    from ..evaluate.comparison import reproducibility

    table = reproducibility(result)
    table.attrs["caption"] = "Software, data and settings of this run"
    later = (table["source"] != "fit").any()
    text = ("To repeat this run, use the same data (its fingerprint must match "
            "automl.evaluate.comparison.data_fingerprint of the table), seed, time budget and families with the "
            "same library versions; a time budget makes the search depend on the machine's speed, so a slower or "
            "busier machine may try fewer models.")
    if later:
        text += ("\n\nThis result did not record its software and machine at fit time; the values marked "
                 "'this session' are those of the session that wrote the report.")
    return Section("reproducibility", "Reproducibility", tables=[table], text=text)


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

    importance = result.feature_importance(model=model)  # computed in automl.evaluate, cached on the result
    figure = viz.importance_figure(importance, model=model, metric=result.metric)
    table = importance.head(30)
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
def _params_dict(value) -> dict:
    """Leaderboard params (a dict or its JSON text) as a dict; anything else under the key ``params``."""
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"params": value} if value else {}
    if isinstance(value, dict):
        return value
    return {} if value is None else {"params": value}


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
