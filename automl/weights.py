"""Row weights given by the user: ``automl.fit(df, target, sample_weight="column")``.

The column is taken out of the features, checked once here, and its values
follow the rows through the split:

* training rows: every family's fit receives them (scikit-learn ``sample_weight``,
  LightGBM / XGBoost / CatBoost row weights, multiplied by the class weights of a
  ``class_weight="balanced"`` configuration), and so does the refit on every
  labelled row;
* validation rows: early stopping and the ``val_score`` that ranks models are
  weighted, so the choice follows the weighted metric;
* test rows: ``test_score`` is weighted the same way, so the leaderboard reports
  one consistent, weighted metric (``train_score`` too). ``result.evaluate(df)``
  on new rows is unweighted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["sample_weight_column"]


def sample_weight_column(frame: pd.DataFrame, column, target: str) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Split the weight ``column`` off ``frame``: the frame without it, and its values as float64.

    Parameters
    ----------
    frame : DataFrame
        Rows whose target is known.
    column : str or None
        Name of the weight column; None means no weights.
    target : str

    Raises
    ------
    InputError
        When the column is missing, is the target, is not numeric, or holds
        missing, infinite or negative values, or weights that sum to zero.
    """
    if column is None:
        return frame, None
    if not isinstance(column, str):
        raise InputError(f"`sample_weight` must be the name of a column of `data`, got {type(column).__name__}; "
                         "add your weights to the frame as a column and pass its name.")
    if column not in frame.columns:
        raise InputError(f"`sample_weight`={column!r} is not a column of `data`; "
                         f"columns are {[str(c) for c in frame.columns][:20]}.")
    if column == target:
        raise InputError(f"`sample_weight`={column!r} is the target column; name a separate column of weights.")
    values = frame[column]
    if not (pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)):
        raise InputError(f"`sample_weight` column {column!r} must be numeric (dtype {values.dtype}); "
                         "convert it with pd.to_numeric first.")
    weights = values.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(weights)
    if bad.any():
        raise InputError(f"`sample_weight` column {column!r} has {int(bad.sum())} missing or infinite values; "
                         "fill them (e.g. with 1.0) or drop those rows.")
    if (weights < 0).any():
        raise InputError(f"`sample_weight` column {column!r} has {int((weights < 0).sum())} negative values; "
                         "weights must be >= 0.")
    if weights.sum() <= 0:
        raise InputError(f"`sample_weight` column {column!r} sums to zero; at least one row needs a positive weight.")
    return frame.drop(columns=[column]), weights
