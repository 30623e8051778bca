"""Preprocessing: one scikit-learn pipeline built from a :class:`~automl.data.Schema`.

The pipeline is fitted on training rows only and turns any frame with the
schema's columns into a dense float32 matrix that every model family shares.
It is used by ``fit`` and by ``cluster`` alike.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FunctionTransformer, Pipeline
from sklearn.preprocessing import MaxAbsScaler, OneHotEncoder, StandardScaler

from .data.schema import Schema, to_float

__all__ = ["build_preprocessor", "prepare_rows", "choose_numeric_scaling", "estimate_width", "SchemaReader",
           "DatetimeFeatures", "JointScaler"]

# Standardised values beyond this many deviations are clipped: it keeps heavy
# tails from dominating linear models and networks; trees are unaffected.
CLIP_SIGMA = 8.0
MAX_CATEGORIES = 32
# Large tables: the statistics (medians, means, category levels) are fitted on a sample of this many rows,
# which more rows would not change, and rows are prepared this many at a time (bounded temporaries).
FIT_ROWS = 200_000
CHUNK_ROWS = 50_000


class SchemaReader(BaseEstimator, TransformerMixin):
    """Select the schema's columns and cast them to canonical dtypes.

    Parameters
    ----------
    schema : Schema
        Column decisions; see :meth:`Schema.coerce`.
    """

    def __init__(self, schema: Schema):
        self.schema = schema

    def fit(self, X: pd.DataFrame, y=None):  # noqa: D102 - stateless
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: D102
        return self.schema.coerce(X)

    def get_feature_names_out(self, input_features=None):  # noqa: D102
        return np.asarray(self.schema.used, dtype=object)


class DatetimeFeatures(BaseEstimator, TransformerMixin):
    """Expand datetime columns into calendar parts and a running time in days.

    Parts that never vary in the training data (e.g. the hour of pure dates)
    are left out.
    """

    PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "minute")

    def fit(self, X: pd.DataFrame, y=None):  # noqa: D102
        self.columns_ = list(X.columns)
        self.parts_ = {}
        for name in self.columns_:
            expanded = self._expand(X[name])
            self.parts_[name] = [p for p in expanded if expanded[p].nunique(dropna=True) > 1] or ["days"]
        return self

    @staticmethod
    def _expand(column: pd.Series) -> dict[str, pd.Series]:
        column = pd.to_datetime(column)
        parts = {part: getattr(column.dt, part).astype("Float64") for part in DatetimeFeatures.PARTS}
        parts["days"] = (column - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
        return parts

    def transform(self, X: pd.DataFrame) -> np.ndarray:  # noqa: D102
        blocks = []
        for name in self.columns_:
            expanded = self._expand(X[name])
            for part in self.parts_[name]:
                blocks.append(pd.Series(expanded[part]).astype("Float64").to_numpy(dtype=float, na_value=np.nan))
        return np.column_stack(blocks) if blocks else np.empty((len(X), 0))

    def get_feature_names_out(self, input_features=None):  # noqa: D102
        return np.asarray([f"{name}_{part}" for name in self.columns_ for part in self.parts_[name]], dtype=object)


def _median(values: np.ndarray) -> float:
    """The imputer's median, one column at a time.

    scikit-learn's ``strategy="median"`` sorts a masked copy of the whole
    matrix (about four times its size at the peak); given a function, the
    imputer passes it one column's observed values. Empty columns get 0, as
    ``keep_empty_features=True`` does for the median.
    """
    return float(np.median(values)) if len(values) else 0.0


class _Imputer(SimpleImputer):
    """``SimpleImputer`` that does not copy the matrix to append an indicator block with no columns.

    scikit-learn stacks the missing-value indicators onto the imputed matrix
    even when no training column had a missing value, a full copy for nothing.
    """

    def _concatenate_indicator(self, X_imputed, X_indicator):
        if X_indicator is not None and X_indicator.shape[1] == 0 and not hasattr(X_imputed, "tocsr"):
            return X_imputed
        return super()._concatenate_indicator(X_imputed, X_indicator)


def _clip(values):
    # The scalers hand over an array of their own: clip it in place and return float32 at once, so
    # the column blocks are stacked in float32 and the training matrix never exists twice in float64.
    values = np.asarray(values)
    if values.dtype.kind == "f" and values.flags.writeable:
        np.clip(values, -CLIP_SIGMA, CLIP_SIGMA, out=values)
    else:
        values = np.clip(values, -CLIP_SIGMA, CLIP_SIGMA)
    return values.astype(np.float32, copy=False)


class JointScaler(BaseEstimator, TransformerMixin):
    """Centre each column and divide all of them by one pooled standard deviation.

    For columns measured in one unit (pixel intensities, spectra, survey scores)
    this keeps their relative spread: a column that barely varies stays small
    instead of being blown up to unit variance, as per-column standardising does.
    """

    def fit(self, X, y=None):  # noqa: D102
        X = np.asarray(X, dtype=float)
        # one global magnitude first, so that squaring huge values cannot overflow
        magnitude = float(np.max(np.abs(X))) if X.size else 1.0
        magnitude = magnitude if np.isfinite(magnitude) and magnitude > 0 else 1.0
        self.mean_ = X.mean(axis=0)
        pooled = float(np.sqrt(np.mean(((X - self.mean_) / magnitude) ** 2))) * magnitude if X.size else 1.0
        self.scale_ = pooled if np.isfinite(pooled) and pooled > 0 else 1.0
        return self

    def transform(self, X):  # noqa: D102
        return (np.asarray(X, dtype=float) - self.mean_) / self.scale_

    def get_feature_names_out(self, input_features=None):  # noqa: D102
        return np.asarray(input_features, dtype=object) if input_features is not None else None


def choose_numeric_scaling(frame: pd.DataFrame, schema: Schema) -> str:
    """'joint' when the numeric columns look commensurable, else 'standard'.

    Commensurable means: at least 8 numeric columns, all non-negative, whose
    value ranges share one scale (the widest column spans at most 1.5 times the
    90th percentile of the column spans) -- images, spectra, counts of one kind.
    Used by clustering, where distances between rows are what matter.
    """
    names = schema.names("numeric")
    if len(names) < 8:
        return "standard"
    values = np.column_stack([to_float(frame[name])[0] for name in names])
    with np.errstate(all="ignore"):
        low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    if not np.all(np.isfinite(low)) or np.nanmin(low) < 0:
        return "standard"
    spans = high - low
    reference = np.percentile(spans, 90)
    return "joint" if reference > 0 and spans.max() <= 1.5 * reference else "standard"


def _numeric_steps(scaling: str = "standard") -> list:
    impute = ("impute", _Imputer(strategy=_median, add_indicator=True, keep_empty_features=True))
    clip = ("clip", FunctionTransformer(_clip, feature_names_out="one-to-one"))
    if scaling == "joint":
        return [impute, ("scale", JointScaler()), clip]
    # Dividing by the largest magnitude first keeps the variance finite for values near the
    # float64 limit (1e308 squared overflows); standardising afterwards gives the same result.
    # copy=False: both scale the imputer's output, an array of the pipeline's own, in place
    return [impute, ("prescale", MaxAbsScaler(copy=False)), ("scale", StandardScaler(copy=False)), clip]


def estimate_width(schema: Schema) -> int:
    """Upper bound on the number of columns :func:`build_preprocessor` produces for ``schema``.

    Used to size the prepared matrix before building it: numeric and boolean
    columns give one value plus a missing indicator, categorical columns at most
    :data:`MAX_CATEGORIES` one-hot levels, datetime columns their calendar parts
    plus indicators.
    """
    width = 0
    for decision in schema.columns:
        indicator = 1 if decision.missing_fraction > 0 else 0
        if decision.role in ("numeric", "boolean"):
            width += 1 + indicator
        elif decision.role == "categorical":
            width += min(max(decision.n_unique, 1), MAX_CATEGORIES) + 1
        elif decision.role == "datetime":
            width += (len(DatetimeFeatures.PARTS) + 1) * (1 + indicator)
    return max(width, 1)


def build_preprocessor(schema: Schema, n_rows: int, *, numeric_scaling: str = "standard") -> Pipeline:
    """Build the (unfitted) preprocessing pipeline for ``schema``.

    Parameters
    ----------
    schema : Schema
        Column decisions from :func:`automl.data.infer_schema`.
    n_rows : int
        Training rows; sets how rare a category level must be to be pooled.
    numeric_scaling : {'standard', 'joint'}, default='standard'
        Per-column standardising, or one pooled scale for commensurable columns
        (see :func:`choose_numeric_scaling`).

    Returns
    -------
    Pipeline
        ``SchemaReader`` then a ``ColumnTransformer``: numeric (median impute with
        missing indicators, standardise, clip), boolean (mode impute with
        indicators), categorical (constant impute, one-hot with rare and unseen
        levels pooled), datetime (calendar parts, then as numeric).
    """
    min_frequency = max(1, min(10, n_rows // 200))
    transformers = []
    if schema.names("numeric"):
        transformers.append(("numeric", Pipeline(_numeric_steps(numeric_scaling)), schema.names("numeric")))
    if schema.names("boolean"):
        transformers.append((
            "boolean",
            SimpleImputer(strategy="most_frequent", add_indicator=True, keep_empty_features=True),
            schema.names("boolean"),
        ))
    if schema.names("categorical"):
        transformers.append((
            "categorical",
            Pipeline([
                ("impute", SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True)),
                ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_frequency,
                                         max_categories=MAX_CATEGORIES, sparse_output=False, dtype=np.float32)),
            ]),
            schema.names("categorical"),
        ))
    if schema.names("datetime"):
        transformers.append((
            "datetime",
            Pipeline([("parts", DatetimeFeatures())] + _numeric_steps()),
            schema.names("datetime"),
        ))
    columns = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([
        ("read", SchemaReader(schema)),
        ("columns", columns),
        ("float32", FunctionTransformer(_as_float32, feature_names_out="one-to-one")),
    ])


def prepare_rows(preprocessor: Pipeline, frame: pd.DataFrame, rows: np.ndarray, *, fit_rows: np.ndarray,
                 seed: int = 0) -> np.ndarray:
    """Fit ``preprocessor`` on ``frame``'s ``fit_rows``; return ``rows`` prepared, as one float32 matrix.

    The statistics are fitted on a seeded sample of at most :data:`FIT_ROWS` of
    ``fit_rows``; rows are then prepared :data:`CHUNK_ROWS` at a time into one
    preallocated matrix, so the peak memory stays near the frame plus the
    matrix, without a copy of the training rows or float64 intermediates of
    their full size. Values that cannot be read are reported once per column.

    Parameters
    ----------
    preprocessor : Pipeline
        From :func:`build_preprocessor` (unfitted).
    frame : DataFrame
        Every row, the schema's columns among them.
    rows : ndarray of int
        Positions of the rows to prepare, in the order wanted (e.g. train, then validation, then test).
    fit_rows : ndarray of int
        Positions of the rows the statistics may be fitted on (the training rows).
    seed : int, default=0

    Returns
    -------
    ndarray of shape (len(rows), n_features), float32
    """
    reader, rest = preprocessor.steps[0][1], preprocessor[1:]
    schema = reader.schema
    sample = np.asarray(fit_rows)
    if len(sample) > FIT_ROWS:
        sample = np.sort(np.random.default_rng(seed).choice(sample, FIT_ROWS, replace=False))
    with warnings.catch_warnings():
        # columns without any observed value are kept (as zeros) on purpose
        warnings.filterwarnings("ignore", message=".*Skipping features without any observed values.*")
        reader.fit(None)
        rest.fit(schema.coerce(frame.iloc[sample], unreadable={}))
    unreadable: dict[str, int] = {}
    out = None
    for start in range(0, len(rows), CHUNK_ROWS):
        part = rows[start:start + CHUNK_ROWS]
        block = rest.transform(schema.coerce(frame.iloc[part], unreadable=unreadable))
        if out is None:
            out = np.empty((len(rows), block.shape[1]), dtype=np.float32)
        out[start:start + len(part)] = block
    schema.warn_unreadable(unreadable)
    if out is None:  # no rows: the width comes from the fitted pipeline
        out = np.empty((0, len(preprocessor.get_feature_names_out())), dtype=np.float32)
    return out


def _as_float32(values) -> np.ndarray:
    # Every model family relies on a finite matrix; values beyond float32 become its limits.
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.ascontiguousarray(values, dtype=np.float32)
    if not np.isfinite(out).all():
        out = np.nan_to_num(out, nan=0.0, posinf=np.finfo(np.float32).max, neginf=np.finfo(np.float32).min)
    return out
