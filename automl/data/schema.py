"""Column typing: decide what each input column is and how it will be used.

The decisions live in a :class:`Schema`, which is stored on every result and
saved with it, so that new rows at predict time are read exactly as the
training rows were.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import DataWarning, InputError, warn

ROLES = ("numeric", "boolean", "categorical", "datetime", "text", "dropped")
_ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key|index)$|^(id|uuid|guid|index)([_\s-]|$)", re.IGNORECASE)
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
# Numbers are clipped to this magnitude when read (float64 overflows just below 1.8e308).
MAX_MAGNITUDE = 1e300
# Text that stands for a missing value (compared stripped, case as written): pandas' CSV reader's
# default NA strings, plus what ``astype(str)`` writes for missing values ('<NA>', 'NaT', 'nan',
# 'None'), so a frame read as text reads like the original. Case matters: a lower-case 'none' or
# 'na' is a real level in many tables (no airbag, no seatbelt, 'na' = North America...).
MISSING_TEXT = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                          "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "NaT"})
# A column with one value and holes is kept when at least this share (and _PRESENCE_MIN_ROWS rows) of
# its values fall on each side: whether the value is there is then the signal.
_PRESENCE_MIN_SHARE = 0.01
_PRESENCE_MIN_ROWS = 5
# Categorical columns with more levels than this are not one-hot encoded (the matrix would grow a column per
# level): supervised fits give them frequency and out-of-fold target encoding instead (see automl.preprocess).
ONE_HOT_MAX_LEVELS = 32
# Free text is reduced to at most this many SVD components per column, fewer on small tables.
TEXT_MAX_COMPONENTS = 16
# Words: runs of two or more letters (digits, punctuation and single letters are not words).
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass
class ColumnDecision:
    """How one input column is used.

    Attributes
    ----------
    name : str
        Column name as given (converted to ``str``).
    dtype : str
        The pandas dtype it arrived with.
    role : {'numeric', 'boolean', 'categorical', 'datetime', 'text', 'dropped'}
        How the preprocessing treats it. ``'text'`` is free text (TF-IDF then SVD);
        ``'categorical'`` columns with more than :data:`ONE_HOT_MAX_LEVELS` levels are
        frequency and target encoded instead of one-hot encoded.
    reason : str
        Why this role was chosen, in words.
    n_unique : int
        Distinct non-missing values in the training data.
    missing_fraction : float
        Share of missing values in the training data.
    dayfirst : bool
        For dates written as text: whether ``01/02/2021`` means 1 February (decided
        once on the training rows, so that every batch of rows reads alike).
    """

    name: str
    dtype: str
    role: str
    reason: str
    n_unique: int = 0
    missing_fraction: float = 0.0
    dayfirst: bool = False


@dataclass
class Schema:
    """The column decisions for one data set, and how to read new rows like it.

    Attributes
    ----------
    columns : list of ColumnDecision
        One decision per input column other than the target (and ``exclude``).
    target : str or None
        Name of the target column, if any.
    """

    columns: list[ColumnDecision] = field(default_factory=list)
    target: str | None = None

    # -- views ---------------------------------------------------------------------------
    def names(self, role: str | None = None) -> list[str]:
        """Column names with ``role`` (all used columns when ``role`` is None)."""
        if role is None:
            return [c.name for c in self.columns if c.role != "dropped"]
        return [c.name for c in self.columns if c.role == role]

    @property
    def used(self) -> list[str]:
        """Names of the columns the models see."""
        return self.names()

    @property
    def dropped(self) -> dict[str, str]:
        """Dropped column names mapped to the reason."""
        return {c.name: c.reason for c in self.columns if c.role == "dropped"}

    def to_frame(self) -> pd.DataFrame:
        """The decisions as a DataFrame, one row per column."""
        return pd.DataFrame([asdict(c) for c in self.columns],
                            columns=["name", "dtype", "role", "reason", "n_unique", "missing_fraction"])

    def to_dict(self) -> dict:
        """JSON-ready form, inverse of :meth:`from_dict`."""
        return {"target": self.target, "columns": [asdict(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict) -> "Schema":
        """Rebuild a schema saved with :meth:`to_dict`."""
        return cls(columns=[ColumnDecision(**c) for c in data["columns"]], target=data.get("target"))

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return self.to_frame().to_html(index=False, escape=True)

    # -- reading new rows ----------------------------------------------------------------
    def check_columns(self, frame: pd.DataFrame, *, argument: str = "data") -> None:
        """Raise if a used column is missing from ``frame``; warn about extra columns."""
        present = set(frame.columns)
        missing = [name for name in self.used if name not in present]
        if missing:
            raise InputError(
                f"`{argument}` is missing column(s) {missing} that the model was trained on. "
                "Add them (NaN is accepted where values are unknown)."
            )
        known = {c.name for c in self.columns} | ({self.target} if self.target else set())
        extra = [name for name in frame.columns if name not in known]
        if extra:
            warn(f"Ignoring column(s) {extra[:10]} of `{argument}` that were not seen in training.", DataWarning)

    def warn_unreadable(self, unreadable: dict[str, int]) -> None:
        """One :class:`~automl.errors.DataWarning` per column with values that could not be read."""
        roles = {d.name: d.role for d in self.columns}
        for name, n_bad in unreadable.items():
            if n_bad:
                warn(f"Column {name!r}: {n_bad} value(s) could not be read as {roles.get(name, 'its type')} "
                     "and were treated as missing.", DataWarning)

    def coerce(self, frame: pd.DataFrame, *, warn_drift: bool = True,
               unreadable: dict[str, int] | None = None) -> pd.DataFrame:
        """Return the used columns in canonical dtypes.

        numeric and boolean -> float64 (missing and infinite as NaN); categorical and
        text -> object arrays of strings with NaN for missing; datetime -> datetime64[ns]
        (timezone-naive UTC). Values that cannot be read are treated as missing,
        with a :class:`~automl.errors.DataWarning` when ``warn_drift`` is true.
        Given an ``unreadable`` dict, their counts are added to it per column
        instead (for frames read in chunks: see :meth:`warn_unreadable`).
        """
        out = {}
        for decision in self.columns:
            if decision.role == "dropped":
                continue
            column = frame[decision.name]
            if decision.role == "numeric":
                values, n_bad = to_float(column)
            elif decision.role == "boolean":
                values, n_bad = to_boolean_float(column)
            elif decision.role == "categorical":
                values, n_bad = to_category_strings(column), 0
            elif decision.role == "text":
                values, n_bad = to_text(column), 0
            else:
                values, n_bad = to_datetime(column, dayfirst=decision.dayfirst)
            if n_bad and unreadable is not None:
                unreadable[decision.name] = unreadable.get(decision.name, 0) + int(n_bad)
            elif n_bad and warn_drift:
                self.warn_unreadable({decision.name: n_bad})
            out[decision.name] = values
        # the arrays are new: keep them as they are instead of copying them into one block
        return pd.DataFrame(out, index=frame.index, copy=False)


# -- canonical conversions ---------------------------------------------------------------
def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return isinstance(value, str) and value.strip() in MISSING_TEXT


def missing_mask(column: pd.Series) -> np.ndarray:
    """True where a value is missing: NA, NaN, NaT, or text such as ``''``, ``'nan'``, ``'<NA>'``, ``'null'``."""
    dtype = column.dtype
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype) or isinstance(
            dtype, pd.CategoricalDtype):
        values = column.astype("object").to_numpy()
        return np.fromiter((_is_missing(v) for v in values), dtype=bool, count=len(values))
    return column.isna().to_numpy(dtype=bool, copy=True)


def _text_values(column: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Values as objects with missing markers as None and text stripped, and the missing mask."""
    missing = missing_mask(column)
    values = [None if gone else (v.strip() if isinstance(v, str) else v)
              for v, gone in zip(column.astype("object").to_numpy(), missing)]
    return pd.Series(values, index=column.index, dtype="object"), missing


def to_float(column: pd.Series) -> tuple[np.ndarray, int]:
    """Numbers as float64; returns the values and how many non-missing inputs failed to parse."""
    if pd.api.types.is_timedelta64_dtype(column.dtype):
        values = column.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
        return values, 0
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        values = column.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        bad = 0
    else:
        text, missing = _text_values(column)
        parsed = pd.to_numeric(text, errors="coerce")
        values = parsed.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        bad = int((~missing & np.isnan(values)).sum())
    values = np.where(np.isfinite(values), values, np.nan)  # a new array: pandas may hand out read-only views
    # Sums of two values near the float64 limit overflow (a median, a mean): keep magnitudes below it.
    return np.clip(values, -MAX_MAGNITUDE, MAX_MAGNITUDE), bad


def to_boolean_float(column: pd.Series) -> tuple[np.ndarray, int]:
    """Truth values as 1.0/0.0 with NaN for missing."""
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        values = column.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        values = np.where(np.isin(values, (0.0, 1.0)), values, np.nan)
        return values, 0
    raw, missing = _text_values(column)
    text = raw.map(lambda v: None if v is None else str(v).lower())
    values = np.where(text.isin(_TRUE), 1.0, np.where(text.isin(_FALSE), 0.0, np.nan))
    bad = int((~missing & np.isnan(values)).sum())
    return values, bad


def _category_text(value: object) -> object:
    if _is_missing(value):
        return np.nan
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def to_category_strings(column: pd.Series) -> np.ndarray:
    """Levels as an object array of ``str`` (``1.0`` and ``1`` read alike), NaN for missing."""
    return np.array([_category_text(v) for v in column.astype("object").to_numpy()], dtype=object)


def to_text(column: pd.Series) -> np.ndarray:
    """Free text as an object array of stripped ``str``, NaN for missing."""
    text, missing = _text_values(column)
    return np.array([np.nan if gone else str(v) for v, gone in zip(text.to_numpy(), missing)], dtype=object)


def parse_dates(text: pd.Series, *, dayfirst: bool = False) -> pd.Series:
    """Date strings as UTC timestamps, NaT where a value does not read as a date.

    One format inferred from the values is tried first (fast); values in mixed
    formats, or with unreadable ones among them, are read one by one.
    ``dayfirst`` settles ``01/02/2021`` either way.
    """
    with warnings.catch_warnings():
        # "could not infer format": pandas then falls back to reading each value, as wanted here
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(text, errors="raise", utc=True, dayfirst=dayfirst)
        except (ValueError, TypeError, OverflowError):
            return pd.to_datetime(text, errors="coerce", format="mixed", utc=True, dayfirst=dayfirst)


def reads_day_first(text: pd.Series) -> bool:
    """Whether date strings read better day first (``31/12/2020``) than month first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        month = pd.to_datetime(text, errors="coerce", utc=True, dayfirst=False).notna().sum()
        day = pd.to_datetime(text, errors="coerce", utc=True, dayfirst=True).notna().sum()
    return bool(day > month)


def to_datetime(column: pd.Series, *, dayfirst: bool = False) -> tuple[pd.Series, int]:
    """Timestamps as timezone-naive ``datetime64[ns]`` (UTC), NaT for missing.

    Timezone-aware values, and text with zones, are converted to UTC: the same
    instant reads alike whichever zone new rows arrive in.
    """
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        parsed = column
        bad = 0
    else:
        text, missing = _text_values(column)
        parsed = parse_dates(text, dayfirst=dayfirst)
        bad = int((~missing & parsed.isna().to_numpy()).sum())
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]"), bad


# -- inference ---------------------------------------------------------------------------
def infer_schema(frame: pd.DataFrame, target: str | None = None,
                 exclude: Iterable[str] = (), *, population: int | None = None) -> Schema:
    """Decide a role for every column of ``frame`` except ``target`` and ``exclude``.

    Parameters
    ----------
    frame : DataFrame
        Training rows (only their values are inspected; nothing is fitted).
    target : str, optional
        Target column, left out of the schema.
    exclude : iterable of str
        Other columns to leave out (for example the ``labels`` of clustering).
    population : int, optional
        When ``frame`` is a sample, the number of rows it was drawn from (a row
        counter then shows as distinct integers spanning at most that many).

    Returns
    -------
    Schema
    """
    skip = set(exclude) | ({target} if target is not None else set())
    population = len(frame) if population is None else max(int(population), len(frame))
    target_values = frame[target] if target is not None and target in frame.columns else None
    decisions = [_decide(frame[name], population, target_values) for name in frame.columns if name not in skip]
    schema = Schema(columns=decisions, target=target)
    if not schema.used:
        reasons = "; ".join(f"{k}: {v}" for k, v in list(schema.dropped.items())[:10])
        raise InputError(
            "No usable feature columns: every column was dropped "
            f"({reasons}). Provide numeric, categorical, boolean, datetime or text features."
        )
    return schema


def _decide(column: pd.Series, population: int, target: pd.Series | None = None) -> ColumnDecision:
    name = str(column.name)
    dtype = str(column.dtype)
    n = len(column)
    non_missing = column[~missing_mask(column)]
    if pd.api.types.is_float_dtype(column.dtype):
        non_missing = non_missing[np.isfinite(non_missing.to_numpy(dtype=float))]
    missing_fraction = float(1 - len(non_missing) / n) if n else 1.0
    try:
        n_unique = int(non_missing.nunique())
    except TypeError:  # unhashable values such as lists or dicts
        return ColumnDecision(name, dtype, "dropped", "holds unhashable values (lists or dicts)", 0, missing_fraction)

    def decision(role: str, reason: str) -> ColumnDecision:
        return ColumnDecision(name, dtype, role, reason, n_unique, round(missing_fraction, 4))

    if len(non_missing) == 0:
        return decision("dropped", "all values are missing")
    if n_unique == 1:
        n_missing = n - len(non_missing)
        if min(n_missing, len(non_missing)) >= max(_PRESENCE_MIN_ROWS, _PRESENCE_MIN_SHARE * n):
            # e.g. 'airbag' or missing: the holes carry the information, so present/missing becomes the feature
            if pd.api.types.is_bool_dtype(column.dtype):
                return decision("boolean", "a single value or missing: used through its missing indicator")
            if pd.api.types.is_numeric_dtype(column.dtype):
                return decision("numeric", "a single value or missing: used through its missing indicator")
            return decision("categorical", "a single value or missing: the missing rows form their own level")
        return decision("dropped", "constant: a single value")
    if pd.api.types.is_bool_dtype(column.dtype):
        return decision("boolean", "boolean dtype")
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return decision("datetime", f"datetime dtype: {_DATE_PARTS}")
    if pd.api.types.is_timedelta64_dtype(column.dtype):
        return decision("numeric", "duration, used as seconds")
    if isinstance(column.dtype, pd.CategoricalDtype):
        return decision("categorical", f"category dtype with {n_unique} levels{_encoding(n_unique)}")
    if pd.api.types.is_numeric_dtype(column.dtype):
        if _looks_like_id(name, non_missing, n_unique, n, population):
            signal = _order_signal(non_missing, target)
            if signal >= max(_ID_SIGNAL, 5.0 / np.sqrt(max(len(non_missing), 1))):
                return decision("numeric", "ID-like, kept as a number: its order follows the target "
                                           f"(|Spearman| {signal:.2f} on the training rows), e.g. IDs issued over time")
            return decision("dropped", "ID-like: a distinct integer in every row")
        if n_unique == 2 and set(np.unique(non_missing.to_numpy(dtype=float))) <= {0.0, 1.0}:
            return decision("boolean", "numbers with only the values 0 and 1")
        return decision("numeric", "numeric dtype")
    return _decide_text(column, non_missing, n_unique, decision)


# An ID-like integer column is kept when its rank correlation with the target (or with one class) reaches this, and
# is far beyond chance (5 standard errors): IDs handed out in order often track time, and time the target.
_ID_SIGNAL = 0.1


def _order_signal(values: pd.Series, target: pd.Series | None) -> float:
    """Largest |Spearman correlation| between ``values`` and the target, or an indicator of one of its classes."""
    if target is None:
        return 0.0
    y = target.loc[values.index]
    known = ~missing_mask(y)
    if known.sum() < 50:
        return 0.0
    ranks = pd.Series(values[known].to_numpy(dtype=float)).rank().to_numpy()
    y = y[known]
    if pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y.dtype) and y.nunique() > 20:
        series = [y.to_numpy(dtype=float)]
    else:  # classes: one indicator per frequent class
        labels = y.astype(str)
        series = [(labels == level).to_numpy(dtype=float) for level in labels.value_counts().index[:20]]
    best = 0.0
    for s in series:
        if np.ptp(s) == 0:
            continue
        r = np.corrcoef(ranks, pd.Series(s).rank().to_numpy())[0, 1]
        if np.isfinite(r):
            best = max(best, abs(float(r)))
    return best


def _looks_like_id(name: str, values: pd.Series, n_unique: int, n: int, population: int) -> bool:
    if not pd.api.types.is_integer_dtype(values.dtype) and not np.all(np.mod(values.to_numpy(dtype=float), 1) == 0):
        return False
    if n_unique < max(50, 0.98 * n) or n_unique != len(values):
        return False
    if _ID_NAME.search(name):
        return True
    # a row counter 0..N-1 or similar: distinct integers packed into a range no wider than the rows they
    # count (on every row that means consecutive; on a sample, within the population's span)
    ordered = values.to_numpy(dtype=float)
    return bool(ordered.max() - ordered.min() + 1 <= population)


_DATE_PARTS = ("calendar parts (year, month, day, weekday, day of year; hour and minute where times vary), "
               "days since the earliest training date, and a missing indicator")


def _encoding(n_unique: int) -> str:
    """How a categorical column of ``n_unique`` levels is encoded, in words."""
    if n_unique > ONE_HOT_MAX_LEVELS:
        return (f": more than {ONE_HOT_MAX_LEVELS} levels, so frequency and out-of-fold target encoding "
                "instead of one-hot")
    return ": one-hot"


def text_components(n_rows: int) -> int:
    """SVD components kept per free-text column for ``n_rows`` training rows (2 to :data:`TEXT_MAX_COMPONENTS`).

    About a third of the square root of the rows: a small table cannot estimate
    many directions of its vocabulary, and a narrow block keeps the matrix dense
    and small (on a loan table's job titles, 16 components of weak text already
    cost gradient boosting 0.009 R²; the supervised signal of the words comes
    from the text's own out-of-fold model, see ``automl.preprocess.TextFeatures``).
    """
    return int(np.clip(int(np.sqrt(max(n_rows, 1)) / 3), 2, TEXT_MAX_COMPONENTS))


@dataclass
class TextStats:
    """What the values of a text column look like (on a sample of at most 2,000 of them).

    Attributes
    ----------
    tokens : float
        Mean number of whitespace-separated tokens per value.
    length : float
        Mean number of characters per value.
    unique_share : float
        Distinct values over non-missing values.
    shared_words : int
        Distinct words (two or more letters) found in at least two values but
        in no more than 95% of them: the vocabulary that can tell rows apart.
    """

    tokens: float
    length: float
    unique_share: float
    shared_words: int

    @classmethod
    def of(cls, text: pd.Series, n_unique: int, n_values: int) -> "TextStats":
        """Measure ``text`` (non-missing values as ``str``)."""
        tokens = text.str.split().str.len()
        document_frequency: dict[str, int] = {}
        for value in text.str.lower():
            for word in set(_WORD.findall(value)):
                document_frequency[word] = document_frequency.get(word, 0) + 1
        ceiling = 0.95 * len(text)
        shared = sum(1 for count in document_frequency.values() if 2 <= count <= ceiling)
        return cls(tokens=float(tokens.mean()), length=float(text.str.len().mean()),
                   unique_share=n_unique / max(n_values, 1), shared_words=shared)

    @property
    def reads_as_text(self) -> bool:
        """Several words per value on average, and words that recur in some values and not in others.

        The second rule separates text from codes and IDs with separators
        (``'INV-0001'``, UUIDs: no shared letter words) and from templates whose
        only varying part is a number (``'note number 17 about the service'``).
        """
        return self.tokens >= 1.5 and self.shared_words >= 5


def _decide_text(column: pd.Series, values: pd.Series, n_unique: int, decision) -> ColumnDecision:
    sample = values.sample(min(len(values), 2000), random_state=0) if len(values) > 2000 else values
    as_text = sample.astype(str)
    numbers = pd.to_numeric(as_text.str.strip(), errors="coerce")
    if numbers.notna().mean() >= 0.95:
        if n_unique == 2 and set(numbers.dropna().unique()) <= {0.0, 1.0}:
            return decision("boolean", "text holding only 0 and 1")
        return decision("numeric", "text that reads as numbers (unreadable values become missing)")
    lowered = set(as_text.str.strip().str.lower().unique())
    if n_unique == 2 and lowered <= (_TRUE | _FALSE):
        return decision("boolean", "text holding true/false values")
    if as_text.str.contains(r"\d", regex=True).mean() >= 0.95 and as_text.str.len().median() >= 6:
        dayfirst = reads_day_first(as_text.str.strip())
        parsed = parse_dates(as_text.str.strip(), dayfirst=dayfirst)
        if parsed.notna().mean() >= 0.95:
            dated = decision("datetime", f"text that reads as dates{' (day first)' if dayfirst else ''}: "
                                         f"{_DATE_PARTS}")
            dated.dayfirst = dayfirst
            return dated
    stats = TextStats.of(as_text.str.strip(), n_unique, len(values))
    if n_unique > ONE_HOT_MAX_LEVELS and stats.reads_as_text and stats.unique_share > 0.2:
        return decision("text", f"free text ({n_unique} distinct values, {stats.tokens:.1f} words each on "
                                f"average): TF-IDF of words and character n-grams, reduced by SVD to at most "
                                f"{text_components(len(values))} components (and, with a target, an out-of-fold "
                                "linear model on them), plus its word count")
    # an ID is distinct in (nearly) every row; levels that repeat, however many, are categories
    if n_unique > 50 and stats.unique_share > 0.9:
        if stats.tokens >= 1.5 and stats.length > 25:
            return decision("dropped", f"free text whose recurring words are the same in (nearly) every value: "
                                       f"{n_unique} distinct values that differ only in numbers or one-off words")
        return decision("dropped", f"ID-like: {n_unique} distinct values in {len(values)} rows")
    return decision("categorical", f"text with {n_unique} levels{_encoding(n_unique)}")
