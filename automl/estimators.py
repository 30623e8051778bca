"""scikit-learn style estimators around :func:`automl.fit`.

They slot into sklearn tooling (``cross_val_score``, ``Pipeline``) and accept
arrays as well as DataFrames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from .errors import InputError

_TARGET = "__automl_target__"


def _frame(X, argument: str = "X") -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X)
    if array.ndim != 2:
        raise InputError(f"`{argument}` must be 2-dimensional (rows x features), got shape {array.shape}.")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


class _AutoEstimator(BaseEstimator):
    """Shared fit/predict of the automl estimators."""

    _task: str | None = None

    def __init__(self, *, time_budget: float = 60.0, metric: str | None = None, families=None, seed: int = 0,
                 verbose: int = 0, network=None, fit_options: dict[str, Any] | None = None):
        self.time_budget = time_budget
        self.metric = metric
        self.families = families
        self.seed = seed
        self.verbose = verbose
        self.network = network
        self.fit_options = fit_options

    def fit(self, X, y) -> "_AutoEstimator":
        """Search models for ``y`` given ``X`` and keep the result in ``result_``."""
        from .api import fit

        frame = _frame(X).copy()
        if _TARGET in frame.columns:
            raise InputError(f"`X` may not contain a column named {_TARGET!r}.")
        target = np.asarray(y)
        if len(target) != len(frame):
            raise InputError(f"`y` has {len(target)} values but `X` has {len(frame)} rows; they must match.")
        frame[_TARGET] = target
        self.result_ = fit(frame, _TARGET, task=self._task_for(target), metric=self.metric,
                           time_budget=self.time_budget, families=self.families, seed=self.seed,
                           verbose=self.verbose, network=self.network, **(self.fit_options or {}))
        self.feature_names_in_ = np.asarray(frame.columns[:-1], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _task_for(self, y) -> str | None:
        return self._task

    def _check_fitted(self) -> None:
        if not hasattr(self, "result_"):
            raise InputError(f"This {type(self).__name__} is not fitted yet; call fit(X, y) first.")

    def predict(self, X) -> np.ndarray:
        """Predictions of the best model."""
        self._check_fitted()
        return self.result_.predict(_frame(X))

    @property
    def leaderboard_(self) -> pd.DataFrame:
        """The fit's leaderboard."""
        self._check_fitted()
        return self.result_.leaderboard


class AutoClassifier(ClassifierMixin, _AutoEstimator):
    """Classifier searched by :func:`automl.fit` within ``time_budget`` seconds.

    Parameters
    ----------
    time_budget : float, default=60
    metric : str, optional
    families : list of str, optional
    seed : int, default=0
    verbose : int, default=0
    network : automl.NetworkSearch or dict, optional
        Options of the network search (``tuner``, ``max_trials``, ...), as ``automl.fit(network=...)``.
    fit_options : dict, optional
        Further keyword arguments of :func:`automl.fit`.

    Attributes
    ----------
    result_ : FitResult
    classes_ : ndarray
    """

    _task = "classification"

    def fit(self, X, y) -> "AutoClassifier":  # noqa: D102
        super().fit(X, y)
        self.classes_ = np.asarray(self.result_.classes)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        self._check_fitted()
        return self.result_.predict_proba(_frame(X)).to_numpy()


class AutoRegressor(RegressorMixin, _AutoEstimator):
    """Regressor searched by :func:`automl.fit` within ``time_budget`` seconds (see AutoClassifier)."""

    _task = "regression"
