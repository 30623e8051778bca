"""Permutation importance of the input columns, measured on the test rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import get_metric
from ..models.base import predictions

# Importance on more rows than this costs time and changes little.
_MAX_ROWS = 5000


def permutation_importance(result, model: str, *, n_repeats: int = 5, seed: int = 0) -> pd.DataFrame:
    """Mean drop in the oriented test score when each used input column is shuffled.

    Parameters
    ----------
    result : FitResult
    model : str
        Leaderboard name of the model.
    n_repeats : int, default=5
    seed : int, default=0

    Returns
    -------
    DataFrame
        ``feature``, ``importance``, ``std``, largest importance first.
    """
    X = result.test.get("X")
    y = np.asarray(result.test.get("y"))
    if X is None or len(X) == 0:
        return pd.DataFrame(columns=["feature", "importance", "std"])
    rng = np.random.default_rng(seed)
    if len(X) > _MAX_ROWS:
        rows = rng.choice(len(X), _MAX_ROWS, replace=False)
        X, y = X.iloc[rows], y[rows]
    fitted = result.model(model)
    metric = get_metric(result.metric, result.task)

    def oriented(frame):
        pred, proba = predictions(fitted.predictor, fitted.preprocessor.transform(frame), result.task)
        return metric.oriented(y, pred, proba)

    baseline = oriented(X)
    rows = []
    for feature in result.schema.used:
        drops = []
        for _ in range(n_repeats):
            shuffled = X.copy()
            shuffled[feature] = X[feature].to_numpy()[rng.permutation(len(X))]
            drops.append(baseline - oriented(shuffled))
        rows.append({"feature": feature, "importance": float(np.mean(drops)), "std": float(np.std(drops))})
    board = pd.DataFrame(rows, columns=["feature", "importance", "std"])
    return board.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
