"""The model-family interface: how any learner joins the same leaderboard.

A *model family* receives the prepared splits (train and validation only;
the test rows never reach it), a time budget and progress hooks, and returns
fitted *candidates*: predictors over the prepared matrix plus their params and
training history. The orchestrator scores every candidate on the same rows.

Adding a family::

    class MyFamily(ModelFamily):
        name = "my_family"
        def fit(self, data, budget, hooks):
            model = MyEstimator().fit(data.X_train, data.y_train)
            return FamilyResult([Candidate("my_model", self.name, {}, model, fit_time_s=1.0)])

    automl.models.register_family(MyFamily)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..budget import Budget
from ..metrics import get_metric


class Predictor(Protocol):
    """What a fitted candidate must offer, on the prepared float32 matrix."""

    def predict(self, X: np.ndarray) -> np.ndarray: ...


@dataclass
class PreparedData:
    """The shared input of every model family.

    Attributes
    ----------
    X_train, X_val : ndarray of shape (n, n_features), float32
    y_train, y_val : ndarray
        Class codes (int64) for classification, floats for regression.
    task : str
    metric : str
        Name of the metric candidates are chosen by (see :mod:`automl.metrics`).
    n_classes : int
        0 for regression.
    feature_names : list of str
    seed : int
    class_weight : dict or None
        Balanced class weights when classes are imbalanced, else None.
    sample_weight, sample_weight_val : ndarray of shape (n,) or None
        The user's row weights (``fit(sample_weight="column")``) for the training
        and validation rows. Families pass ``sample_weight`` to their fits (times
        the class weights of a ``class_weight`` configuration) and stop early on
        validation scores weighted by ``sample_weight_val``.
    category_blocks : list of list of int, optional
        Matrix columns of each one-hot encoded input column's levels
        (:func:`automl.preprocess.one_hot_blocks`): families that handle
        categories natively read a category code back from each block.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    task: str
    metric: str
    n_classes: int
    feature_names: list[str]
    seed: int = 0
    class_weight: dict[int, float] | None = None
    sample_weight: np.ndarray | None = None
    sample_weight_val: np.ndarray | None = None
    category_blocks: list[list[int]] | None = None

    @property
    def is_classification(self) -> bool:
        """True for binary and multiclass tasks."""
        return self.task != "regression"

    def val_score(self, predictor: Predictor) -> float:
        """Oriented validation score of ``predictor`` (higher is better)."""
        return score_predictor(predictor, self.X_val, self.y_val, self.task, self.metric, self.sample_weight_val)

    def train_weights(self, class_weight=None) -> np.ndarray | None:
        """Row weights for the training rows: the user's weights times ``class_weight`` (a dict, or 'balanced').

        None when neither applies, so estimators keep their unweighted fast path.
        """
        weights = None if self.sample_weight is None else np.asarray(self.sample_weight, dtype=float)
        if class_weight is not None and self.is_classification:
            per_class = (self.class_weight or balanced_class_weight(self.y_train, self.n_classes, threshold=1.0)
                         if class_weight == "balanced" else class_weight)
            if per_class:
                lookup = np.array([per_class.get(k, 1.0) for k in range(self.n_classes)], dtype=float)
                by_class = lookup[self.y_train]
                weights = by_class if weights is None else weights * by_class
        return weights


def predictions(predictor: Predictor, X: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels (or values) and class probabilities (None for regression)."""
    if task == "regression":
        return np.asarray(predictor.predict(X), dtype=float).ravel(), None
    proba = np.asarray(predictor.predict_proba(X), dtype=float)
    return proba.argmax(axis=1), proba


def score_predictor(predictor: Predictor, X: np.ndarray, y: np.ndarray, task: str, metric: str,
                    sample_weight: np.ndarray | None = None) -> float:
    """Oriented score of ``predictor`` on ``(X, y)``, weighted by ``sample_weight`` when given."""
    pred, proba = predictions(predictor, X, task)
    return get_metric(metric, task).oriented(y, pred, proba, sample_weight)


@dataclass
class Candidate:
    """One fitted model offered for the leaderboard.

    Attributes
    ----------
    name : str
        Unique, readable name (e.g. ``"gradient_boosting"``, ``"neural_network_2"``).
    family : str
    params : dict
        Key hyperparameters, JSON-serialisable.
    predictor : Predictor
        Works on the prepared matrix; ``predict_proba`` for classification.
    fit_time_s : float
    history : dict of list, optional
        Per-epoch curves (``loss``, ``val_loss``, ...) for iterative learners.
    info : dict
        Anything else worth showing (``best_epoch``, ``stopped_early``, ...).
    """

    name: str
    family: str
    params: dict[str, Any]
    predictor: Any
    fit_time_s: float
    history: dict[str, list[float]] | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class FamilyResult:
    """What a family returns: its candidates and, optionally, one row per trial."""

    candidates: list[Candidate]
    trials: pd.DataFrame | None = None


class ModelFamily(ABC):
    """A learner, or a search over one, that fits on :class:`PreparedData` within a budget.

    Subclasses set ``name`` and ``weight`` (its share of the time budget relative
    to the other families) and implement :meth:`fit`.
    """

    name: str = "family"
    weight: float = 1.0
    # refit seconds per searched second and per unit of row ratio (see refit_seconds)
    refit_cost_factor: float = 1.2
    # True where fit_fold stops early on the fold's held-out rows (see fold_seconds)
    folds_stop_early: bool = False

    @abstractmethod
    def fit(self, data: PreparedData, budget: Budget, hooks) -> FamilyResult:
        """Fit within ``budget`` and return candidates; report trials through ``hooks.on_trial_end``."""

    def refit_seconds(self, candidate: Candidate, row_ratio: float) -> float:
        """Estimated seconds for :meth:`refit` of ``candidate`` on ``row_ratio`` times its training rows."""
        return float(candidate.fit_time_s) * row_ratio * self.refit_cost_factor

    def refit(self, candidate: Candidate, data: PreparedData, deadline: float):
        """A new predictor with ``candidate``'s configuration trained on ``data.X_train``, or None.

        Called after the search with every labelled row in ``data.X_train``
        (the validation rows are empty: nothing is left to stop on), so the
        settings that early stopping found on the validation rows (boosting
        rounds, epochs) must be reused as they are. Return None when the family
        cannot refit or the fit would not finish by ``deadline``
        (``time.monotonic()``): the searched model is then kept. The default
        cannot refit.
        """
        return None

    def fold_seconds(self, candidate: Candidate, row_ratio: float) -> float:
        """Estimated seconds for one :meth:`fit_fold` of ``candidate`` on ``row_ratio`` times its training rows.

        A family whose fold fits stop early (``folds_stop_early``) pays about what
        the searched fit did, validation rounds included; the others cost a refit.
        """
        if self.folds_stop_early:
            return float(candidate.fit_time_s) * row_ratio
        return self.refit_seconds(candidate, row_ratio)

    def fit_fold(self, candidate: Candidate, data: PreparedData, deadline: float):
        """A fold model of ``candidate``'s configuration (see :mod:`automl.resampling`), or None.

        ``data.X_train`` holds the fold's training rows and ``data.X_val`` the
        rows it leaves out (the ones its out-of-fold predictions are for). A family
        that stops early may stop on them, as AutoGluon's bagged models do: each
        fold model then finds its own round count for its own rows. The default
        ignores them and refits the fixed configuration (:meth:`refit`).
        """
        return self.refit(candidate, without_validation(data), deadline)


def without_validation(data: PreparedData) -> PreparedData:
    """``data`` with its validation rows (and their weights) removed."""
    return replace(data, X_val=data.X_val[:0], y_val=data.y_val[:0],
                   sample_weight_val=None if data.sample_weight_val is None else data.sample_weight_val[:0])


def balanced_class_weight(y: np.ndarray, n_classes: int, threshold: float = 3.0) -> dict[int, float] | None:
    """Inverse-frequency class weights when the largest class outnumbers the smallest by ``threshold``."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    present = counts[counts > 0]
    if len(present) < 2 or present.max() / present.min() < threshold:
        return None
    weights = len(y) / (n_classes * np.maximum(counts, 1.0))
    return {i: float(w) for i, w in enumerate(weights)}
