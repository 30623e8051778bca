"""Metrics: one table of every score automl knows, oriented so higher is better.

The leaderboard stores *oriented* scores (``-rmse`` for RMSE, ``-log_loss``
for log loss) so that sorting is always descending; :func:`evaluate_all`
reports natural values (an RMSE is positive).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn import metrics as skm

from .errors import InputError

__all__ = ["Metric", "METRICS", "default_metric", "get_metric", "score", "evaluate_all", "metrics_for"]


@dataclass(frozen=True)
class Metric:
    """One metric: its function, direction and what it needs."""

    name: str
    function: Callable[..., float]
    greater_is_better: bool
    needs_proba: bool
    tasks: tuple[str, ...]
    description: str

    def natural(self, y_true, y_pred=None, proba=None) -> float:
        """The metric's value in its own units (NaN when undefined on these rows)."""
        try:
            value = self.function(y_true, proba if self.needs_proba else y_pred)
        except ValueError:  # e.g. AUC when a split holds one class only
            return float("nan")
        return float(value)

    def oriented(self, y_true, y_pred=None, proba=None) -> float:
        """The value with its sign flipped when lower is better, so higher is always better."""
        value = self.natural(y_true, y_pred, proba)
        return value if self.greater_is_better else -value


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.arange(proba.shape[1])


def _roc_auc(y, proba):
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1])
    present = np.unique(y)
    if len(present) < 2:
        raise ValueError("one class")
    # classes absent from these rows carry no ranking information: score on those present
    sub = proba[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
    if len(present) == 2:
        return skm.roc_auc_score(y == present[1], sub[:, 1])
    return skm.roc_auc_score(y, sub, multi_class="ovr", average="macro", labels=present)


def _log_loss(y, proba):
    proba = np.clip(proba, 1e-15, 1.0)
    return skm.log_loss(y, proba / proba.sum(axis=1, keepdims=True), labels=_labels(proba))


def _f1(y, pred):
    average = "binary" if (np.max(y, initial=0) <= 1 and np.max(pred, initial=0) <= 1) else "macro"
    return skm.f1_score(y, pred, average=average, zero_division=0)


def _rmse(y, pred):
    return float(np.sqrt(skm.mean_squared_error(y, pred)))


_CLF = ("binary", "multiclass")
_REG = ("regression",)
METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("accuracy", skm.accuracy_score, True, False, _CLF, "share of rows classified correctly"),
    Metric("balanced_accuracy", skm.balanced_accuracy_score, True, False, _CLF, "mean recall over classes"),
    Metric("f1", _f1, True, False, _CLF, "F1 of the positive class (binary) or macro F1 (multiclass)"),
    Metric("f1_macro", lambda y, p: skm.f1_score(y, p, average="macro", zero_division=0), True, False, _CLF,
           "unweighted mean F1 over classes"),
    Metric("precision", lambda y, p: skm.precision_score(y, p, average="binary" if max(np.max(y), np.max(p)) <= 1
                                                          else "macro", zero_division=0), True, False, _CLF,
           "precision (macro for multiclass)"),
    Metric("recall", lambda y, p: skm.recall_score(y, p, average="binary" if max(np.max(y), np.max(p)) <= 1
                                                    else "macro", zero_division=0), True, False, _CLF,
           "recall (macro for multiclass)"),
    Metric("roc_auc", _roc_auc, True, True, _CLF, "area under the ROC curve (one-vs-rest macro for multiclass)"),
    Metric("log_loss", _log_loss, False, True, _CLF, "cross-entropy of the predicted probabilities"),
    Metric("r2", skm.r2_score, True, False, _REG, "coefficient of determination"),
    Metric("rmse", _rmse, False, False, _REG, "root mean squared error"),
    Metric("mae", skm.mean_absolute_error, False, False, _REG, "mean absolute error"),
    Metric("median_ae", skm.median_absolute_error, False, False, _REG, "median absolute error"),
]}


def default_metric(task: str) -> str:
    """Accuracy for classification, R² for regression."""
    return "r2" if task == "regression" else "accuracy"


def metrics_for(task: str) -> list[str]:
    """Names of the metrics defined for ``task``."""
    return [name for name, m in METRICS.items() if task in m.tasks]


def get_metric(name: str | None, task: str) -> Metric:
    """Look up ``name`` (or the task's default) and check it suits ``task``."""
    name = default_metric(task) if name is None else str(name).lower()
    if name in ("neg_rmse", "mse"):
        name = "rmse"
    if name not in METRICS or task not in METRICS[name].tasks:
        raise InputError(f"`metric`={name!r} is not available for a {task} task; choose one of {metrics_for(task)}.")
    return METRICS[name]


def score(metric: str, task: str, y_true, y_pred=None, proba=None) -> float:
    """Oriented (higher is better) value of ``metric``."""
    return get_metric(metric, task).oriented(y_true, y_pred, proba)


def evaluate_all(task: str, y_true, y_pred, proba=None) -> dict[str, float]:
    """Every metric for ``task`` in natural units; probability metrics only when ``proba`` is given."""
    out = {}
    for name in metrics_for(task):
        metric = METRICS[name]
        if metric.needs_proba and proba is None:
            continue
        out[name] = metric.natural(y_true, y_pred, proba)
    return out
