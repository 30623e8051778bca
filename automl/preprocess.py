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

from .data.schema import ONE_HOT_MAX_LEVELS, TEXT_MAX_COMPONENTS, Schema, text_components, to_float

__all__ = ["build_preprocessor", "prepare_rows", "choose_numeric_scaling", "estimate_width", "SchemaReader",
           "DatetimeFeatures", "JointScaler", "feature_sources", "one_hot_blocks"]

# Standardised values beyond this many deviations are clipped: it keeps heavy
# tails from dominating linear models and networks; trees are unaffected.
CLIP_SIGMA = 8.0
# One-hot encoding stops at this many levels; supervised fits encode columns with more levels by frequency and
# out-of-fold target encoding (FrequencyTargetEncoder); the schema says which in each column's reason.
MAX_CATEGORIES = ONE_HOT_MAX_LEVELS
# Free text: at most this many TF-IDF terms per view of a column, and characters read per value.
TEXT_MAX_TERMS = 20_000
TEXT_MAX_CHARS = 3_000
# The vocabulary and SVD of a text column are fitted on at most this many training rows.
TEXT_FIT_ROWS = 20_000
# With a target, a text column keeps its SVD components only when a ridge model of its words explains at
# least this share of the target's variance out of fold.
MIN_TEXT_SKILL = 0.02
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
    """Expand datetime columns into calendar parts, elapsed days and a missing indicator.

    Per column: year, month, day, day of week, day of year, hour and minute,
    of which the parts that never vary in the training data are left out (the
    hour of pure dates, the year of one year's rows); the days elapsed since the
    earliest training date; and, where training rows had missing dates, a 0/1
    indicator (the parts are then imputed downstream).
    """

    PARTS = ("year", "month", "day", "dayofweek", "dayofyear", "hour", "minute")

    def fit(self, X: pd.DataFrame, y=None):  # noqa: D102
        self.columns_ = list(X.columns)
        self.parts_, self.origin_, self.indicator_ = {}, {}, {}
        for name in self.columns_:
            column = pd.to_datetime(X[name])
            earliest = column.min()
            self.origin_[name] = pd.Timestamp("1970-01-01") if pd.isna(earliest) else earliest
            expanded = self._expand(column, self.origin_[name])
            self.parts_[name] = [p for p in expanded if p != "days" and expanded[p].nunique(dropna=True) > 1
                                 ] or ["elapsed_days"]
            self.indicator_[name] = bool(column.isna().any())
        return self

    @staticmethod
    def _expand(column: pd.Series, origin: pd.Timestamp) -> dict[str, pd.Series]:
        column = pd.to_datetime(column)
        parts = {part: getattr(column.dt, part).astype("Float64") for part in DatetimeFeatures.PARTS}
        parts["elapsed_days"] = (column - origin).dt.total_seconds() / 86400.0
        # days since 1970: the running time of models saved before elapsed_days, read by their parts_
        parts["days"] = (column - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
        return parts

    def transform(self, X: pd.DataFrame) -> np.ndarray:  # noqa: D102
        blocks = []
        origins, indicators = getattr(self, "origin_", {}), getattr(self, "indicator_", {})
        for name in self.columns_:
            column = pd.to_datetime(X[name])
            expanded = self._expand(column, origins.get(name, pd.Timestamp("1970-01-01")))
            for part in self.parts_[name]:
                blocks.append(pd.Series(expanded[part]).astype("Float64").to_numpy(dtype=float, na_value=np.nan))
            if indicators.get(name):
                blocks.append(column.isna().to_numpy(dtype=float))
        return np.column_stack(blocks) if blocks else np.empty((len(X), 0))

    def output_sources(self) -> list[str]:
        """The input column of each output column."""
        indicators = getattr(self, "indicator_", {})
        return [name for name in self.columns_
                for _ in self.parts_[name] + (["missing"] if indicators.get(name) else [])]

    def get_feature_names_out(self, input_features=None):  # noqa: D102
        indicators = getattr(self, "indicator_", {})
        return np.asarray([f"{name}_{part}" for name in self.columns_
                           for part in self.parts_[name] + (["missing"] if indicators.get(name) else [])],
                          dtype=object)


class _OutOfFold:
    """Cross-fitted training encodings, looked up by row label while :func:`prepare_rows` runs.

    A supervised encoding (a level's mean target, a text model's prediction)
    computed on the rows it was fitted on would show each training row its own
    target. ``fit_transform`` therefore returns out-of-fold values and keeps
    them with the row labels of the fit; with ``use_out_of_fold`` set,
    ``transform`` hands those values to rows with these labels, so the training
    rows of the prepared matrix carry them, whichever chunk they arrive in.
    :meth:`release` forgets them: a saved pipeline transforms by value only.
    """

    oof_ = None
    use_out_of_fold = False

    def _remember(self, index: pd.Index, values: np.ndarray) -> None:
        self.oof_ = (np.asarray(index), values)
        self.use_out_of_fold = False

    def _recall(self, index: pd.Index, values: np.ndarray) -> np.ndarray:
        if self.use_out_of_fold and self.oof_ is not None:
            known, out_of_fold = self.oof_
            position = pd.Index(known).get_indexer(index)
            hit = position >= 0
            values[hit] = out_of_fold[position[hit]]
        return values

    def release(self) -> None:
        """Forget the cross-fitted training values (kept only while :func:`prepare_rows` runs)."""
        self.oof_ = None
        self.use_out_of_fold = False

    def __getstate__(self):
        state = dict(self.__dict__)
        state["oof_"], state["use_out_of_fold"] = None, False  # a saved model never looks rows up by label
        return state


def _folds(kind: str, y: np.ndarray, cv: int, seed: int):
    """Seeded shuffled folds for cross-fitting, stratified for classes; None when too few rows."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if kind == "continuous":
        n = min(cv, len(y))
        return KFold(n, shuffle=True, random_state=seed) if n >= 2 else None
    n = int(min(cv, np.unique(y, return_counts=True)[1].max()))
    return StratifiedKFold(n, shuffle=True, random_state=seed) if n >= 2 else None


def _scaled_target(y: np.ndarray) -> np.ndarray:
    # target units do not matter to an encoding that is standardised afterwards; huge values would overflow
    y = np.nan_to_num(np.asarray(y, dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
    magnitude = float(np.max(np.abs(y))) if len(y) else 0.0
    return y / magnitude if magnitude > 0 else y


class TextFeatures(_OutOfFold, BaseEstimator, TransformerMixin):
    """Free-text columns as a few dense numbers each: TF-IDF, SVD and (with a target) a linear model on it.

    Per column: word unigrams and bigrams (and character 2-4-grams within words
    for short texts such as job titles, where spelling variants matter), with
    sublinear term frequency, terms seen in fewer than 2 training rows left out
    and at most :data:`TEXT_MAX_TERMS` (and 5 per training row) terms; then

    - ``n_components`` SVD components, centred and divided by one pooled
      deviation so that the leading directions keep their larger spread
      (with a target, only when the words predict it: see :data:`MIN_TEXT_SKILL`);
    - with a target, the prediction of a ridge model on the TF-IDF terms (one
      column, or one per class for a multiclass target; penalty chosen among
      three by cross-validation): the words' signal in a form every model family
      reads, cross-fitted on training rows (see :class:`_OutOfFold`);
    - the number of words (log scale, standardised) and, when training rows
      lacked text, a 0/1 missing indicator. Missing text reads as empty.

    Parameters
    ----------
    n_components : int, default=16
        SVD components per column (fewer when the vocabulary is smaller).
    target_type : {'classification', 'continuous'} or None, default=None
        None: no model on the target.
    max_rows : int, default=TEXT_FIT_ROWS
        The vocabulary and SVD are fitted on a seeded sample of at most this many rows.
    cv : int, default=5
        Folds of the cross-fitting.
    seed : int, default=0
    """

    ALPHAS = (1.0, 10.0, 100.0)

    def __init__(self, n_components: int = 16, target_type: str | None = None, max_rows: int = TEXT_FIT_ROWS,
                 cv: int = 5, seed: int = 0):
        self.n_components = n_components
        self.target_type = target_type
        self.max_rows = max_rows
        self.cv = cv
        self.seed = seed

    @staticmethod
    def _documents(column) -> tuple[list[str], np.ndarray]:
        values = pd.Series(column, dtype=object).to_numpy()
        missing = np.fromiter((not isinstance(v, str) or not v for v in values), dtype=bool, count=len(values))
        # very long texts are cut: their first few thousand characters say what the rest would
        return [v[:TEXT_MAX_CHARS] if isinstance(v, str) else "" for v in values], missing

    @staticmethod
    def _terms(model: dict, documents: list[str]):
        """The TF-IDF terms of ``documents`` (each distinct text vectorised once: short texts repeat)."""
        from scipy.sparse import hstack

        codes, distinct = pd.factorize(pd.Series(documents, dtype=object))
        return hstack([v.transform(list(distinct)) for v in model["vectorizers"]]).tocsr(), codes

    def fit(self, X: pd.DataFrame, y=None):  # noqa: D102
        self.fit_transform(X, y)
        self.release()
        return self

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params) -> np.ndarray:  # noqa: D102
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.columns_ = list(X.columns)
        self.models_ = {}
        self._fit_terms = {}
        rng = np.random.default_rng(self.seed)
        supervised = False
        for name in self.columns_:
            documents, missing = self._documents(X[name])
            chosen = np.arange(len(documents))
            if len(documents) > self.max_rows:
                chosen = np.sort(rng.choice(len(documents), self.max_rows, replace=False))
            sample = [documents[i] for i in chosen]
            n = len(sample)
            options = {"min_df": 2 if n >= 20 else 1, "sublinear_tf": True,
                       "max_features": int(min(TEXT_MAX_TERMS, max(50, 5 * n))), "dtype": np.float32}
            vectorizers = [TfidfVectorizer(analyzer="word", ngram_range=(1, 2), **options)]
            lengths = [len(d) for d in sample if d]
            if lengths and np.mean(lengths) <= 60:
                vectorizers.append(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), **options))
            fitted = []
            for vectorizer in vectorizers:
                try:
                    vectorizer.fit(sample)
                    fitted.append(vectorizer)
                except ValueError:  # no term left (every word occurs once): this view adds nothing
                    continue
            model = {"vectorizers": fitted, "svd": None, "mean": None, "scale": 1.0, "ridge": None}
            words = self._words(documents)
            model["words"] = (float(words.mean()), float(words.std()) or 1.0)
            model["indicator"] = bool(missing.any())
            self.models_[name] = model
            if not fitted:
                continue
            terms, codes = self._terms(model, documents)
            self._fit_terms[name] = (terms, codes)
            matrix = terms[codes[chosen]]
            predictions = None
            if y is not None and self.target_type is not None:
                predictions = self._fit_ridge(model, matrix, np.asarray(y)[chosen])
            if predictions is not None:
                model["oof"] = (chosen, predictions)
                supervised = True
            # words that do not predict the target out of fold get no SVD directions: they would be noise
            # columns for every model (on a loan table's job titles, 16 of them cost random forests 0.04 R²);
            # the text's model column, its length and indicator stay
            if predictions is None or model["ridge"]["skill"] >= MIN_TEXT_SKILL:
                self._fit_svd(model, matrix)
        values = self._transform(X, fitted_rows=True)
        del self._fit_terms
        if supervised:
            self._remember(X.index, values.copy())
        return values

    def _fit_svd(self, model: dict, matrix) -> None:
        from sklearn.decomposition import TruncatedSVD

        k = int(min(self.n_components, matrix.shape[1] - 1, matrix.shape[0] - 1))
        if k < 1:
            return
        svd = TruncatedSVD(n_components=k, random_state=self.seed)
        reduced = svd.fit_transform(matrix)
        model["svd"], model["mean"] = svd, reduced.mean(axis=0)
        pooled = float(np.sqrt(np.mean((reduced - model["mean"]) ** 2)))
        model["scale"] = pooled if np.isfinite(pooled) and pooled > 0 else 1.0

    def _fit_ridge(self, model: dict, matrix, y: np.ndarray) -> np.ndarray | None:
        """Fit the text's ridge model; return its out-of-fold predictions on the fit rows (None if impossible)."""
        from sklearn.linear_model import Ridge

        if self.target_type == "continuous":
            kind, targets = "continuous", _scaled_target(y)[:, None]
        else:
            classes = np.unique(y)
            if len(classes) < 2:
                return None
            kind = "binary" if len(classes) == 2 else "multiclass"
            targets = (y[:, None] == classes[None, 1:] if kind == "binary" else y[:, None] == classes[None, :])
            targets = targets.astype(float)
        folds = _folds(kind, y, self.cv, self.seed)
        if folds is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # classes rarer than the folds: stratified as well as may be
            splits = list(folds.split(matrix, y))
        best = None
        for alpha in self.ALPHAS:
            predictions = np.empty_like(targets)
            for train, test in splits:
                predictions[test] = Ridge(alpha=alpha).fit(matrix[train], targets[train]).predict(
                    matrix[test]).reshape(len(test), -1)
            error = float(np.mean((predictions - targets) ** 2))
            if best is None or error < best[0]:
                best = (error, alpha, predictions)
        error, alpha, predictions = best
        baseline = float(np.mean((targets - targets.mean(axis=0)) ** 2))
        ridge = Ridge(alpha=alpha).fit(matrix, targets)
        centre, spread = predictions.mean(axis=0), predictions.std(axis=0)
        model["ridge"] = {"model": ridge, "alpha": alpha, "centre": centre,
                          "spread": np.where(spread > 0, spread, 1.0), "kind": kind, "outputs": targets.shape[1],
                          # share of the target's variance the words explain out of fold (R², or Brier skill)
                          "skill": 1.0 - error / baseline if baseline > 0 else 0.0}
        return (predictions - centre) / model["ridge"]["spread"]

    @staticmethod
    def _words(documents: list[str]) -> np.ndarray:
        return np.log1p(np.fromiter((len(d.split()) for d in documents), dtype=float, count=len(documents)))

    def components(self, name: str) -> int:
        """SVD components kept for column ``name`` (0 when its text had no recurring term)."""
        svd = self.models_[name]["svd"]
        return 0 if svd is None else int(svd.n_components)

    def _outputs(self, name: str) -> list[str]:
        model = self.models_[name]
        out = [f"svd{i}" for i in range(self.components(name))]
        ridge = model.get("ridge")
        if ridge is not None:
            out += ["model"] if ridge["outputs"] == 1 else [f"model_{c}" for c in range(ridge["outputs"])]
        return out + ["words"] + (["missing"] if model["indicator"] else [])

    def _transform(self, X: pd.DataFrame, *, fitted_rows: bool = False) -> np.ndarray:
        blocks = []
        for name in self.columns_:
            model = self.models_[name]
            documents, missing = self._documents(X[name])
            if model["vectorizers"] and (model["svd"] is not None or model.get("ridge") is not None):
                terms, codes = self._fit_terms[name] if fitted_rows else self._terms(model, documents)
                if model["svd"] is not None:
                    blocks.append(((model["svd"].transform(terms) - model["mean"]) / model["scale"])[codes])
                ridge = model.get("ridge")
                if ridge is not None:
                    predicted = ridge["model"].predict(terms).reshape(terms.shape[0], -1)
                    predicted = ((predicted - ridge["centre"]) / ridge["spread"])[codes]
                    if fitted_rows:  # the rows the model was fitted on get its cross-fitted predictions
                        chosen, out_of_fold = model.pop("oof")
                        predicted[chosen] = out_of_fold
                    blocks.append(predicted)
            mean, std = model["words"]
            blocks.append(((self._words(documents) - mean) / std)[:, None])
            if model["indicator"]:
                blocks.append(missing[:, None].astype(float))
        return np.hstack(blocks) if blocks else np.empty((len(X), 0))

    def transform(self, X: pd.DataFrame) -> np.ndarray:  # noqa: D102
        return self._recall(X.index, self._transform(X))

    def output_sources(self) -> list[str]:
        """The input column of each output column."""
        return [name for name in self.columns_ for _ in self._outputs(name)]

    def get_feature_names_out(self, input_features=None):  # noqa: D102
        return np.asarray([f"{name}_{part}" for name in self.columns_ for part in self._outputs(name)], dtype=object)


def _target_encoder(kind: str, folds):
    """scikit-learn's TargetEncoder cross-fitted on ``folds`` (a seeded splitter; before scikit-learn 1.9, its count)."""
    import inspect

    from sklearn.preprocessing import TargetEncoder

    if "deprecated" in str(inspect.signature(TargetEncoder).parameters["shuffle"].default):
        return TargetEncoder(target_type=kind, cv=folds)
    return TargetEncoder(target_type=kind, cv=folds.get_n_splits(), shuffle=True, random_state=folds.random_state)


class FrequencyTargetEncoder(_OutOfFold, BaseEstimator, TransformerMixin):
    """High-cardinality categorical columns as a few numbers: level frequency and target encoding.

    Each column gives the share of training rows holding its level (unseen
    levels 0; missing is a level of its own) and, when fitted with a target,
    scikit-learn's :class:`~sklearn.preprocessing.TargetEncoder` (the smoothed
    mean target per level; one column per class for a multiclass target).
    ``fit_transform`` returns the *cross-fitted* encodings, each row encoded by
    folds that did not see it; ``transform`` uses the encoder fitted on all
    training rows. :func:`prepare_rows` gives the training rows of its matrix
    their cross-fitted values (see :class:`_OutOfFold`).

    Parameters
    ----------
    target_type : {'classification', 'continuous'} or None, default=None
        None encodes frequencies only. For classification, binary or multiclass
        is read from the number of classes.
    cv : int, default=5
        Folds of the cross-fitting.
    seed : int, default=0
    """

    def __init__(self, target_type: str | None = None, cv: int = 5, seed: int = 0):
        self.target_type = target_type
        self.cv = cv
        self.seed = seed

    @staticmethod
    def _levels(X: pd.DataFrame) -> pd.DataFrame:
        # canonical strings with NaN for missing arrive from Schema.coerce: missing becomes a level
        return pd.DataFrame({name: pd.Series(X[name].to_numpy(dtype=object), dtype=object).fillna("(missing)")
                             .to_numpy() for name in X.columns}, index=X.index)

    def _frequencies(self, levels: pd.DataFrame) -> np.ndarray:
        return np.column_stack([levels[name].map(self.frequencies_[name]).fillna(0.0).to_numpy(dtype=float)
                                for name in self.columns_])

    def fit(self, X: pd.DataFrame, y=None):  # noqa: D102
        self.fit_transform(X, y)
        self.release()
        return self

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params) -> np.ndarray:  # noqa: D102
        levels = self._levels(X)
        self.columns_ = list(X.columns)
        self.frequencies_ = {name: levels[name].value_counts(normalize=True).to_dict() for name in self.columns_}
        self.encoder_, self.note_ = None, ""
        self.release()
        frequencies = self._frequencies(levels)
        if y is None or self.target_type is None:
            self.note_ = "no target"
            return frequencies
        y = np.asarray(y)
        if self.target_type == "continuous":
            kind, y = "continuous", _scaled_target(y)
        else:
            n_classes = len(np.unique(y))
            if n_classes < 2:
                self.note_ = "a single class in the training rows"
                return frequencies
            kind = "binary" if n_classes == 2 else "multiclass"
        folds = _folds(kind, y, self.cv, self.seed)
        if folds is None:
            self.note_ = "too few rows to cross-fit"
            return frequencies
        encoder = _target_encoder(kind, folds)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # classes rarer than the folds: stratified as well as may be
            out_of_fold = encoder.fit_transform(levels, y)
        self.encoder_ = encoder
        values = np.hstack([frequencies, out_of_fold])
        self._remember(levels.index, values.copy())
        return values

    def transform(self, X: pd.DataFrame) -> np.ndarray:  # noqa: D102
        levels = self._levels(X)
        frequencies = self._frequencies(levels)
        if self.encoder_ is None:
            return frequencies
        return self._recall(levels.index, np.hstack([frequencies, self.encoder_.transform(levels)]))

    def output_sources(self) -> list[str]:
        """The input column of each output column."""
        targets = [] if self.encoder_ is None else [name for name in self.columns_ for _ in range(self._per_column())]
        return list(self.columns_) + targets

    def _per_column(self) -> int:
        return len(self.encoder_.classes_) if self.encoder_.target_type_ == "multiclass" else 1

    def get_feature_names_out(self, input_features=None):  # noqa: D102
        names = [f"{name}_frequency" for name in self.columns_]
        if self.encoder_ is not None:
            if self.encoder_.target_type_ == "multiclass":
                names += [f"{name}_target_{c}" for name in self.columns_ for c in self.encoder_.classes_]
            else:
                names += [f"{name}_target" for name in self.columns_]
        return np.asarray(names, dtype=object)


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


def _numeric_steps(scaling: str = "standard", *, indicator: bool = True) -> list:
    impute = ("impute", _Imputer(strategy=_median, add_indicator=indicator, keep_empty_features=True))
    clip = ("clip", FunctionTransformer(_clip, feature_names_out="one-to-one"))
    if scaling == "joint":
        return [impute, ("scale", JointScaler()), clip]
    if scaling == "unscaled":  # one shared factor and no clipping: the columns' own ranges are the point
        return [impute, ("scale", JointScaler()), ("float32", FunctionTransformer(_float32,
                                                                               feature_names_out="one-to-one"))]
    return [impute] + _scale_steps()


def _float32(values):
    return np.asarray(values).astype(np.float32, copy=False)


def _scale_steps() -> list:
    # Dividing by the largest magnitude first keeps the variance finite for values near the
    # float64 limit (1e308 squared overflows); standardising afterwards gives the same result.
    # copy=False: both scale an array of the pipeline's own (the previous step's output), in place
    return [("prescale", MaxAbsScaler(copy=False)), ("scale", StandardScaler(copy=False)),
            ("clip", FunctionTransformer(_clip, feature_names_out="one-to-one"))]


def _target_kind(task: str | None) -> str | None:
    """The kind of target encoding a task allows (None: no target, as in clustering)."""
    if task is None:
        return None
    return "continuous" if task == "regression" else "classification"


def _many_levels(schema: Schema, task: str | None) -> tuple[list[str], list[str]]:
    """Categorical columns split into one-hot encoded and (with a target) frequency/target encoded ones."""
    names = schema.names("categorical")
    if task is None:
        return names, []
    counts = {c.name: c.n_unique for c in schema.columns}
    return ([n for n in names if counts[n] <= MAX_CATEGORIES], [n for n in names if counts[n] > MAX_CATEGORIES])


def estimate_width(schema: Schema, *, n_classes: int = 0, supervised: bool = True) -> int:
    """Upper bound on the number of columns :func:`build_preprocessor` produces for ``schema``.

    Used to size the prepared matrix before building it: numeric and boolean
    columns give one value plus a missing indicator, categorical columns at most
    :data:`MAX_CATEGORIES` one-hot levels (or, above that many levels with a
    target, a frequency and one target encoding per class), datetime columns
    their calendar parts, elapsed days and an indicator, text columns their
    SVD components, a model prediction per class, a word count and an indicator.

    Parameters
    ----------
    schema : Schema
    n_classes : int, default=0
        Classes of the target (0 for regression): a multiclass target encodes each class.
    supervised : bool, default=True
        False when there is no target (clustering): every categorical column is one-hot encoded.
    """
    one_hot, encoded = _many_levels(schema, "binary" if supervised else None)
    width = 0
    for decision in schema.columns:
        indicator = 1 if decision.missing_fraction > 0 else 0
        if decision.role in ("numeric", "boolean"):
            width += 1 + indicator
        elif decision.name in one_hot:
            width += min(max(decision.n_unique, 1), MAX_CATEGORIES) + 1
        elif decision.name in encoded:
            width += 1 + (n_classes if n_classes > 2 else 1)
        elif decision.role == "datetime":
            width += len(DatetimeFeatures.PARTS) + 1 + indicator
        elif decision.role == "text":
            width += TEXT_MAX_COMPONENTS + (n_classes if n_classes > 2 else 1) + 1 + indicator
    return max(width, 1)


def build_preprocessor(schema: Schema, n_rows: int, *, numeric_scaling: str = "standard",
                       task: str | None = None, seed: int = 0) -> Pipeline:
    """Build the (unfitted) preprocessing pipeline for ``schema``.

    Parameters
    ----------
    schema : Schema
        Column decisions from :func:`automl.data.infer_schema`.
    n_rows : int
        Training rows; sets how rare a category level must be to be pooled and
        how many SVD components a text column keeps (:func:`~automl.data.schema.text_components`).
    numeric_scaling : {'standard', 'joint', 'unscaled'}, default='standard'
        Per-column standardising, or one pooled scale for commensurable columns
        (see :func:`choose_numeric_scaling`), or that pooled scale without the
        clipping of extreme values (clustering's "unscaled" representation,
        where a column's own range is kept whole).
    task : {'binary', 'multiclass', 'regression'} or None, default=None
        The target's task when the pipeline is fitted with one (``fit``): categorical
        columns with more than :data:`MAX_CATEGORIES` levels are then frequency and
        target encoded. None (``cluster``): every categorical column is one-hot encoded,
        its rare levels pooled.
    seed : int, default=0
        Seeds the text SVD and the target encoding's folds.

    Returns
    -------
    Pipeline
        ``SchemaReader`` then a ``ColumnTransformer``: numeric (median impute with
        missing indicators, standardise, clip), boolean (mode impute with
        indicators), categorical (constant impute, one-hot with rare and unseen
        levels pooled), many-level categorical (:class:`FrequencyTargetEncoder`,
        standardised), datetime (:class:`DatetimeFeatures`, then as numeric),
        text (:class:`TextFeatures`).
    """
    min_frequency = max(1, min(10, n_rows // 200))
    one_hot, encoded = _many_levels(schema, task)
    transformers = []
    if schema.names("numeric"):
        transformers.append(("numeric", Pipeline(_numeric_steps(numeric_scaling)), schema.names("numeric")))
    if schema.names("boolean"):
        transformers.append((
            "boolean",
            SimpleImputer(strategy="most_frequent", add_indicator=True, keep_empty_features=True),
            schema.names("boolean"),
        ))
    if one_hot:
        transformers.append((
            "categorical",
            Pipeline([
                ("impute", SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True)),
                ("onehot", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_frequency,
                                         max_categories=MAX_CATEGORIES, sparse_output=False, dtype=np.float32)),
            ]),
            one_hot,
        ))
    if encoded:
        transformers.append((
            "many_levels",
            Pipeline([("encode", FrequencyTargetEncoder(_target_kind(task), seed=seed))] + _scale_steps()),
            encoded,
        ))
    if schema.names("datetime"):
        transformers.append((
            "datetime",
            # DatetimeFeatures adds one missing indicator per column; the imputer would add one per part
            Pipeline([("parts", DatetimeFeatures())] + _numeric_steps(indicator=False)),
            schema.names("datetime"),
        ))
    if schema.names("text"):
        transformers.append((
            "text",
            Pipeline([("tfidf_svd", TextFeatures(text_components(n_rows), _target_kind(task), seed=seed)),
                      ("clip", FunctionTransformer(_clip, feature_names_out="one-to-one"))]),
            schema.names("text"),
        ))
    columns = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([
        ("read", SchemaReader(schema)),
        ("columns", columns),
        ("float32", FunctionTransformer(_as_float32, feature_names_out="one-to-one")),
    ])


def _fitted_step(preprocessor: Pipeline, name: str, step: str):
    """A fitted step of one of the column transformer's pipelines, or None."""
    fitted = preprocessor.named_steps["columns"].named_transformers_
    return fitted[name].named_steps[step] if name in fitted else None


def describe_encodings(preprocessor: Pipeline) -> None:
    """Write into the schema's reasons what the fitted pipeline did with text and many-level columns.

    The schema is decided before anything is fitted; this records the facts
    only the fit knows: the SVD components a text column kept, and whether a
    many-level column got target encoding or (without a target) one-hot levels.
    """
    schema = preprocessor.steps[0][1].schema
    text = _fitted_step(preprocessor, "text", "tfidf_svd")
    encoder = _fitted_step(preprocessor, "many_levels", "encode")
    one_hot = next((set(columns) for name, _, columns in preprocessor.named_steps["columns"].transformers_
                    if name == "categorical"), set())
    for decision in schema.columns:
        head = decision.reason.split(":")[0]
        if decision.role == "text" and text is not None and decision.name in text.columns_:
            k = text.components(decision.name)
            model = text.models_[decision.name]
            views = "words and character n-grams" if len(model["vectorizers"]) > 1 else "words"
            ridge = model.get("ridge")
            supervised = "" if ridge is None else (
                f", and an out-of-fold ridge model of the target on the terms (alpha={ridge['alpha']:g}; it explains "
                f"{ridge['skill']:.1%} of the target's variance out of fold)")
            if ridge is not None and not k:
                decision.reason = (f"{head}: TF-IDF of {views} feeding an out-of-fold ridge model of the target "
                                   f"(alpha={ridge['alpha']:g}; it explains {ridge['skill']:.1%} of the target's "
                                   "variance out of fold, too little to add SVD components), plus its word count")
            elif k:
                decision.reason = (f"{head}: TF-IDF of {views}, reduced by SVD to {k} components{supervised}, "
                                   "plus its word count")
            else:
                decision.reason = f"{head}: no word recurs in the training rows, so only its word count is used"
        elif decision.role == "categorical" and decision.n_unique > MAX_CATEGORIES:
            if encoder is not None and decision.name in encoder.columns_:
                decision.reason = (
                    f"{head}: more than {MAX_CATEGORIES} levels, so frequency and out-of-fold target encoding "
                    "instead of one-hot" if encoder.encoder_ is not None else
                    f"{head}: more than {MAX_CATEGORIES} levels, so frequency encoding instead of one-hot "
                    f"(no target encoding: {encoder.note_})")
            elif decision.name in one_hot:
                decision.reason = (f"{head}: one-hot of the {MAX_CATEGORIES - 1} most frequent levels, the others "
                                   "pooled (no target to encode)")


def prepare_rows(preprocessor: Pipeline, frame: pd.DataFrame, rows: np.ndarray, *, fit_rows: np.ndarray,
                 seed: int = 0, y: np.ndarray | None = None) -> np.ndarray:
    """Fit ``preprocessor`` on ``frame``'s ``fit_rows``; return ``rows`` prepared, as one float32 matrix.

    The statistics are fitted on a seeded sample of at most :data:`FIT_ROWS` of
    ``fit_rows``; rows are then prepared :data:`CHUNK_ROWS` at a time into one
    preallocated matrix, so the peak memory stays near the frame plus the
    matrix, without a copy of the training rows or float64 intermediates of
    their full size. Values that cannot be read are reported once per column.

    With a target, many-level categorical columns are target encoded: the rows
    the encoder was fitted on get their out-of-fold (cross-fitted) encodings,
    as a model trained on them will not see their own target in its features;
    every other row, and every later ``transform``, the encoder fitted on all of them.

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
    y : ndarray, optional
        The encoded target of every row of ``frame`` (indexed by position), for target encoding.

    Returns
    -------
    ndarray of shape (len(rows), n_features), float32
    """
    reader, rest = preprocessor.steps[0][1], preprocessor[1:]
    schema = reader.schema
    sample = np.asarray(fit_rows)
    if len(sample) > FIT_ROWS:
        sample = np.sort(np.random.default_rng(seed).choice(sample, FIT_ROWS, replace=False))

    def read(positions: np.ndarray, unreadable: dict) -> pd.DataFrame:
        # rows are labelled by position: the target encoder finds its training rows by these labels
        coerced = schema.coerce(frame.iloc[positions], unreadable=unreadable)
        coerced.index = pd.RangeIndex(0, 0) if len(positions) == 0 else pd.Index(positions)
        return coerced

    with warnings.catch_warnings():
        # columns without any observed value are kept (as zeros) on purpose
        warnings.filterwarnings("ignore", message=".*Skipping features without any observed values.*")
        reader.fit(None)
        rest.fit(read(sample, {}), None if y is None else np.asarray(y)[sample])
    cross_fitted = [step for step in (_fitted_step(preprocessor, "many_levels", "encode"),
                                      _fitted_step(preprocessor, "text", "tfidf_svd")) if step is not None]
    unreadable: dict[str, int] = {}
    out = None
    try:
        for step in cross_fitted:
            step.use_out_of_fold = step.oof_ is not None
        for start in range(0, len(rows), CHUNK_ROWS):
            part = np.asarray(rows[start:start + CHUNK_ROWS])
            block = rest.transform(read(part, unreadable))
            if out is None:
                out = np.empty((len(rows), block.shape[1]), dtype=np.float32)
            out[start:start + len(part)] = block
    finally:
        for step in cross_fitted:
            step.release()
    schema.warn_unreadable(unreadable)
    describe_encodings(preprocessor)
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


def feature_sources(preprocessor: Pipeline) -> dict[str, str]:
    """Map each column of the prepared matrix to the input column it comes from.

    Read from the fitted pipeline's own structure (each step's fitted
    attributes), not from parsing names, so input names containing ``_`` are
    safe: missing-value indicators and one-hot levels belong to their column,
    datetime parts to their datetime column. Explanations use it to fold the
    contributions of a column's parts back onto the column the user knows.

    Parameters
    ----------
    preprocessor : Pipeline
        A fitted pipeline from :func:`build_preprocessor`.

    Returns
    -------
    dict of str to str
        Prepared feature name (``preprocessor.get_feature_names_out()``, in
        matrix order) -> input column name.

    Examples
    --------
    >>> sources = feature_sources(result.preprocessor)              # doctest: +SKIP
    >>> sources["categorical__colour_red"]                          # doctest: +SKIP
    'colour'
    """
    names = [str(n) for n in preprocessor.get_feature_names_out()]
    columns = preprocessor.named_steps["columns"]
    sources: list[str] = []
    for name, transformer, inputs in columns.transformers_:
        if name == "remainder" or transformer == "drop" or len(inputs) == 0:
            continue
        current = [str(c) for c in inputs]
        steps = transformer.steps if isinstance(transformer, Pipeline) else [(name, transformer)]
        for _, step in steps:
            current = _step_sources(step, current)
        sources.extend(current)
    if len(sources) != len(names):  # a step this function does not know changed the width
        raise ValueError(f"feature_sources: traced {len(sources)} columns, the pipeline outputs {len(names)}")
    return dict(zip(names, sources))


def one_hot_blocks(preprocessor: Pipeline) -> list[list[int]]:
    """Matrix positions of each one-hot encoded input column's levels, one list per column.

    The boosting families that handle categories natively (LightGBM) read a
    category code back from each block (:class:`automl.models.boosting.BoostedModel`),
    so the shared matrix stays the one every family reads. ``preprocessor`` is
    fitted (:func:`build_preprocessor`); the lists follow the input columns and
    there are none when no column was one-hot encoded.
    """
    blocks: dict[str, list[int]] = {}
    for position, (name, source) in enumerate(feature_sources(preprocessor).items()):
        if name.startswith("categorical__"):  # the one-hot transformer's prefix (build_preprocessor)
            blocks.setdefault(source, []).append(position)
    return list(blocks.values())


def _step_sources(step, sources: list[str]) -> list[str]:
    """Input column of each output column of one fitted preprocessing ``step`` fed columns from ``sources``."""
    if hasattr(step, "output_sources"):  # DatetimeFeatures, TextFeatures, FrequencyTargetEncoder
        by_column = dict(zip(step.columns_, sources))
        return [by_column[column] for column in step.output_sources()]
    if isinstance(step, SimpleImputer):
        # keep_empty_features=True keeps every column; the indicators follow, one per column with missing values
        indicator = getattr(step, "indicator_", None)
        extra = [] if indicator is None else [sources[i] for i in indicator.features_]
        return list(sources) + extra
    if isinstance(step, OneHotEncoder):
        out = []
        for i, src in enumerate(sources):
            levels = len(step.categories_[i])
            infrequent = getattr(step, "infrequent_categories_", [None] * len(sources))[i]
            if infrequent is not None and len(infrequent):
                levels += 1 - len(infrequent)  # the rare levels share one output column
            drop = getattr(step, "drop_idx_", None)
            if drop is not None and drop[i] is not None:
                levels -= 1
            out.extend([src] * levels)
        return out
    return list(sources)  # scalers, clipping, dtype casts: one output per input
