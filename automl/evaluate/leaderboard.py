"""Score every candidate on the same rows and rank them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..metrics import get_metric
from ..models.base import Candidate, PreparedData, predictions

LEADERBOARD_COLUMNS = ["model", "family", "params", "train_score", "val_score", "test_score", "gap",
                       "fit_time_s", "predict_time_s", "validation"]
# Training scores are measured on at most this many rows: enough to see overfitting, cheap on big data.
_TRAIN_SCORE_ROWS = 20_000


@dataclass
class Predictions:
    """One model's predictions on its validation rows and on the test rows (encoded labels or values).

    A bagged model's validation predictions are out-of-fold over every development
    row (train + validation), not the validation split: ``val_y`` and ``val_weight``
    then hold the truth (and the user's row weights) of those rows, and
    ``validation`` says how they were made (``"5-fold"``); None means the
    validation split's own ``y_val`` / ``sample_weight_val``.
    """

    val_pred: np.ndarray
    val_proba: np.ndarray | None
    test_pred: np.ndarray
    test_proba: np.ndarray | None
    val_y: np.ndarray | None = None
    val_weight: np.ndarray | None = None
    validation: str = "holdout"

    def truth(self, data: PreparedData) -> tuple[np.ndarray, np.ndarray | None]:
        """``(y, weights)`` of the rows the validation predictions are for."""
        if self.val_y is not None:
            return self.val_y, self.val_weight
        return data.y_val, data.sample_weight_val


@dataclass
class OutOfFold:
    """Out-of-fold predictions of a bagged model over the development rows (see :mod:`automl.resampling`).

    Attributes
    ----------
    pred : ndarray of shape (n,)
        Class codes or values, each row predicted by the fold model that did not train on it.
    proba : ndarray of shape (n, n_classes) or None
    y, weight : ndarray
        Truth and the user's row weights (or None) of those rows.
    validation : str
        E.g. ``"5-fold"``.
    """

    pred: np.ndarray
    proba: np.ndarray | None
    y: np.ndarray
    weight: np.ndarray | None
    validation: str


def score_candidates(candidates: list[Candidate], data: PreparedData, X_test: np.ndarray, y_test: np.ndarray,
                     test_weight: np.ndarray | None = None,
                     oof: dict[str, OutOfFold] | None = None) -> tuple[pd.DataFrame, dict[str, Predictions]]:
    """Score each candidate on train, validation and test rows.

    With the user's row weights (``data.sample_weight``/``sample_weight_val`` and
    ``test_weight``) every score is the weighted metric (see :mod:`automl.weights`).
    A candidate named in ``oof`` (a bagged model) is validated on its out-of-fold
    predictions over every development row instead of the validation split; the
    ``validation`` column says which (``"5-fold"`` or ``"holdout"``).

    Returns
    -------
    leaderboard : DataFrame
        Columns :data:`LEADERBOARD_COLUMNS` (oriented scores, higher is better), best validation score first.
    predictions : dict
        Model name -> :class:`Predictions`, for ensembles and figures.
    """
    metric = get_metric(data.metric, data.task)
    rng = np.random.default_rng(data.seed)
    n_train = len(data.y_train)
    sub = rng.choice(n_train, _TRAIN_SCORE_ROWS, replace=False) if n_train > _TRAIN_SCORE_ROWS else slice(None)
    rows, preds = [], {}
    for candidate in candidates:
        p = candidate.predictor
        train_pred, train_proba = predictions(p, data.X_train[sub], data.task)
        folds = (oof or {}).get(candidate.name)
        if folds is None:
            val_pred, val_proba = predictions(p, data.X_val, data.task)
        else:
            val_pred, val_proba = folds.pred, folds.proba
        started = time.perf_counter()
        test_pred, test_proba = predictions(p, X_test, data.task)
        predict_time = time.perf_counter() - started
        preds[candidate.name] = record = Predictions(
            val_pred, val_proba, test_pred, test_proba, val_y=None if folds is None else folds.y,
            val_weight=None if folds is None else folds.weight,
            validation="holdout" if folds is None else folds.validation)
        train_w = None if data.sample_weight is None else data.sample_weight[sub]
        train_score = metric.oriented(data.y_train[sub], train_pred, train_proba, train_w)
        val_y, val_w = record.truth(data)
        val_score = metric.oriented(val_y, val_pred, val_proba, val_w)
        rows.append({
            "model": candidate.name,
            "family": candidate.family,
            "params": json.dumps(candidate.params, default=str, sort_keys=True),
            "train_score": train_score,
            "val_score": val_score,
            "test_score": metric.oriented(y_test, test_pred, test_proba, test_weight),
            "gap": train_score - val_score,
            "fit_time_s": float(candidate.fit_time_s),
            "predict_time_s": predict_time,
            "validation": record.validation,
        })
    return rank(pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)), preds


def rank(board: pd.DataFrame) -> pd.DataFrame:
    """Sort by validation score (ties: smaller gap first) and renumber.

    When some models were bagged (``validation`` other than ``"holdout"``), they
    rank before the models that kept their holdout scores: a holdout score is
    measured on the rows the search chose that model on, so it is optimistic
    next to an out-of-fold score, and the two are not compared.
    """
    keys, ascending = ["val_score", "gap"], [False, True]
    if "validation" in board.columns and len(board):
        board = board.assign(_held_out=board["validation"].fillna("holdout").eq("holdout"))
        keys, ascending = ["_held_out"] + keys, [True] + ascending
    board = board.sort_values(keys, ascending=ascending, na_position="last", kind="stable")
    return board.drop(columns=["_held_out"], errors="ignore").reset_index(drop=True)
