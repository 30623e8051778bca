"""Compare the searched models with one another, and record what a run needs to be repeated.

Everything here reads what the fit already measured -- the held-out test
predictions of each model and the (cached) permutation importance -- so the
report and the dashboard can show it without training anything.

>>> importance_by_model(result)          # doctest: +SKIP
>>> prediction_correlation(result)       # doctest: +SKIP
>>> reproducibility(result)              # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["leading_models", "importance_by_model", "prediction_correlation", "data_fingerprint",
           "environment", "reproducibility", "LIBRARIES"]

# Distributions whose versions decide what a fit produces (missing ones are listed as such).
LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "keras", "tensorflow", "keras-tuner", "lightgbm",
             "xgboost", "catboost", "umap-learn", "shap", "plotly")


def leading_models(result, top: int = 3) -> list[str]:
    """The names of the ``top`` best models of the leaderboard (best first).

    Parameters
    ----------
    result : FitResult
    top : int, default=3

    Returns
    -------
    list of str
    """
    if not isinstance(top, (int, np.integer)) or isinstance(top, bool) or top < 1:
        raise InputError(f"`top` must be a positive integer, got {top!r}.")
    return [str(name) for name in list(result.leaderboard["model"])[: int(top)]]


def _names(result, models: Sequence[str] | None, top: int) -> list[str]:
    if models is None:
        return leading_models(result, top)
    names = [str(m) for m in models]
    unknown = [m for m in names if m not in result.models]
    if unknown:
        raise InputError(f"`models` names unknown model(s) {unknown}; choose from {list(result.leaderboard['model'])}.")
    return names


def importance_by_model(result, models: Sequence[str] | None = None, *, top: int = 5) -> pd.DataFrame:
    """Permutation importance of each input column, one column per model, side by side.

    Parameters
    ----------
    result : FitResult
    models : sequence of str, optional
        Leaderboard names; the ``top`` best models when None.
    top : int, default=5

    Returns
    -------
    DataFrame
        Index ``feature`` (every used input column), one column per model with
        the mean drop of its oriented test score when the column is shuffled
        (the same units for every model: the ranking metric), ordered by the
        mean importance across models, largest first. ``attrs["metric"]`` names
        the metric. Each model's importance is computed once and cached on the
        result (:meth:`FitResult.feature_importance`).
    """
    names = _names(result, models, top)
    columns = {}
    for name in names:
        table = result.feature_importance(model=name)
        columns[name] = pd.Series(table["importance"].to_numpy(dtype=float), index=table["feature"].astype(str))
    frame = pd.DataFrame(columns, index=[str(f) for f in result.schema.used])
    frame.index.name = "feature"
    if len(frame):
        order = frame.mean(axis=1, skipna=True).sort_values(ascending=False, kind="stable").index
        frame = frame.loc[order]
    frame.attrs["metric"] = result.metric
    return frame


def _held_out_output(task: str, out: dict) -> np.ndarray | None:
    """What a model said about the test rows, as numbers: value, P(positive) or class probabilities."""
    proba = out.get("proba")
    if task == "regression":
        return np.asarray(out.get("pred"), dtype=float)
    if proba is not None:
        proba = np.asarray(proba, dtype=float)
        if task == "binary" and proba.ndim == 2 and proba.shape[1] == 2:
            return proba[:, 1]
        return proba
    return None


def prediction_correlation(result, models: Sequence[str] | None = None, *, top: int = 5) -> pd.DataFrame:
    """How alike the models' held-out predictions are: one row and one column per model.

    Parameters
    ----------
    result : FitResult
    models : sequence of str, optional
        Leaderboard names; the ``top`` best models when None. Models without
        stored test predictions are left out.
    top : int, default=5

    Returns
    -------
    DataFrame
        Symmetric, 1 on the diagonal. ``attrs["measure"]`` says what was
        compared: the Pearson correlation of the predicted values (regression),
        of P(positive class) (binary) or of all class probabilities (multiclass);
        classifiers without probabilities are compared by the share of test
        rows where their predicted classes agree. ``attrs["rows"]`` is the
        number of test rows.
    """
    names = _names(result, models, top)
    stored = result.test.get("predictions") or {}
    names = [n for n in names if n in stored and stored[n].get("pred") is not None]
    outputs = {n: _held_out_output(result.task, stored[n]) for n in names}
    rows = len(np.asarray(result.test.get("y"))) if result.test.get("y") is not None else 0
    if names and all(outputs[n] is not None for n in names):
        matrix = np.column_stack([outputs[n].reshape(len(outputs[n]), -1).ravel() for n in names])
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.corrcoef(matrix, rowvar=False) if len(names) > 1 else np.ones((1, 1))
        # a constant prediction has no correlation with anything (nan); it is still identical to itself
        np.fill_diagonal(values, 1.0)
        measure = {"regression": "Pearson correlation of the predicted values",
                   "binary": "Pearson correlation of P(positive class)",
                   "multiclass": "Pearson correlation of the class probabilities"}[result.task]
    else:
        labels = [np.asarray(stored[n]["pred"]) for n in names]
        values = np.array([[float(np.mean(a == b)) for b in labels] for a in labels]).reshape(len(names), len(names))
        measure = "share of test rows with the same predicted class"
    frame = pd.DataFrame(np.asarray(values, dtype=float).reshape(len(names), len(names)), index=names, columns=names)
    frame.attrs["measure"] = measure
    frame.attrs["rows"] = rows
    return frame


def data_fingerprint(frame: pd.DataFrame) -> str:
    """A short, stable hash of a table's values, column names and dtypes.

    The same table gives the same fingerprint in any session; a changed value,
    an added row, a renamed or retyped column changes it. Row order counts.

    Parameters
    ----------
    frame : DataFrame

    Returns
    -------
    str
        ``"sha256:"`` followed by 16 hex digits.

    Examples
    --------
    >>> import pandas as pd
    >>> data_fingerprint(pd.DataFrame({"a": [1, 2]})) == data_fingerprint(pd.DataFrame({"a": [1, 2]}))
    True
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"`frame` must be a pandas DataFrame, got {type(frame).__name__}.")
    digest = hashlib.sha256()
    digest.update(f"{frame.shape}".encode())
    for name in frame.columns:
        column = frame[name]
        digest.update(f"{name!r}:{column.dtype}".encode())
        try:
            hashed = pd.util.hash_pandas_object(column, index=False).to_numpy()
        except TypeError:  # unhashable cells (lists, dicts): hash their text
            hashed = pd.util.hash_pandas_object(column.astype(str), index=False).to_numpy()
        digest.update(np.ascontiguousarray(hashed).tobytes())
    return "sha256:" + digest.hexdigest()[:16]


# Libraries that ship under more than one distribution name (XGBoost's CPU-only wheel is "xgboost-cpu").
_OTHER_DISTRIBUTIONS = {"xgboost": ("xgboost-cpu",)}


def _version(distribution: str) -> str:
    from importlib import metadata

    for name in (distribution, *_OTHER_DISTRIBUTIONS.get(distribution, ())):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def environment() -> dict:
    """The software and machine this process runs on (versions read without importing the libraries).

    Returns
    -------
    dict
        ``automl``, ``python``, ``platform``, ``machine``, ``cpu_count`` and
        ``libraries`` (distribution name to version, or ``"not installed"``).
    """
    return {
        "automl": _version("automl"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "libraries": {name: _version(name) for name in LIBRARIES},
    }


def reproducibility(result) -> pd.DataFrame:
    """What it takes to repeat a fit: versions, seed, data fingerprint, budget, machine.

    Reads what :func:`automl.fit` recorded in ``result.info`` (``environment``
    and ``data_fingerprint``). A result saved by an older automl lacks them:
    the environment of this process is shown instead and says so.

    Parameters
    ----------
    result : FitResult

    Returns
    -------
    DataFrame
        ``item``, ``value`` and ``source`` (``"fit"`` when recorded at fit time,
        ``"this session"`` otherwise).
    """
    info = result.info or {}
    recorded = info.get("environment")
    env, source = (recorded, "fit") if recorded else (environment(), "this session")
    settings = info.get("settings") or {}
    rows = [
        ("data fingerprint", info.get("data_fingerprint") or "not recorded", "fit"),
        ("rows × columns", f"{info.get('rows', '?')} × {info.get('columns', '?')}", "fit"),
        ("seed", str(info.get("seed", "not recorded")), "fit"),
        ("time budget (s)", str(info.get("time_budget_s", "not recorded")), "fit"),
        ("families", ", ".join(map(str, info.get("families") or [])) or "not recorded", "fit"),
        ("max trials", str(settings.get("max_trials")), "fit"),
        ("automl", str(env.get("automl")), source),
        ("python", str(env.get("python")), source),
        ("platform", str(env.get("platform")), source),
        ("machine", str(env.get("machine")), source),
        ("CPU count", str(env.get("cpu_count")), source),
    ]
    rows += [(name, str(version), source) for name, version in (env.get("libraries") or {}).items()]
    return pd.DataFrame(rows, columns=["item", "value", "source"])
