"""Splits and the :class:`Dataset` every later stage reads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..errors import DataWarning, InputError, warn
from .checks import MIN_ROWS
from .schema import Schema, infer_schema


@dataclass
class Dataset:
    """Training data split three ways, with its schema and encoded target.

    Attributes
    ----------
    frame : DataFrame
        The feature columns of every row kept (target removed), in input order.
    y : ndarray
        Encoded target: class codes ``0..K-1`` for classification, floats for regression.
    target : str
    task : {'binary', 'multiclass', 'regression'}
    classes : ndarray or None
        Original class labels, indexed by code.
    schema : Schema
        Column decisions, inferred on the training rows only.
    train, val, test : ndarray of int
        Row positions of each split. The test rows are read only to score the final leaderboard.
    """

    frame: pd.DataFrame
    y: np.ndarray
    target: str
    task: str
    classes: np.ndarray | None
    schema: Schema
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    @property
    def sizes(self) -> dict[str, int]:
        """Row counts per split."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def encode_target(y: pd.Series, task: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Encode the target: class codes and labels for classification, float for regression."""
    if task == "regression":
        values = pd.to_numeric(y, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        return values, None
    values = y.astype("object").to_numpy()
    try:
        classes, codes = np.unique(values, return_inverse=True)
    except TypeError:  # mixed label types (e.g. 1 and "a"): compare as text
        classes, codes = np.unique(values.astype(str), return_inverse=True)
    # a typed array (int64, str, bool) rather than object, so predictions compare like the user's labels
    return codes.astype(np.int64), np.array(classes.tolist())


def split_rows(y: np.ndarray, task: str, *, test_size: float, val_size: float, seed: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded train/validation/test row positions, stratified for classification when possible."""
    n = len(y)
    rows = np.arange(n)
    n_test = max(1, int(round(test_size * n)))
    n_val = max(1, int(round(val_size * n)))
    if n - n_test - n_val < max(5, n // 10):
        raise InputError(
            f"Too few rows ({n}) for train/validation/test splits of sizes "
            f"test_size={test_size}, val_size={val_size}; pass at least {MIN_ROWS} rows or smaller split sizes."
        )
    stratify = None
    if task != "regression":
        counts = np.bincount(y)
        n_classes = int((counts > 0).sum())
        if counts.min() >= 3 and min(n_test, n_val) >= n_classes:
            stratify = y
        elif counts.min() < 3:
            rare = int((counts < 3).sum())
            warn(f"{rare} class(es) have fewer than 3 rows, so the splits are not stratified; "
                 "some classes may be missing from the validation or test rows.", DataWarning)
        else:  # a stratified split needs at least one row per class in each held-out part
            warn(f"The {n_classes} classes do not fit in validation and test splits of {n_val} and {n_test} "
                 "rows, so the splits are not stratified; some classes may be missing from them.", DataWarning)
    rest, test = train_test_split(rows, test_size=n_test, random_state=seed, stratify=stratify)
    strat_rest = None if stratify is None else y[rest]
    train, val = train_test_split(rest, test_size=n_val, random_state=seed + 1, stratify=strat_rest)
    if task != "regression":
        train, val, test = _every_class_in_train(y, train, val, test)
    return np.sort(train), np.sort(val), np.sort(test)


def _every_class_in_train(y: np.ndarray, train: np.ndarray, val: np.ndarray, test: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Swap rows so that every class has at least one training row.

    A class missing from the training rows would be unknown to every model, whose
    probabilities would then lack its column. Each missing class takes one row
    from validation or test in exchange for a row of the largest training class,
    so the split sizes stay the same.
    """
    train, held = list(train), {"val": list(val), "test": list(test)}
    for cls in np.setdiff1d(np.unique(y), y[train]):
        name = "val" if np.any(y[held["val"]] == cls) else "test"
        incoming = next(r for r in held[name] if y[r] == cls)
        counts = np.bincount(y[train])
        if counts.max() < 2:
            n_classes = len(np.unique(y))
            raise InputError(
                f"The target has {n_classes} classes but the training split holds only {len(train)} rows, "
                "too few for one row per class. Pass more rows, merge rare classes, or use task='regression' "
                "for a numeric target."
            )
        outgoing = next(r for r in reversed(train) if y[r] == counts.argmax())
        train.remove(outgoing)
        held[name].remove(incoming)
        train.append(incoming)
        held[name].append(outgoing)
    return np.asarray(train), np.asarray(held["val"]), np.asarray(held["test"])


def sample_rows(rows: np.ndarray, y: np.ndarray, size: int, *, seed: int, task: str) -> np.ndarray:
    """A seeded sample of ``size`` of ``rows`` (sorted) that keeps at least one row of every class.

    Parameters
    ----------
    rows : ndarray of int
        Row positions to sample from.
    y : ndarray
        Encoded target of all rows (indexed by position).
    size : int
    seed : int
    task : str
        For classification, the first row of each class is kept whatever the draw.
    """
    rng = np.random.default_rng(seed)
    if size >= len(rows):
        return np.sort(rows)
    if task == "regression":
        return np.sort(rng.choice(rows, size, replace=False))
    _, first = np.unique(y[rows], return_index=True)
    keep = rows[first]
    others = np.setdiff1d(rows, keep)
    extra = rng.choice(others, max(0, size - len(keep)), replace=False)
    return np.sort(np.concatenate([keep, extra]))


# Column types are inferred on at most this many training rows.
SCHEMA_ROWS = 200_000
# Rows a held-out split needs for a steady score (the accuracy of 10,000 rows varies by about +-0.005).
HOLDOUT_ROWS = 10_000


def holdout_share(n_rows: int, share: float | str = "auto") -> float:
    """The share of ``n_rows`` held out for validation or test.

    ``'auto'``: 20% of small and mid-sized tables, shrinking on large ones to
    about :data:`HOLDOUT_ROWS` rows (never below 5%), so that large tables
    train on more rows instead of scoring on more than a steady score needs.

    Examples
    --------
    >>> holdout_share(5_000), holdout_share(100_000), holdout_share(1_000_000)
    (0.2, 0.1, 0.05)
    """
    if share != "auto":
        return float(share)
    return float(min(0.2, max(0.05, HOLDOUT_ROWS / max(n_rows, 1))))


def make_dataset(frame: pd.DataFrame, target: str, task: str, *, test_size: float = 0.2,
                 val_size: float = 0.2, seed: int = 0) -> Dataset:
    """Encode the target, split the rows and infer the schema on the training rows.

    Parameters
    ----------
    frame : DataFrame
        Checked input (see :func:`automl.data.read_table`) whose target has no missing values.
    target : str
    task : str
    test_size, val_size : float, default=0.2
        Shares of all rows held out for the final test and for validation.
    seed : int, default=0
    """
    if len(frame) < MIN_ROWS:
        raise InputError(f"Only {len(frame)} rows with a target value; automl needs at least {MIN_ROWS} "
                         "to train, validate and test.")
    y, classes = encode_target(frame[target], task)
    train, val, test = split_rows(y, task, test_size=test_size, val_size=val_size, seed=seed)
    features = frame.drop(columns=[target])
    # column types show in a sample as well as in every row; a sample spares a copy of the training rows
    typed_on = train if len(train) <= SCHEMA_ROWS else np.sort(
        np.random.default_rng(seed).choice(train, SCHEMA_ROWS, replace=False))
    # the target comes along so that an ID-like column whose order follows it is kept (training rows only)
    schema = infer_schema(frame.iloc[typed_on], target=target, population=len(features))
    schema.target = target
    return Dataset(frame=features, y=y, target=target, task=task, classes=classes, schema=schema,
                   train=train, val=val, test=test)
