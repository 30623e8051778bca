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
    fitted = result.model(model, refit=False)  # the test rows are held out from the searched model only
    metric = get_metric(result.metric, result.task)
    prepared = fitted.preprocessor.transform(X)
    blocks = output_columns_by_feature(fitted.preprocessor, X, result.schema.used, seed=seed)

    def oriented(matrix):
        pred, proba = predictions(fitted.predictor, matrix, result.task)
        return metric.oriented(y, pred, proba)

    baseline = oriented(prepared)
    rows = []
    for feature in result.schema.used:
        columns = blocks.get(feature, [])
        drops = []
        for _ in range(n_repeats):
            order = rng.permutation(len(X))
            if columns:
                # preprocessing works column by column, so shuffling a raw column equals shuffling
                # the rows of the output columns it feeds -- no need to transform again
                shuffled = prepared.copy()
                shuffled[:, columns] = prepared[order][:, columns]
                drops.append(baseline - oriented(shuffled))
            else:
                drops.append(0.0)
        rows.append({"feature": feature, "importance": float(np.mean(drops)), "std": float(np.std(drops))})
    board = pd.DataFrame(rows, columns=["feature", "importance", "std"])
    return board.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def output_columns_by_feature(preprocessor, X: pd.DataFrame, features, *, seed: int = 0,
                              probe_rows: int = 256) -> dict[str, list[int]]:
    """Map each input column to the prepared-matrix columns it feeds.

    Found by probing: shuffle one input column of a small sample and see which
    output columns change. Works for any column-wise preprocessing.
    """
    rng = np.random.default_rng(seed)
    sample = X.iloc[rng.choice(len(X), min(len(X), probe_rows), replace=False)]
    base = preprocessor.transform(sample)
    out: dict[str, list[int]] = {}
    for feature in features:
        probe = sample.copy()
        values = probe[feature].to_numpy()
        # a reversed, rolled copy changes every row whose value differs from another row's
        probe[feature] = np.roll(values[::-1], 1)
        changed = np.any(~np.isclose(preprocessor.transform(probe), base, equal_nan=True), axis=0)
        out[feature] = [int(i) for i in np.flatnonzero(changed)]
    return out
