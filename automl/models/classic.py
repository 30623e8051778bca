"""Classic scikit-learn families: linear, random forest, histogram gradient boosting.

Each family fits its proven default first (a warm start), then random
configurations from a search space sized to the data while its share of the
budget lasts, and offers the configuration with the best validation score --
and, when that one was found by the random search, the best of its default
configurations too (``<family>_portfolio``, see :meth:`SklearnFamily.fit`).
"""

from __future__ import annotations

import itertools
import time
import warnings
from typing import Any, Iterator

import numpy as np
import pandas as pd
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from threadpoolctl import threadpool_limits

from ..budget import Budget
from ..parallel import monotonic_deadline, run_tasks, slots, wall_deadline
from .base import Candidate, FamilyResult, ModelFamily, PreparedData
from .sampling import SampledSearch, refit_sample

# Start another configuration only while the typical fit so far, times this, still fits.
_SAFETY = 1.2
# Name suffix of a family's best default configuration when it is offered beside the search's best.
PORTFOLIO_SUFFIX = "_portfolio"
# Iterative learners grow in chunks between deadline checks; a chunk never exceeds this share of what is left.
_CHUNK_SHARE = 0.8


def grow_within(estimator, attr: str, target: int, first: int, deadline: float, fit) -> bool:
    """Fit a warm-startable ``estimator`` in growing chunks of ``attr`` until ``target`` or the deadline.

    Each chunk doubles the size (``first``, ``2 * first``, ...) and is sized down
    from the time the previous chunks took per unit, so that no fit runs far past
    ``deadline``: a slow configuration ends smaller instead of overrunning the
    budget. Returns True when it stopped for the deadline before ``target``.

    Parameters
    ----------
    estimator : sklearn estimator with ``warm_start``
    attr : str
        ``"max_iter"`` (boosting) or ``"n_estimators"`` (forests).
    target, first : int
        Final and first size.
    deadline : float
        ``time.monotonic()`` value not to pass.
    fit : callable
        ``fit(estimator)`` fits the estimator in place.
    """
    size, per_unit, done = min(first, target), None, 0
    while True:
        setattr(estimator, attr, size)
        started = time.monotonic()
        fit(estimator)
        grown = _grown(estimator, attr, size)
        if grown > done:
            per_unit = (time.monotonic() - started) / (grown - done)
        done = grown
        if grown < size or size >= target:  # early stopping ended it, or it is complete
            return False
        left = deadline - time.monotonic()
        affordable = int(_CHUNK_SHARE * left / per_unit) if per_unit else target - size
        step = min(size, target - size, affordable)
        if step < min(max(1, size // 10), target - size):  # out of time: a chunk that small would not matter
            return True
        size += step


def _weights(data: PreparedData, validation: bool = False) -> dict[str, Any]:
    """``sample_weight`` keyword arguments for a scikit-learn ``fit`` when the user gave row weights.

    Class weights travel separately, as the estimators' own ``class_weight``; scikit-learn multiplies the two.
    """
    if data.sample_weight is None:
        return {}
    kwargs = {"sample_weight": data.sample_weight}
    if validation and data.sample_weight_val is not None and len(data.y_val):
        kwargs["sample_weight_val"] = data.sample_weight_val
    return kwargs


def _grown(estimator, attr: str, size: int) -> int:
    if attr == "max_iter":
        return int(getattr(estimator, "n_iter_", size))
    return len(getattr(estimator, "estimators_", [])) or size


class SklearnFamily(ModelFamily):
    """A family searched over a small space of scikit-learn estimator settings.

    Subclasses implement :meth:`make_estimator`, :meth:`default_configs` and
    :meth:`sample_config`, and may override :meth:`fit_one` to fit within a deadline.

    Parameters
    ----------
    max_configs : int, optional
        Upper bound on configurations tried, whatever the budget (default: the
        family's ``default_max_configs``).
    """

    default_max_configs = 20
    # the searched fit grew in warm-started chunks and scored validation rows; the refit does neither
    # (measured refit seconds per searched second and unit of row ratio: boosting ~0.6, others ~1)
    refit_cost_factor = 1.0
    # trials and refits are picklable tasks over plain data: a joblib backend may run them in other processes
    # or on a cluster (automl.parallel)
    runs_anywhere = True

    def __init__(self, max_configs: int | None = None):
        self.max_configs = max_configs if max_configs is not None else self.default_max_configs

    def make_estimator(self, params: dict[str, Any], data: PreparedData):
        """An unfitted estimator for ``params``."""
        raise NotImplementedError

    def default_configs(self, data: PreparedData) -> list[dict[str, Any]]:
        """Configurations tried first, best guess first."""
        raise NotImplementedError

    def sample_config(self, rng: np.random.Generator, data: PreparedData) -> dict[str, Any]:
        """One random configuration from the family's space."""
        raise NotImplementedError

    def fit_one(self, estimator, data: PreparedData, deadline: float) -> dict[str, Any]:
        """Fit ``estimator`` on the training rows, trying to end by ``deadline``; returns info to record."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(data.X_train, data.y_train, **_weights(data))
        return {}

    def fit_final(self, estimator, candidate: Candidate, data: PreparedData, deadline: float) -> bool:
        """Fit ``estimator`` as the searched ``candidate`` was, on all of ``data``; False if cut short."""
        self.fit_one(estimator, data, deadline)
        return True

    def refit(self, candidate: Candidate, data: PreparedData, deadline: float):  # noqa: D102
        estimator = self.make_estimator(candidate.params, data)
        try:
            complete = self.fit_final(estimator, candidate, data, deadline)
        except (ValueError, MemoryError, FloatingPointError):
            return None
        return estimator if complete else None

    def fit(self, data: PreparedData, budget: Budget, hooks) -> FamilyResult:
        """Try the default configurations, then random ones, while the budget lasts.

        Offers the configuration with the best validation score and, when the random
        search found it, the best default configuration as ``<family>_portfolio``: the
        longer the search, the more configurations are compared on the same
        validation rows and the more the winner owes to their noise. Bagging then
        ranks both on out-of-fold predictions over every development row (five times
        the rows), and the ensemble may use both. Measured on credit_scoring
        (4,454 rows, four outer splits, accuracy at the 0.5 cut): with only the holdout
        winner every 120 s fit scored below the 30 s fit of the same split (-0.003 to
        -0.012, mean -0.006); with both, 120 s minus 30 s was -0.007 to +0.003, mean
        -0.0005 (docs/performance.md).
        """
        # Configurations run through automl.parallel: one at a time in this process by default (the budget is
        # checked before each), or in batches as large as the joblib backend has workers (a Dask or Ray cluster),
        # each task stopping at the family's deadline. The configurations and their order do not depend on
        # where they ran, so with the budget not binding the results are the same.
        configs = self._configs(data)
        # trial numbers below this are the default configurations (a repeated one still uses up its number)
        n_defaults = len(self.default_configs(data))
        width = slots()
        best: dict[bool, tuple[float, Candidate]] = {}  # is a default configuration -> (score, candidate)
        records = []
        fit_times: list[float] = []
        while True:
            if records and (budget.expired() or budget.remaining() < float(np.median(fit_times)) * _SAFETY):
                break
            batch = list(itertools.islice(configs, width))
            if not batch:
                break
            deadline = wall_deadline(budget.deadline)
            outcomes = run_tasks(_run_config, [(self, params, data, deadline) for _, params in batch])
            for (trial, params), (status, value, error, info, estimator, seconds) in zip(batch, outcomes):
                fit_times.append(seconds)
                record = {"family": self.name, "trial": trial, "score": value, "status": status,
                          "params": dict(params), "time_s": seconds, "error": error, **info}
                records.append(record)
                hooks.on_trial_end(record)
                default = trial < n_defaults
                if status == "ok" and np.isfinite(value) and value > best.get(default, (-np.inf, None))[0]:
                    best[default] = (value, Candidate(self.name, self.name, dict(params), estimator,
                                                      fit_time_s=seconds, info=dict(info)))
        default, searched = best.get(True), best.get(False)
        if searched is not None and (default is None or searched[0] > default[0]):
            candidates = [searched[1]]
            if default is not None:  # the search beat the defaults: the best of them stays a candidate
                default[1].name = self.name + PORTFOLIO_SUFFIX
                candidates.append(default[1])
        else:  # a default configuration is the best (ties included): nothing to add
            candidates = [] if default is None else [default[1]]
        for candidate in candidates:
            candidate.info["configs_tried"] = len(records)
        return FamilyResult(candidates, pd.DataFrame(records))

    def _configs(self, data: PreparedData) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(trial, params)``: the defaults, then random configurations, each once, within ``max_configs``.

        Drawn lazily from a generator seeded by ``data.seed`` alone, so the
        sequence is the same wherever and however fast the trials run. A repeated
        configuration is skipped but uses up its trial number.
        """
        rng = np.random.default_rng(data.seed)
        queue = list(self.default_configs(data))
        seen: set[str] = set()
        for trial in range(self.max_configs):
            params = queue.pop(0) if queue else self.sample_config(rng, data)
            key = repr(sorted(params.items()))
            if key in seen:
                continue
            seen.add(key)
            yield trial, params


def _run_config(family: SklearnFamily, params: dict[str, Any], data: PreparedData, deadline: float):
    """Fit and score one configuration: the task that :meth:`SklearnFamily.fit` hands to ``run_tasks``.

    ``deadline`` is a wall-clock (``time.time()``) moment, so that it holds in
    another process or on another machine. Returns ``(status, score, error,
    info, estimator, seconds)``; a configuration that fails with a ValueError,
    MemoryError or FloatingPointError is recorded as failed (one bad
    configuration must not end the search).
    """
    started = time.perf_counter()
    status, value, error, info = "ok", float("nan"), "", {}
    try:
        estimator = family.make_estimator(params, data)
        info = family.fit_one(estimator, data, monotonic_deadline(deadline))
        value = data.val_score(estimator)
    except (ValueError, MemoryError, FloatingPointError) as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        estimator = None
    return status, value, error, info, estimator, time.perf_counter() - started


class LinearFamily(SklearnFamily):
    """Logistic regression (classification) or ridge regression, with the penalty searched."""

    name = "linear"
    weight = 0.5

    def fit_one(self, estimator, data, deadline):  # noqa: D102
        # These solvers make matrix-vector products: BLAS threads cost more to wake than they save, and
        # on a shared machine spinning BLAS threads made one fit 20x slower.
        with threadpool_limits(1, user_api="blas"):
            return super().fit_one(estimator, data, deadline)

    def make_estimator(self, params, data):  # noqa: D102
        if data.is_classification:
            # a capped iteration count bounds the fit time; near-converged weights predict as well
            return LogisticRegression(C=params["C"], class_weight=params.get("class_weight"),
                                      max_iter=300, random_state=data.seed)
        return Ridge(alpha=params["alpha"], random_state=data.seed)

    def default_configs(self, data):  # noqa: D102
        if data.is_classification:
            configs = [{"C": 1.0}, {"C": 0.1}, {"C": 10.0}]
            if data.class_weight:
                configs.insert(1, {"C": 1.0, "class_weight": "balanced"})
            return configs
        return [{"alpha": 1.0}, {"alpha": 10.0}, {"alpha": 0.1}]

    def sample_config(self, rng, data):  # noqa: D102
        if data.is_classification:
            return {"C": float(10 ** rng.uniform(-3, 2))}
        return {"alpha": float(10 ** rng.uniform(-3, 3))}


class RandomForestFamily(SklearnFamily):
    """Random forests and extremely randomised trees, grown tree by tree chunk within the budget."""

    name = "random_forest"
    weight = 1.0

    def make_estimator(self, params, data):  # noqa: D102
        n = len(data.y_train)
        extra = params.get("extra_trees", False)
        if data.is_classification:
            cls = ExtraTreesClassifier if extra else RandomForestClassifier
            kwargs = {"class_weight": params.get("class_weight")}
        else:
            cls = ExtraTreesRegressor if extra else RandomForestRegressor
            kwargs = {}
        trees = params.get("n_estimators", _forest_size(n))
        large = n > _FOREST_SAMPLE_ROWS
        return cls(
            n_estimators=trees,
            max_features=params["max_features"],
            min_samples_leaf=params["min_samples_leaf"],
            # on large frames each tree sees a sample of the rows (extremely randomised trees too, by bootstrap)
            # and has a bounded number of leaves: fully grown, 150 trees of 100,000 rows took 1.5x the frame
            max_samples=_FOREST_SAMPLE_ROWS / n if large else None,
            bootstrap=large or not extra,
            max_leaf_nodes=_forest_leaves(data, trees) if large else None,
            warm_start=True,
            n_jobs=-1,
            random_state=data.seed,
            **kwargs,
        )

    def fit_one(self, estimator, data, deadline):  # noqa: D102
        target = estimator.n_estimators
        with warnings.catch_warnings():
            # class_weight="balanced_subsample" with warm_start warns that weights follow the full data
            warnings.filterwarnings("ignore", message=".*warm_start.*")
            # the first chunk is not stopped by the deadline: on big frames start with a few trees
            rows_per_tree = min(len(data.y_train), _FOREST_SAMPLE_ROWS)
            first = min(25, target, max(4, int(25 * 20_000 / max(rows_per_tree, 1))))
            truncated = grow_within(estimator, "n_estimators", target, first, deadline,
                                    lambda e: e.fit(data.X_train, data.y_train, **_weights(data)))
        return {"n_estimators": len(estimator.estimators_), "truncated": truncated}

    def fit_final(self, estimator, candidate, data, deadline):  # noqa: D102
        estimator.n_estimators = int(candidate.info.get("n_estimators", estimator.n_estimators))
        return not self.fit_one(estimator, data, deadline)["truncated"]

    def default_configs(self, data):  # noqa: D102
        first = {"max_features": "sqrt" if data.is_classification else 0.5, "min_samples_leaf": 1}
        configs = [first, {"max_features": first["max_features"], "min_samples_leaf": 1, "extra_trees": True}]
        if data.class_weight:
            configs.insert(1, {**first, "class_weight": "balanced_subsample"})
        return configs

    def sample_config(self, rng, data):  # noqa: D102
        config = {
            "max_features": rng.choice(["sqrt", 0.3, 0.5, 0.8, 1.0]).item(),
            "min_samples_leaf": int(rng.choice([1, 2, 4, 8])),
            "extra_trees": bool(rng.random() < 0.5),
        }
        if isinstance(config["max_features"], str) and config["max_features"] != "sqrt":
            config["max_features"] = float(config["max_features"])
        if data.class_weight and rng.random() < 0.5:
            config["class_weight"] = "balanced"
        return config


def _forest_size(n_rows: int) -> int:
    return 300 if n_rows < 20_000 else 150


# Above this many training rows each tree of a forest grows on a sample of this many.
_FOREST_SAMPLE_ROWS = 100_000
# ... and the whole forest may take this share of the training matrix's bytes (the search keeps up to three
# forests: the best default configuration, the best random one and the one growing).
_FOREST_MEMORY_SHARE = 0.25


def _forest_leaves(data: PreparedData, trees: int) -> int:
    """Most leaves per tree for a forest of ``trees`` trees within :data:`_FOREST_MEMORY_SHARE` of the matrix.

    A tree node takes 64 bytes plus 8 per class (or output) for its value.
    """
    node_bytes = 64 + 8 * max(1, data.n_classes)
    nodes = _FOREST_MEMORY_SHARE * data.X_train.nbytes / node_bytes / max(1, trees)
    return int(max(64, nodes // 2))


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


class GradientBoostingFamily(SampledSearch, SklearnFamily):
    """Histogram gradient boosting, early-stopped on the validation rows, its tree shape and rates searched.

    The search space follows the data size (FLAML's idea): leaves and minimum
    leaf sizes grow with the row count. Boosting rounds are added in chunks
    until early stopping or the deadline, so a slow configuration ends smaller
    instead of overrunning the budget.

    scikit-learn converts the float32 matrix to float64 for every fit: on large
    frames the search runs on a row sample gathered as float64
    (:class:`~automl.models.sampling.SampledSearch`), and the refit on half the
    labelled rows (:func:`~automl.models.sampling.refit_sample`), whose float64
    copy is then no larger than the float32 matrix of every row.
    """

    name = "gradient_boosting"
    weight = 2.0
    default_max_configs = 60
    max_rounds = 3000
    refit_cost_factor = 0.7
    sample_dtype = np.float64  # it would convert a float32 sample itself
    refit_share = 0.5  # its float64 copy of half the rows is as large as the float32 matrix of all
    folds_stop_early = True  # see fit_fold

    def make_estimator(self, params, data):  # noqa: D102
        rate = params["learning_rate"]
        common = dict(
            learning_rate=rate,
            max_leaf_nodes=params["max_leaf_nodes"],
            min_samples_leaf=params["min_samples_leaf"],
            l2_regularization=params["l2_regularization"],
            max_features=params.get("max_features", 1.0),
            max_iter=self.max_rounds,
            early_stopping=True,
            # slower rates need more patience before a plateau is believed
            n_iter_no_change=int(np.clip(2.0 / rate, 15, 50)),
            warm_start=True,
            random_state=data.seed,
        )
        if data.is_classification:
            return HistGradientBoostingClassifier(class_weight=params.get("class_weight"), **common)
        return HistGradientBoostingRegressor(**common)

    def fit_one(self, estimator, data, deadline):  # noqa: D102
        # Early stopping on the shared validation rows lets every training row train the trees.
        truncated = grow_within(estimator, "max_iter", self.max_rounds, 20, deadline,
                                lambda e: e.fit(data.X_train, data.y_train, X_val=data.X_val, y_val=data.y_val,
                                                **_weights(data, validation=True)))
        return {"rounds": int(estimator.n_iter_), "truncated": truncated}

    def fit_final(self, estimator, candidate, data, deadline):  # noqa: D102
        # No validation rows are left to stop on: grow the rounds the search stopped at. They include the
        # patience rounds past the best one, a fair allowance for the larger training set.
        rounds = int(candidate.info.get("rounds", self.max_rounds))
        estimator.set_params(early_stopping=False)
        data = refit_sample(data, self.search_rows, self.refit_share)  # large frames: half the rows, as float64
        # two chunks at most: each warm-started fit bins the data again
        return not grow_within(estimator, "max_iter", rounds, max(20, rounds // 2), deadline,
                               lambda e: e.fit(data.X_train, data.y_train, **_weights(data)))

    def fit_fold(self, candidate, data, deadline):  # noqa: D102
        if not len(data.y_val):
            return self.refit(candidate, data, deadline)
        # early stopping on the rows the fold leaves out, as the boosting libraries' fold models do
        # (automl.models.boosting); about twice the searched rounds at most
        rounds = int(candidate.info.get("rounds", self.max_rounds))
        estimator = self.make_estimator(candidate.params, data)
        cap = min(self.max_rounds, 2 * rounds + estimator.n_iter_no_change)
        try:
            truncated = grow_within(estimator, "max_iter", cap, max(20, cap // 2), deadline,
                                    lambda e: e.fit(data.X_train, data.y_train, X_val=data.X_val, y_val=data.y_val,
                                                    **_weights(data, validation=True)))
        except (ValueError, MemoryError, FloatingPointError):
            return None
        return None if truncated else estimator

    def default_configs(self, data):  # noqa: D102
        n = len(data.y_train)
        small_leaf = 5 if n < 2000 else 20
        base = {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": small_leaf,
                "l2_regularization": 0.0}
        configs = [base,
                   {"learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": small_leaf,
                    "l2_regularization": 1.0, "max_features": 0.7}]
        if n >= 5000:  # large frames reward bigger trees at a slower rate
            configs.insert(1, {"learning_rate": 0.05, "max_leaf_nodes": 63, "min_samples_leaf": 20,
                               "l2_regularization": 0.1, "max_features": 0.8})
        else:  # small ones reward shallow, slow, regularised trees
            configs.append({"learning_rate": 0.03, "max_leaf_nodes": 7, "min_samples_leaf": 3,
                            "l2_regularization": 0.5, "max_features": 0.5})
        if data.class_weight:
            configs.insert(1, {**base, "class_weight": "balanced"})
        return configs

    def sample_config(self, rng, data):  # noqa: D102
        n = len(data.y_train)
        max_leaves = int(np.clip(n / 20, 8, 256))
        max_min_leaf = int(np.clip(n / 50, 4, 200))
        config = {
            "learning_rate": round(_log_uniform(rng, 0.01, 0.3), 4),
            "max_leaf_nodes": int(round(_log_uniform(rng, 4, max_leaves))),
            "min_samples_leaf": int(round(_log_uniform(rng, 2, max_min_leaf))),
            "l2_regularization": 0.0 if rng.random() < 0.3 else round(_log_uniform(rng, 1e-3, 10.0), 4),
            "max_features": round(float(rng.uniform(0.4, 1.0)), 2),
        }
        if data.class_weight and rng.random() < 0.5:
            config["class_weight"] = "balanced"
        return config
