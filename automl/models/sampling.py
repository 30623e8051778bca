"""Search on a row sample of large frames, refit on every row (FLAML's idea, one step of its schedule).

On a large frame a boosting family learns most of what it can tell about a
configuration from a few hundred thousand rows: searching on a sample lets it
try several configurations in the time one full-size fit would take, and keeps
each fit's own copies of the matrix (scikit-learn's float64 conversion,
LightGBM's and XGBoost's bins, CatBoost's pool) a fraction of the frame. The
model a user keeps is the refit of the winner on every labelled row
(:mod:`automl.refit`), so the sample costs no rows in the end.

:func:`search_sample` cuts the sample; :class:`SampledSearch` (a mixin of the
boosting families and scikit-learn's histogram gradient boosting) searches on
it and records its size in each candidate's ``info`` (``search_rows``,
``train_rows``), so that the refit's time is estimated from the rows it will
really train on (:func:`refit_row_scale`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..data import sample_rows
from .base import PreparedData

__all__ = ["SEARCH_ROWS", "SampledSearch", "refit_row_scale", "refit_sample", "sample_info", "search_sample"]

# Training rows above which the boosting families search on a sample of this many. Measured on the 1M x 50 frame
# of benchmarks/memory.py (docs/performance.md, "Peak memory"): at 250,000 rows LightGBM's 100 rounds take about a
# quarter of the full-size time, and scikit-learn's float64 copy is 0.27x the frame instead of 1.0x.
SEARCH_ROWS = 250_000


# Rows copied at a time when a sample is gathered into another dtype (bounds the temporary float32 block).
_CHUNK = 50_000


def search_sample(data: PreparedData, max_rows: int | None = SEARCH_ROWS, dtype=np.float32) -> PreparedData:
    """``data`` with at most ``max_rows`` of its training rows (a seeded sample keeping every class), or ``data``.

    The validation rows are unchanged, so configurations are compared on the same rows as every other
    family's. The sample is a copy of the sampled rows only (``max_rows`` x features), not of the matrix.

    Parameters
    ----------
    data : PreparedData
    max_rows : int or None, default=:data:`SEARCH_ROWS`
        None: never sample.
    dtype : numpy dtype, default=float32
        Of the sample's ``X_train``: float64 for an estimator that would convert it anyway
        (scikit-learn's histogram gradient boosting), gathered in chunks so that no float32 copy
        of the sample exists beside it.

    Returns
    -------
    PreparedData
    """
    n = len(data.y_train)
    if max_rows is None or n <= max_rows:
        return data
    rows = sample_rows(np.arange(n), data.y_train, int(max_rows), seed=data.seed, task=data.task)
    X = np.empty((len(rows), data.X_train.shape[1]), dtype=dtype)
    for start in range(0, len(rows), _CHUNK):
        X[start:start + _CHUNK] = data.X_train[rows[start:start + _CHUNK]]
    return dataclasses.replace(
        data, X_train=X, y_train=data.y_train[rows],
        sample_weight=None if data.sample_weight is None else data.sample_weight[rows])


def refit_sample(data: PreparedData, search_rows: int | None, share: float = 0.5, dtype=np.float64) -> PreparedData:
    """The rows a family that copies its input to float64 refits on: ``share`` of a large frame's, else all.

    Above ``search_rows`` training rows, a seeded sample of ``share`` of them (at least ``search_rows``)
    gathered as ``dtype``. With half the rows, a float64 copy takes as much memory as the float32
    matrix of every row, where a copy of all of them would take twice as much and pass 3x the frame
    (docs/performance.md, "Peak memory"). ``search_rows`` None: all rows.
    """
    n = len(data.y_train)
    if search_rows is None or n <= search_rows or share >= 1.0:
        return data
    return search_sample(data, max(int(search_rows), int(n * share)), dtype=dtype)


def sample_info(searched: PreparedData, full: PreparedData) -> dict[str, Any]:
    """``{"search_rows": ..., "train_rows": ...}`` when ``searched`` is a sample of ``full``, else ``{}``."""
    if len(searched.y_train) == len(full.y_train):
        return {}
    return {"search_rows": int(len(searched.y_train)), "train_rows": int(len(full.y_train))}


def refit_row_scale(info: dict[str, Any]) -> float:
    """Training rows over searched rows of a candidate (1.0 unless it was searched on a sample)."""
    searched, trained = info.get("search_rows"), info.get("train_rows")
    return float(trained) / float(searched) if searched and trained else 1.0


class SampledSearch:
    """Mixin for a :class:`~automl.models.base.ModelFamily`: search on a sample of large frames, refit on all rows.

    Put it before the family's base class (``class F(SampledSearch, SklearnFamily)``): its :meth:`fit` hands
    :func:`search_sample` of the data to the base class's search, and :meth:`refit_seconds` scales the refit's
    estimated time by the rows the sample left out. ``search_rows`` (class or instance attribute) sets the
    threshold; None never samples. ``sample_dtype`` is the sample's dtype (float32, or float64 for an
    estimator that would convert it).
    """

    search_rows: int | None = SEARCH_ROWS
    # dtype of the sample's rows: float64 for an estimator that would convert float32 itself
    sample_dtype = np.float32
    # share of a large frame's labelled rows that the refit trains on (see refit_sample)
    refit_share = 1.0

    def fit(self, data: PreparedData, budget, hooks):  # noqa: D102
        searched = search_sample(data, self.search_rows, dtype=self.sample_dtype)
        outcome = super().fit(searched, budget, hooks)
        sampled = sample_info(searched, data)
        del searched  # the sample is not needed once the candidates are fitted
        for candidate in outcome.candidates:
            candidate.info.update(sampled)
        if sampled and outcome.trials is not None and len(outcome.trials):
            outcome.trials["search_rows"] = sampled["search_rows"]
        return outcome

    def refit_seconds(self, candidate, row_ratio: float) -> float:  # noqa: D102
        # a candidate searched on a sample is refit on every row (or refit_share of them): its time grows with them
        scale = refit_row_scale(candidate.info)
        if scale > 1.0:
            scale = max(1.0, scale * self.refit_share)
        return super().refit_seconds(candidate, row_ratio * scale)
