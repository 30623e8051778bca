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
                       "fit_time_s", "predict_time_s"]
# Training scores are measured on at most this many rows: enough to see overfitting, cheap on big data.
_TRAIN_SCORE_ROWS = 20_000


@dataclass
class Predictions:
    """One model's predictions on the validation and test rows (encoded labels or values)."""

    val_pred: np.ndarray
    val_proba: np.ndarray | None
    test_pred: np.ndarray
    test_proba: np.ndarray | None


def score_candidates(candidates: list[Candidate], data: PreparedData, X_test: np.ndarray, y_test: np.ndarray,
                     test_weight: np.ndarray | None = None) -> tuple[pd.DataFrame, dict[str, Predictions]]:
    """Score each candidate on train, validation and test rows.

    With the user's row weights (``data.sample_weight``/``sample_weight_val`` and
    ``test_weight``) every score is the weighted metric (see :mod:`automl.weights`).

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
        val_pred, val_proba = predictions(p, data.X_val, data.task)
        started = time.perf_counter()
        test_pred, test_proba = predictions(p, X_test, data.task)
        predict_time = time.perf_counter() - started
        preds[candidate.name] = Predictions(val_pred, val_proba, test_pred, test_proba)
        train_w = None if data.sample_weight is None else data.sample_weight[sub]
        train_score = metric.oriented(data.y_train[sub], train_pred, train_proba, train_w)
        val_score = metric.oriented(data.y_val, val_pred, val_proba, data.sample_weight_val)
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
        })
    return rank(pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)), preds


def rank(board: pd.DataFrame) -> pd.DataFrame:
    """Sort by validation score (ties: smaller gap first) and renumber."""
    board = board.sort_values(["val_score", "gap"], ascending=[False, True], na_position="last", kind="stable")
    return board.reset_index(drop=True)
