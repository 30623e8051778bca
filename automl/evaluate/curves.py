"""Diagnostics of one model on the test rows, as plain tables: what the evaluation figures draw.

Confusion counts, ROC and precision-recall curves with their areas,
calibration bins and regression residuals are computed here from the test
predictions :func:`automl.fit` stored; :mod:`automl.viz` only draws these
tables. Each function works on arrays, so it serves any predictions;
:func:`diagnose` gathers them for a result, and
:meth:`FitResult.diagnostics <automl.result.FitResult.diagnostics>` caches it
per model.

>>> d = result.diagnostics()            # doctest: +SKIP
>>> d.roc.groupby("class")["auc"].first()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..metrics import evaluate_all

__all__ = ["Diagnostics", "diagnose", "confusion_table", "roc_table", "pr_table", "calibration_table",
           "residual_table", "curve_classes", "MAX_CLASS_CURVES"]

# Curves per class beyond this are unreadable; the most frequent classes get one.
MAX_CLASS_CURVES = 12

ROC_COLUMNS = ["class", "code", "fpr", "tpr", "threshold", "auc"]
PR_COLUMNS = ["class", "code", "recall", "precision", "threshold", "average_precision", "prevalence"]
CALIBRATION_COLUMNS = ["class", "code", "bin", "mean_predicted", "observed", "rows"]
RESIDUAL_COLUMNS = ["actual", "predicted", "residual"]


@dataclass
class Diagnostics:
    """One model's diagnostics on the test rows, all plain data.

    Attributes
    ----------
    model : str
        Leaderboard name.
    task : {'binary', 'multiclass', 'regression'}
    rows : int
        Test rows measured.
    scores : dict of str to float
        Every metric of the task in its own units (see :func:`automl.metrics.evaluate_all`).
    confusion : DataFrame or None
        Classification: counts, true class down the index, predicted class
        across the columns (class names as text).
    roc, pr, calibration : DataFrame or None
        Classification with probabilities: see :func:`roc_table`,
        :func:`pr_table`, :func:`calibration_table`.
    residuals : DataFrame or None
        Regression: see :func:`residual_table`.
    """

    model: str
    task: str
    rows: int
    scores: dict[str, float]
    confusion: pd.DataFrame | None = None
    roc: pd.DataFrame | None = None
    pr: pd.DataFrame | None = None
    calibration: pd.DataFrame | None = None
    residuals: pd.DataFrame | None = None

    def confusion_shares(self) -> pd.DataFrame:
        """The confusion counts as shares of each true class (each row sums to 1; its recall on the diagonal)."""
        if self.confusion is None:
            raise InputError(f"{self.model!r} is a regression model; confusion tables are for classifiers.")
        totals = self.confusion.sum(axis=1).to_numpy(dtype=float)[:, None]
        counts = self.confusion.to_numpy(dtype=float)
        shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        return pd.DataFrame(shares, index=self.confusion.index, columns=self.confusion.columns)


def diagnose(result, model: str | None = None) -> Diagnostics:
    """Compute every diagnostic of ``model`` from the test predictions stored on ``result``.

    Parameters
    ----------
    result : FitResult
    model : str, optional
        Leaderboard name; the best model when None.

    Returns
    -------
    Diagnostics

    Raises
    ------
    InputError
        When ``model`` has no stored test predictions.
    """
    name = result.best_model_name if model is None else str(model)
    stored = (result.test or {}).get("predictions", {})
    if name not in stored:
        raise InputError(f"`model`={name!r} has no stored test predictions; choose one of {list(stored)}.")
    y = np.asarray(result.test["y"])
    pred = np.asarray(stored[name]["pred"])
    proba = stored[name].get("proba")
    proba = None if proba is None else np.asarray(proba, dtype=float)
    scores = evaluate_all(result.task, y, pred, proba)
    if result.task == "regression":
        return Diagnostics(name, result.task, len(y), scores, residuals=residual_table(y, pred))
    classes = [str(c) for c in result.classes]
    out = Diagnostics(name, result.task, len(y), scores, confusion=confusion_table(y, pred, classes))
    if proba is not None:
        codes = curve_classes(y, len(classes), binary=result.task == "binary")
        out.roc = roc_table(y, proba, classes, codes)
        out.pr = pr_table(y, proba, classes, codes)
        out.calibration = calibration_table(y, proba, classes, codes)
    return out


def curve_classes(y: np.ndarray, n_classes: int, *, binary: bool, limit: int = MAX_CLASS_CURVES) -> list[int]:
    """Class codes that get one-vs-rest curves: the positive class of a binary task, else the most frequent.

    Returns at most ``limit`` codes of classes present in ``y``, in code order.
    """
    if binary:
        return [1]
    counts = np.bincount(np.asarray(y).astype(int), minlength=n_classes)
    present = [int(k) for k in np.argsort(-counts, kind="stable") if counts[k] > 0]
    return sorted(present[:limit])


def confusion_table(y: np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """Counts of (true, predicted) class pairs.

    Parameters
    ----------
    y, pred : ndarray of int, shape (n_rows,)
        Encoded true and predicted classes (codes into ``classes``).
    classes : sequence of str

    Returns
    -------
    DataFrame, shape (n_classes, n_classes)
        Integer counts; index ``true``, columns ``predicted``; the diagonal
        holds the correct predictions and the total is ``n_rows``.
    """
    k = len(classes)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y).astype(int), np.asarray(pred).astype(int)), 1)
    return pd.DataFrame(matrix, index=pd.Index(list(classes), name="true"),
                        columns=pd.Index(list(classes), name="predicted"))


def roc_table(y: np.ndarray, proba: np.ndarray, classes: Sequence[str], codes: Sequence[int]) -> pd.DataFrame:
    """ROC curve points and area of each class in ``codes``, one-vs-rest.

    Classes whose test rows are all or none of the rows have no curve.

    Returns
    -------
    DataFrame
        ``class``, ``code``, ``fpr``, ``tpr``, ``threshold``, ``auc`` (the
        class's area, repeated on each of its points), in the order of ``codes``.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.asarray(y)
    parts = []
    for k in codes:
        positive = y == k
        if positive.all() or not positive.any():
            continue
        fpr, tpr, threshold = roc_curve(positive, proba[:, k])
        parts.append(pd.DataFrame({"class": classes[k], "code": int(k), "fpr": fpr, "tpr": tpr,
                                   "threshold": threshold, "auc": float(roc_auc_score(positive, proba[:, k]))}))
    return _concat(parts, ROC_COLUMNS)


def pr_table(y: np.ndarray, proba: np.ndarray, classes: Sequence[str], codes: Sequence[int]) -> pd.DataFrame:
    """Precision-recall curve points of each class in ``codes``, one-vs-rest.

    Returns
    -------
    DataFrame
        ``class``, ``code``, ``recall``, ``precision``, ``threshold`` (NaN on
        the curve's last point, which has none), ``average_precision`` and
        ``prevalence`` (the class's share of the rows: the precision of
        guessing), the last two repeated on each point.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    y = np.asarray(y)
    parts = []
    for k in codes:
        positive = y == k
        if not positive.any():
            continue
        precision, recall, threshold = precision_recall_curve(positive, proba[:, k])
        parts.append(pd.DataFrame({
            "class": classes[k], "code": int(k), "recall": recall, "precision": precision,
            "threshold": np.append(threshold, np.nan),
            "average_precision": float(average_precision_score(positive, proba[:, k])),
            "prevalence": float(positive.mean())}))
    return _concat(parts, PR_COLUMNS)


def calibration_table(y: np.ndarray, proba: np.ndarray, classes: Sequence[str], codes: Sequence[int],
                      n_bins: int | None = None) -> pd.DataFrame:
    """Reliability bins: mean predicted probability against the observed share of the class.

    Parameters
    ----------
    y : ndarray of int
    proba : ndarray, shape (n_rows, n_classes)
    classes : sequence of str
    codes : sequence of int
        Classes to bin.
    n_bins : int, optional
        Equal-width bins over [0, 1]; by default one per 15 rows, 3 to 10.

    Returns
    -------
    DataFrame
        ``class``, ``code``, ``bin`` (0-based), ``mean_predicted``,
        ``observed``, ``rows``; empty bins are left out, so each class's
        ``rows`` add up to the number of rows.
    """
    y = np.asarray(y)
    n_bins = int(np.clip(len(y) // 15, 3, 10)) if n_bins is None else int(n_bins)
    if n_bins < 1:
        raise InputError(f"`n_bins` must be at least 1, got {n_bins}.")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    parts = []
    for k in codes:
        p = proba[:, k]
        bins = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
        counts = np.bincount(bins, minlength=n_bins)
        filled = counts > 0
        parts.append(pd.DataFrame({
            "class": classes[k], "code": int(k), "bin": np.flatnonzero(filled),
            "mean_predicted": np.bincount(bins, weights=p, minlength=n_bins)[filled] / counts[filled],
            "observed": np.bincount(bins, weights=(y == k).astype(float), minlength=n_bins)[filled]
            / counts[filled],
            "rows": counts[filled]}))
    return _concat(parts, CALIBRATION_COLUMNS)


def residual_table(y: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    """Actual, predicted and residual (actual minus predicted) value of each test row, in row order."""
    actual = np.asarray(y, dtype=float)
    predicted = np.asarray(pred, dtype=float)
    return pd.DataFrame({"actual": actual, "predicted": predicted, "residual": actual - predicted})


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]
