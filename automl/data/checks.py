"""Input checks at the edge: read the user's data and validate arguments once.

Everything downstream can assume a non-empty DataFrame with unique string
column names and a usable target.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..errors import DataWarning, InputError, warn
from .schema import missing_mask

TASKS = ("binary", "multiclass", "regression")
MIN_ROWS = 20


def read_table(data: Any, *, argument: str = "data") -> pd.DataFrame:
    """Return ``data`` as a DataFrame with unique string column names.

    Parameters
    ----------
    data : DataFrame or str or PathLike
        A pandas DataFrame, or the path of a ``.csv``, ``.parquet``/``.pq``,
        ``.json`` or ``.feather`` file.
    argument : str, default="data"
        Name used in error messages.
    """
    if isinstance(data, (str, os.PathLike)):
        frame = _read_path(Path(data), argument)
        _release_arrow_memory()
    elif isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, (pd.Series, np.ndarray, list, dict)):
        raise InputError(
            f"`{argument}` must be a pandas DataFrame or a path to a CSV/Parquet file, "
            f"got {type(data).__name__}. Wrap arrays with pd.DataFrame(...) and name the columns."
        )
    else:
        raise InputError(
            f"`{argument}` must be a pandas DataFrame or a path to a CSV/Parquet file, "
            f"got {type(data).__name__}."
        )
    if frame.shape[1] == 0:
        raise InputError(f"`{argument}` has no columns. Pass a DataFrame with feature columns and a target column.")
    if frame.shape[0] == 0:
        raise InputError(f"`{argument}` is empty (0 rows). Pass a DataFrame with at least {MIN_ROWS} rows.")
    return _normalise_columns(frame, argument)


def _release_arrow_memory() -> None:
    """Hand Arrow's cached buffers back to the system after a read.

    Arrow's allocator keeps freed buffers for reuse; after converting a large
    file they amount to about half the frame, held for the whole fit.
    """
    try:
        import pyarrow
    except ImportError:
        return
    pyarrow.default_memory_pool().release_unused()


def _read_path(path: Path, argument: str) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"`{argument}` file {str(path)!r} does not exist. Check the path.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            sep = "\t" if suffix == ".tsv" else None
            # pyarrow is much faster and leaner on large files; the python engine sniffs separators.
            if sep is None:
                try:
                    return pd.read_csv(path, engine="pyarrow")
                except Exception:  # noqa: BLE001 - fall back to the sniffing parser
                    return pd.read_csv(path, sep=None, engine="python")
            return pd.read_csv(path, sep=sep)
        if suffix in (".parquet", ".pq"):
            # Arrow frees each column's buffers once converted: the peak is about the frame, not twice it
            return pd.read_parquet(path, engine="pyarrow",
                                   to_pandas_kwargs={"split_blocks": True, "self_destruct": True})
        if suffix == ".feather":
            return pd.read_feather(path)
        if suffix == ".json":
            return pd.read_json(path)
    except (ValueError, OSError) as exc:
        raise InputError(f"Could not read `{argument}` file {str(path)!r}: {exc}") from exc
    raise InputError(
        f"`{argument}` file {str(path)!r} has an unsupported extension {suffix!r}; "
        "use .csv, .tsv, .parquet, .feather or .json."
    )


def _normalise_columns(frame: pd.DataFrame, argument: str) -> pd.DataFrame:
    if isinstance(frame.columns, pd.MultiIndex):
        raise InputError(
            f"`{argument}` has MultiIndex columns; flatten them first, e.g. "
            "df.columns = ['_'.join(map(str, c)) for c in df.columns]."
        )
    names = [str(c) for c in frame.columns]
    seen: dict[str, int] = {}
    duplicates = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        if seen[name] == 2:
            duplicates.append(name)
    if duplicates:
        raise InputError(
            f"`{argument}` has duplicate column names {duplicates[:5]}; rename them so each column is unique "
            "(e.g. df.columns = pd.io.common.dedup_names(df.columns, False) or df.loc[:, ~df.columns.duplicated()])."
        )
    if list(frame.columns) != names:
        frame = frame.copy(deep=False)
        frame.columns = names
    return frame


def check_column(frame: pd.DataFrame, column: Any, *, argument: str, role: str) -> str:
    """Return ``column`` as a name present in ``frame`` beside at least one other column.

    Raises an InputError naming ``argument`` that suggests close column names
    (case-insensitive matches first) when it is absent.
    """
    if isinstance(column, bool) or not isinstance(column, (str, int)):
        raise InputError(f"`{argument}` must be a column name (str), got {type(column).__name__}.")
    name = str(column)
    if name not in frame.columns:
        close = [c for c in frame.columns if c.lower() == name.lower()]
        close = close or difflib.get_close_matches(name, list(frame.columns), n=3)
        hint = f" Did you mean {close}?" if close else f" Available columns: {list(frame.columns)[:20]}."
        raise InputError(f"{role} column {name!r} is not in the data.{hint}")
    if frame.shape[1] < 2:
        raise InputError(f"The data has only the {role.lower()} column {name!r}; add at least one feature column.")
    return name


def check_target(frame: pd.DataFrame, target: Any) -> str:
    """Return the target column's name, or raise an InputError that suggests one."""
    return check_column(frame, target, argument="target", role="Target")


def drop_missing_target(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Drop rows whose target is missing (NA, infinite, or text such as '' or 'nan'), warning with the count."""
    y = frame[target]
    # pandas 3 (copy-on-write) hands out read-only views: build new arrays, never update in place
    missing = missing_mask(y)
    if pd.api.types.is_float_dtype(y.dtype):
        missing = missing | ~np.isfinite(y.to_numpy(dtype=float, na_value=np.nan))
    n_missing = int(missing.sum())
    if n_missing == len(frame):
        raise InputError(f"Target column {target!r} is missing in every row; there is nothing to learn from.")
    if n_missing:
        warn(
            f"Dropped {n_missing} of {len(frame)} rows whose target {target!r} is missing.",
            DataWarning,
        )
        frame = frame.loc[~missing]
    return frame


def infer_task(y: pd.Series, task: str | None = None) -> str:
    """Infer ``'binary'``, ``'multiclass'`` or ``'regression'`` from the target.

    Text, categorical and boolean targets are classification. Numeric targets
    are classification when they take few integer values (at most 20 distinct
    values, and fewer than 5% of the rows); otherwise regression.
    """
    name = y.name
    n_unique = int(y.nunique(dropna=True))
    if task is not None:
        aliases = {"classification": None, "classifier": None, "regressor": "regression", "multi": "multiclass"}
        task = aliases.get(task, task)
        if task is None:
            task = "binary" if n_unique == 2 else "multiclass"
        if task not in TASKS:
            raise InputError(f"`task` must be one of {TASKS + ('classification',)}, got {task!r}.")
        if task != "regression":
            _check_classes(y, n_unique)
            if task == "binary" and n_unique != 2:
                raise InputError(
                    f"task='binary' but target {name!r} has {n_unique} classes; use task='multiclass'."
                )
        elif not _is_numeric(y):
            raise InputError(
                f"task='regression' needs a numeric target, but {name!r} has dtype {y.dtype}; "
                "convert it with pd.to_numeric or choose a classification task."
            )
        return task
    if _is_numeric(y) and not pd.api.types.is_bool_dtype(y.dtype):
        values = y.dropna().to_numpy(dtype=float)
        integer_valued = bool(np.all(np.isfinite(values)) and np.all(np.mod(values, 1) == 0))
        if not (integer_valued and n_unique <= 20 and n_unique < max(3, 0.05 * len(values))):
            if n_unique < 2:
                raise InputError(f"Target column {name!r} has a single value; there is nothing to predict.")
            return "regression"
    _check_classes(y, n_unique)
    return "binary" if n_unique == 2 else "multiclass"


def _is_numeric(y: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(y.dtype)


def _check_classes(y: pd.Series, n_unique: int) -> None:
    if n_unique < 2:
        only = y.dropna().iloc[0] if n_unique else None
        raise InputError(
            f"Target column {y.name!r} has only one class ({only!r}); a classifier needs at least two. "
            "Check the target column or filter of the data."
        )


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """Raise an InputError unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InputError(f"`{name}` must be one of {choices}, got {value!r}.{hint}")
    return value


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                 integer: bool = False, allow_none: bool = False) -> Any:
    """Raise an InputError unless ``value`` is a number in ``[low, high]``."""
    if value is None and allow_none:
        return None
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "an integer" if integer else "a number"
        raise InputError(f"`{name}` must be {kind}, got {value!r}.")
    if not np.isfinite(value):
        raise InputError(f"`{name}` must be finite, got {value!r}.")
    if low is not None and value < low:
        raise InputError(f"`{name}` must be >= {low}, got {value!r}.")
    if high is not None and value > high:
        raise InputError(f"`{name}` must be <= {high}, got {value!r}.")
    return value
