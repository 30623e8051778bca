"""Metrics: one table of every score automl knows, oriented so higher is better.

The leaderboard stores *oriented* scores (``-rmse`` for RMSE, ``-log_loss``
for log loss) so that sorting is always descending; :func:`evaluate_all`
reports natural values (an RMSE is positive).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn import metrics as skm

from .errors import InputError

__all__ = ["Metric", "METRICS", "default_metric", "evaluate_all", "get_metric", "make_metric", "metric_from_scorer",
           "metrics_for", "register_saved_metric", "resolve_metric", "score"]


@dataclass(frozen=True)
class Metric:
    """One metric: its function, direction and what it needs.

    Build your own with :func:`make_metric`.

    Attributes
    ----------
    name : str
    function : callable
        ``function(y_true, y_pred_or_proba, **kw) -> float``; receives the full
        probability matrix when ``needs_proba``.
    greater_is_better : bool
    needs_proba : bool
    tasks : tuple of str
    description : str
    weighted : bool, default=True
        Whether ``function`` accepts ``sample_weight=`` (weighted scores with ``fit(sample_weight=...)``).
    custom : bool, default=False
        True for user metrics; their function is not saved with a result (only name and direction).
    """

    name: str
    function: Callable[..., float]
    greater_is_better: bool
    needs_proba: bool
    tasks: tuple[str, ...]
    description: str
    weighted: bool = True
    custom: bool = False

    def natural(self, y_true, y_pred=None, proba=None, sample_weight=None) -> float:
        """The metric's value in its own units (NaN when undefined on these rows).

        ``sample_weight`` weighs the rows when the metric supports it (ignored otherwise).
        """
        kwargs = {"sample_weight": sample_weight} if sample_weight is not None and self.weighted else {}
        try:
            value = self.function(y_true, proba if self.needs_proba else y_pred, **kwargs)
        except ValueError:  # e.g. AUC when a split holds one class only
            return float("nan")
        return float(value)

    def oriented(self, y_true, y_pred=None, proba=None, sample_weight=None) -> float:
        """The value with its sign flipped when lower is better, so higher is always better."""
        value = self.natural(y_true, y_pred, proba, sample_weight)
        return value if self.greater_is_better else -value

    def describe(self) -> dict:
        """Name, direction and needs, JSON-ready (what a saved result keeps of a custom metric)."""
        return {"name": self.name, "greater_is_better": self.greater_is_better, "needs_proba": self.needs_proba,
                "tasks": list(self.tasks), "description": self.description, "custom": self.custom}


def _labels(proba: np.ndarray) -> np.ndarray:
    return np.arange(proba.shape[1])


def _roc_auc(y, proba, sample_weight=None):
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1], sample_weight=sample_weight)
    present = np.unique(y)
    if len(present) < 2:
        raise ValueError("one class")
    # classes absent from these rows carry no ranking information: score on those present
    sub = proba[:, present]
    sub = sub / np.clip(sub.sum(axis=1, keepdims=True), 1e-12, None)
    if len(present) == 2:
        return skm.roc_auc_score(y == present[1], sub[:, 1], sample_weight=sample_weight)
    return skm.roc_auc_score(y, sub, multi_class="ovr", average="macro", labels=present, sample_weight=sample_weight)


def _average_precision(y, proba, sample_weight=None):
    if proba.shape[1] == 2:
        return skm.average_precision_score(y, proba[:, 1], sample_weight=sample_weight)
    present = np.unique(y)
    if len(present) < 2:
        raise ValueError("one class")
    # macro average over the classes present, one-vs-rest (classes absent here have no positives to rank)
    scores = [skm.average_precision_score(y == k, proba[:, k], sample_weight=sample_weight) for k in present]
    return float(np.mean(scores))


def _log_loss(y, proba, sample_weight=None):
    proba = np.clip(proba, 1e-15, 1.0)
    return skm.log_loss(y, proba / proba.sum(axis=1, keepdims=True), labels=_labels(proba),
                        sample_weight=sample_weight)


def _average(y, pred) -> str:
    return "binary" if (np.max(y, initial=0) <= 1 and np.max(pred, initial=0) <= 1) else "macro"


def _f1(y, pred, sample_weight=None):
    return skm.f1_score(y, pred, average=_average(y, pred), zero_division=0, sample_weight=sample_weight)


def _precision(y, pred, sample_weight=None):
    return skm.precision_score(y, pred, average=_average(y, pred), zero_division=0, sample_weight=sample_weight)


def _recall(y, pred, sample_weight=None):
    return skm.recall_score(y, pred, average=_average(y, pred), zero_division=0, sample_weight=sample_weight)


def _f1_macro(y, pred, sample_weight=None):
    return skm.f1_score(y, pred, average="macro", zero_division=0, sample_weight=sample_weight)


def _rmse(y, pred, sample_weight=None):
    return float(np.sqrt(skm.mean_squared_error(y, pred, sample_weight=sample_weight)))


_CLF = ("binary", "multiclass")
_REG = ("regression",)
METRICS: dict[str, Metric] = {m.name: m for m in [
    Metric("accuracy", skm.accuracy_score, True, False, _CLF, "share of rows classified correctly"),
    Metric("balanced_accuracy", skm.balanced_accuracy_score, True, False, _CLF, "mean recall over classes"),
    Metric("f1", _f1, True, False, _CLF, "F1 of the positive class (binary) or macro F1 (multiclass)"),
    Metric("f1_macro", _f1_macro, True, False, _CLF, "unweighted mean F1 over classes"),
    Metric("precision", _precision, True, False, _CLF, "precision (macro for multiclass)"),
    Metric("recall", _recall, True, False, _CLF, "recall (macro for multiclass)"),
    Metric("roc_auc", _roc_auc, True, True, _CLF, "area under the ROC curve (one-vs-rest macro for multiclass)"),
    Metric("average_precision", _average_precision, True, True, _CLF,
           "area under the precision-recall curve (one-vs-rest macro for multiclass); suits rare positives"),
    Metric("log_loss", _log_loss, False, True, _CLF, "cross-entropy of the predicted probabilities"),
    Metric("r2", skm.r2_score, True, False, _REG, "coefficient of determination"),
    Metric("rmse", _rmse, False, False, _REG, "root mean squared error"),
    Metric("mae", skm.mean_absolute_error, False, False, _REG, "mean absolute error"),
    Metric("median_ae", skm.median_absolute_error, False, False, _REG, "median absolute error"),
]}

# Custom metrics met in this process, by name (see make_metric); kept apart so evaluate_all lists built-ins only.
_CUSTOM: dict[str, Metric] = {}


def make_metric(function: Callable[..., float], *, greater_is_better: bool, needs_proba: bool = False,
                name: str | None = None, tasks: tuple[str, ...] | list[str] | None = None,
                description: str | None = None) -> Metric:
    """Wrap ``function(y_true, y_pred_or_proba) -> float`` as a metric ``fit(metric=...)`` can rank by.

    Parameters
    ----------
    function : callable
        Called with the true labels (class codes ``0..k-1``) or values and either
        the predicted labels/values or, with ``needs_proba``, the probabilities:
        the positive-class column for binary tasks (as scikit-learn's scorers
        pass it), the ``(n, k)`` matrix for multiclass. When it accepts a
        ``sample_weight`` keyword, ``fit(sample_weight=...)`` weighs its rows.
    greater_is_better : bool
        The metric's direction (required: a loss must say False).
    needs_proba : bool, default=False
    name : str, optional
        Shown in the leaderboard and report; default the function's ``__name__``.
    tasks : list of str, optional
        Tasks it applies to; default every task.
    description : str, optional

    Returns
    -------
    Metric

    Examples
    --------
    >>> from sklearn.metrics import fbeta_score
    >>> f2 = make_metric(lambda y, p: fbeta_score(y, p, beta=2), greater_is_better=True, name="f2")
    >>> result = automl.fit(df, "target", metric=f2)          # doctest: +SKIP
    """
    if not callable(function):
        raise InputError(f"`function` must be callable, got {type(function).__name__}.")
    if not isinstance(greater_is_better, (bool, np.bool_)):
        raise InputError("`greater_is_better` must be True or False (the metric's direction).")
    name = str(name or getattr(function, "__name__", "") or "custom_metric")
    if name == "<lambda>":
        raise InputError("A lambda has no readable name: pass `name=`, e.g. make_metric(..., name='f2').")
    if name in METRICS:
        raise InputError(f"`name`={name!r} is a built-in metric; pass another `name=` for your function.")
    tasks = tuple(tasks) if tasks is not None else _CLF + _REG
    unknown = set(tasks) - set(_CLF + _REG)
    if unknown:
        raise InputError(f"`tasks` has {sorted(unknown)}; choose from {list(_CLF + _REG)}.")
    try:
        weighted = "sample_weight" in inspect.signature(function).parameters
    except (TypeError, ValueError):  # builtins without a signature
        weighted = False

    def call(y_true, output, sample_weight=None):
        output = np.asarray(output)
        if needs_proba and output.ndim == 2 and output.shape[1] == 2:
            output = output[:, 1]  # scikit-learn's convention for binary probabilities
        if sample_weight is not None:
            return function(y_true, output, sample_weight=sample_weight)
        return function(y_true, output)

    call.__name__ = name
    return Metric(name, call, bool(greater_is_better), bool(needs_proba), tasks,
                  description or f"custom metric {name}", weighted=weighted, custom=True)


def metric_from_scorer(scorer) -> Metric:
    """A :class:`Metric` from a scikit-learn scorer made by ``sklearn.metrics.make_scorer``.

    Reads the scorer's function, sign, response method and keyword arguments
    (attributes scikit-learn keeps on every scorer since 1.4); anything else
    raises an InputError that points to :func:`make_metric`.
    """
    func = getattr(scorer, "_score_func", None)
    sign = getattr(scorer, "_sign", None)
    if func is None or sign not in (1, -1):
        raise InputError("`metric` is a scorer automl cannot read; wrap your function with "
                         "automl.make_metric(func, greater_is_better=...).")
    response = getattr(scorer, "_response_method", "predict")
    responses = (response,) if isinstance(response, str) else tuple(response)
    needs_proba = "predict" not in responses
    kwargs = dict(getattr(scorer, "_kwargs", {}) or {})

    def scored(y_true, output, **kw):
        return func(y_true, output, **kwargs, **kw)

    try:
        accepts_weight = "sample_weight" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        accepts_weight = False
    if accepts_weight:
        def with_weight(y_true, output, sample_weight=None):
            return scored(y_true, output, **({} if sample_weight is None else {"sample_weight": sample_weight}))
        target = with_weight
    else:
        def target(y_true, output):
            return scored(y_true, output)
    name = getattr(func, "__name__", "custom_metric")
    if name in METRICS or name == "<lambda>":
        name = f"custom_{name}" if name != "<lambda>" else "custom_metric"
    if kwargs:
        name += "(" + ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items())) + ")"
    return make_metric(target, greater_is_better=sign > 0, needs_proba=needs_proba, name=name)


def resolve_metric(metric, task: str) -> Metric:
    """A metric given by name, :class:`Metric`, scikit-learn scorer or callable; custom ones are remembered.

    A plain function has no direction: it is refused with the line that declares one.
    """
    if metric is None or isinstance(metric, str):
        return get_metric(metric, task)
    if isinstance(metric, Metric):
        found = metric
    elif hasattr(metric, "_score_func") and hasattr(metric, "_sign"):
        found = metric_from_scorer(metric)
    elif callable(metric):
        name = getattr(metric, "__name__", "your_metric")
        raise InputError(f"`metric` is a function without a direction; declare it with "
                         f"automl.make_metric({name}, greater_is_better=True or False, needs_proba=...).")
    else:
        raise InputError(f"`metric` must be a name, an automl.make_metric(...) or a scikit-learn scorer; "
                         f"got {type(metric).__name__}.")
    if task not in found.tasks:
        raise InputError(f"`metric`={found.name!r} is not declared for a {task} task (tasks={list(found.tasks)}).")
    if found.name in METRICS and METRICS[found.name] is not found:
        raise InputError(f"`metric` is named {found.name!r} like a built-in metric; give it another name.")
    _CUSTOM[found.name] = found
    return found


def register_saved_metric(description: dict | None) -> None:
    """Make a saved result's custom metric known again by name and direction.

    Its function was not saved (functions do not serialise safely): scoring new
    rows with it gives NaN until the same metric is passed to a new ``fit``.
    """
    if not description or description.get("name") in METRICS or description.get("name") in _CUSTOM:
        return
    name = str(description["name"])

    def unavailable(y_true, output):
        raise ValueError(f"custom metric {name!r} was not saved with the result")

    _CUSTOM[name] = Metric(name, unavailable, bool(description.get("greater_is_better", True)),
                           bool(description.get("needs_proba", False)),
                           tuple(description.get("tasks") or _CLF + _REG),
                           str(description.get("description", f"custom metric {name}")),
                           weighted=False, custom=True)


def default_metric(task: str) -> str:
    """Accuracy for classification, R² for regression."""
    return "r2" if task == "regression" else "accuracy"


def metrics_for(task: str) -> list[str]:
    """Names of the metrics defined for ``task``."""
    return [name for name, m in METRICS.items() if task in m.tasks]


def get_metric(name, task: str) -> Metric:
    """Look up ``name`` (or the task's default) and check it suits ``task``.

    Custom metrics met earlier in this process (see :func:`resolve_metric`) are found by name;
    a :class:`Metric` or scikit-learn scorer is resolved and remembered.
    """
    if isinstance(name, Metric) or (name is not None and not isinstance(name, str)):
        return resolve_metric(name, task)
    if name is not None and str(name) in _CUSTOM:
        found = _CUSTOM[str(name)]
        if task not in found.tasks:
            raise InputError(f"`metric`={found.name!r} is not declared for a {task} task.")
        return found
    name = default_metric(task) if name is None else str(name).lower()
    if name in ("neg_rmse", "mse"):
        name = "rmse"
    if name in ("pr_auc", "aucpr"):
        name = "average_precision"
    if name not in METRICS or task not in METRICS[name].tasks:
        raise InputError(f"`metric`={name!r} is not available for a {task} task; choose one of {metrics_for(task)}.")
    return METRICS[name]


def score(metric: str, task: str, y_true, y_pred=None, proba=None, sample_weight=None) -> float:
    """Oriented (higher is better) value of ``metric``."""
    return get_metric(metric, task).oriented(y_true, y_pred, proba, sample_weight)


def evaluate_all(task: str, y_true, y_pred, proba=None) -> dict[str, float]:
    """Every metric for ``task`` in natural units; probability metrics only when ``proba`` is given."""
    out = {}
    for name in metrics_for(task):
        metric = METRICS[name]
        if metric.needs_proba and proba is None:
            continue
        out[name] = metric.natural(y_true, y_pred, proba)
    return out
