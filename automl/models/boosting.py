"""Boosting libraries as model families: LightGBM (a dependency), XGBoost and CatBoost (``pip install automl[boost]``).

Each family tries a short *portfolio* of configurations known to do well on
many tables first, then random configurations from a space sized by the rows,
columns and classes, while its share of the budget lasts (the loop of
:class:`automl.models.classic.SklearnFamily`). Every fit

* early-stops on the validation rows (the library's own loss, weighted by the
  user's row weights when there are any), and the best round count is kept for
  the refit on every labelled row, which has no rows left to stop on;
* stops at the budget's deadline: a callback checked after every round ends
  the fit and keeps the best round so far, so a slow configuration ends smaller
  instead of overrunning the budget;
* runs on at most :func:`threads` threads.

Class weights (a ``class_weight: 'balanced'`` configuration, tried when classes
are imbalanced) and the user's ``sample_weight`` reach each library as row
weights, the one form all three accept.

On large frames (more than :data:`automl.models.sampling.SEARCH_ROWS` training
rows) the configurations are searched on a seeded sample of the training rows
and the winner is refit on every labelled row (:mod:`automl.models.sampling`):
more configurations in the same time, and each fit's own copy of the data
(bins, pools) a fraction of the frame. Every library reads the shared float32
matrix as it is: LightGBM and XGBoost (a ``QuantileDMatrix``) bin it without a
copy. CatBoost copies it into its own pool (about twice the matrix through a
fit), so on large frames its refit trains on 30 % of the labelled rows.

XGBoost and CatBoost are optional: when they are not installed, asking for them
(or having them in the default families) skips them with a note that gives the
``pip install`` line (see :func:`optional_import`).
"""

from __future__ import annotations

import importlib
import inspect
import os
import time
from dataclasses import replace
from typing import Any

import numpy as np

from .base import Candidate, PreparedData
from .classic import SklearnFamily, _log_uniform
from .sampling import SampledSearch, refit_sample

__all__ = ["BoostedModel", "CatBoostFamily", "LightGBMFamily", "XGBoostFamily", "optional_import", "threads",
           "LIGHTGBM_PORTFOLIO", "XGBOOST_PORTFOLIO", "CATBOOST_PORTFOLIO"]

_INSTALL = {"xgboost": "pip install 'automl[boost]' (or: pip install xgboost-cpu)",
            "catboost": "pip install 'automl[boost]' (or: pip install catboost)",
            "lightgbm": "pip install lightgbm"}


def optional_import(module: str):
    """Import ``module`` or raise an ImportError whose message gives the ``pip install`` line.

    The orchestrator turns that ImportError into a skipped family with a note in
    ``result.info["notes"]`` (tests monkeypatch this function to simulate a missing library).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{module} is not installed; {_INSTALL.get(module, 'pip install ' + module)}") from exc


def threads(cells: int | None = None) -> int:
    """Threads for one boosting fit on a matrix of ``cells`` values: the CPUs this process may use, at most 8.

    Small matrices (under 200,000 values) get one thread: their rounds take
    about a millisecond, less than waking and synchronising OpenMP threads, and
    on a busy machine spinning threads made a 400-row fit 20-50x slower
    (measured: 0.1 s alone, 2-9 s beside other jobs on 2 cores). Beyond 8,
    histogram building gains little and other work loses cores.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if cells is not None and cells < 200_000:
        return 1
    return max(1, min(8, cores))


def _cells(data: PreparedData) -> int:
    return int(data.X_train.shape[0]) * int(data.X_train.shape[1])


# ---------------------------------------------------------------------------------------------------------------
# Portfolios: tried in this order before any random configuration.
#
# LightGBM: AutoGluon's default LightGBM trio -- {} (learning rate 0.05, 31 leaves), the extra-trees variant
# "XT" and "GBMLarge" -- the head of AutoGluon's zero-shot portfolio (TabRepo, Salinas & Erickson 2023: chosen
# greedily for the best average rank over ~200 OpenML tables; autogluon/tabular/configs/zeroshot/). Leaves and
# minimum leaf sizes are bounded by the row count like the search space (LightGBMFamily.default_configs).
# Measured on five R tables kept apart from the benchmark (AER::CreditCard, MASS::Boston, ISLR::Carseats,
# AER::HMDA, MASS::Pima.tr; lightgbm alone, 5 s, seeds 0-1, mean test score): this trio then random search was
# best or tied on all five (0.9977 / 0.8396 / 0.7312 / 0.8661 / 0.7946), ahead of the trio followed by the next
# zero-shot entries r131, r191, r54, r81 (0.9977 / 0.8134 / 0.7124 / 0.8549 / 0.7946 -- their slow learning
# rates, 0.009-0.012, spend a short budget on few fits) and of random search alone (first four tables: 0.9977 /
# 0.824 / 0.7312 / 0.8655). Names keep AutoGluon's; parameters use LightGBM's spellings.
LIGHTGBM_PORTFOLIO: list[dict[str, Any]] = [
    {"name": "ag_default", "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20,
     "colsample_bytree": 1.0},
    {"name": "ag_xt", "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20, "colsample_bytree": 1.0,
     "extra_trees": True},
    {"name": "ag_large", "learning_rate": 0.03, "num_leaves": 128, "min_child_samples": 3,
     "colsample_bytree": 0.9},
]

# XGBoost: AutoGluon's default XGBoost model (learning rate 0.1, depth 6, histogram trees), a shallower
# variant with column sampling in the spirit of its zero-shot entries, and loss-guided leaves (FLAML's way of
# growing XGBoost trees). Not measured on tables of our own yet; like the LightGBM list it avoids slow learning
# rates at its head, which cost most at short budgets.
XGBOOST_PORTFOLIO: list[dict[str, Any]] = [
    {"name": "ag_default", "learning_rate": 0.1, "max_depth": 6, "min_child_weight": 1.0, "colsample_bytree": 1.0},
    {"name": "shallow", "learning_rate": 0.088, "max_depth": 5, "min_child_weight": 0.63, "colsample_bytree": 0.66},
    {"name": "lossguide", "learning_rate": 0.1, "max_depth": 0, "max_leaves": 31, "min_child_weight": 1.0,
     "colsample_bytree": 0.8, "grow_policy": "lossguide"},
]

# CatBoost: AutoGluon's default CatBoost model (learning rate 0.05, symmetric trees of depth 6, l2 3), then a
# shallow, faster variant. Not measured on tables of our own yet.
CATBOOST_PORTFOLIO: list[dict[str, Any]] = [
    {"name": "ag_default", "learning_rate": 0.05, "depth": 6, "l2_leaf_reg": 3.0},
    {"name": "shallow_fast", "learning_rate": 0.07, "depth": 4, "l2_leaf_reg": 2.2},
]


class BoostedModel:
    """A fitted boosting model as automl's predictors are: labels and a full ``(n, n_classes)`` probability matrix.

    Classes missing from the training rows get probability 0 (the libraries only
    know the classes they saw).

    Parameters
    ----------
    estimator : fitted LGBM*/XGB*/CatBoost* scikit-learn style estimator
    task : str
    n_classes : int
    classes : ndarray of int, optional
        Class codes the estimator was trained on, in its column order (set by the fit).
    params : dict, optional
        The configuration it was built from.
    category_blocks : list of list of int, optional
        One-hot blocks of the prepared matrix (:attr:`PreparedData.category_blocks`)
        the library reads as native categorical columns: the estimator is fitted
        on :meth:`features`, the matrix followed by one category code per block.
    """

    def __init__(self, estimator, task: str, n_classes: int, classes: np.ndarray | None = None,
                 params: dict[str, Any] | None = None, category_blocks: list[list[int]] | None = None):
        self.estimator = estimator
        self.task = task
        self.n_classes = n_classes
        self.classes = None if classes is None else np.asarray(classes, dtype=int)
        self.params = dict(params or {})
        self.category_blocks = [list(map(int, b)) for b in category_blocks] if category_blocks else None

    def features(self, X: np.ndarray) -> np.ndarray:
        """The matrix the estimator reads: ``X``, then a category code per one-hot block when it reads codes."""
        blocks = getattr(self, "category_blocks", None)  # models saved before the attribute existed have none
        return X if not blocks else np.hstack([X, category_codes(X, blocks)])

    def code_columns(self, width: int) -> list[int]:
        """Positions of the category codes in :meth:`features` of a ``width``-column matrix."""
        return list(range(width, width + len(getattr(self, "category_blocks", None) or [])))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, one column per class of the task."""
        proba = np.asarray(self.estimator.predict_proba(self.features(X)), dtype=float)
        if self.classes is None or (len(self.classes) == self.n_classes and
                                    np.array_equal(self.classes, np.arange(self.n_classes))):
            return proba
        full = np.zeros((len(proba), self.n_classes))
        full[:, self.classes] = proba
        return full

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class codes (argmax of the probabilities) or values."""
        if self.task == "regression":
            return np.asarray(self.estimator.predict(self.features(X)), dtype=float).ravel()
        return self.predict_proba(X).argmax(axis=1)


def category_codes(X: np.ndarray, blocks: list[list[int]]) -> np.ndarray:
    """``(n, len(blocks))`` float32: the level each row has in each one-hot block, NaN where it has none.

    A row with no level set is a level the encoder did not know and had no
    pooled "infrequent" column for: the libraries read NaN as missing.
    """
    codes = np.empty((len(X), len(blocks)), dtype=np.float32)
    for j, block in enumerate(blocks):
        levels = X[:, block]
        codes[:, j] = levels.argmax(axis=1)
        codes[levels.max(axis=1, initial=0.0) <= 0, j] = np.nan
    return codes


class _Deadline:
    """Stops a fit at a ``time.monotonic()`` deadline; ``hit`` records that it did."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.hit = False

    def passed(self) -> bool:
        if time.monotonic() >= self.deadline:
            self.hit = True
        return self.hit


def _patience(rate: float) -> int:
    # slower rates need more rounds without progress before a plateau is believed
    return int(np.clip(2.5 / rate, 20, 200))


class BoostingFamily(SampledSearch, SklearnFamily):
    """Shared search loop of the boosting libraries (see the module docstring).

    Subclasses implement :meth:`make_library_estimator` (with ``rounds`` boosting rounds) and
    :meth:`train` (one fit with early stopping on the validation rows and a deadline).
    """

    weight = 2.0
    default_max_configs = 60
    max_rounds = 5000
    portfolio: list[dict[str, Any]] = []
    # the searched fit also scored the validation rows every round; the refit fits the kept rounds only
    refit_cost_factor = 0.8
    folds_stop_early = True  # see fit_fold
    # True where the library reads category codes (configurations with "categories": "native")
    native_categories = False

    # --- library side -----------------------------------------------------------------------------------------
    def make_estimator(self, params: dict[str, Any], data: PreparedData, rounds: int | None = None) -> BoostedModel:
        """An unfitted model for ``params`` with ``rounds`` rounds (default: ``max_rounds``)."""
        native = self.native_categories and params.get("categories") == "native"
        return BoostedModel(self.make_library_estimator(params, data, rounds or self.max_rounds), data.task,
                            data.n_classes, params=params, category_blocks=data.category_blocks if native else None)

    def make_library_estimator(self, params: dict[str, Any], data: PreparedData, rounds: int):
        """The library's unfitted scikit-learn style estimator."""
        raise NotImplementedError

    def train(self, estimator, data: PreparedData, weights, deadline: _Deadline, validate: bool, patience: int,
              categorical: list[int]):
        """Fit ``estimator``; early-stop on the validation rows when ``validate``; return the best round count.

        ``categorical``: columns of ``data``'s matrices to read as native categories (only where
        ``native_categories``; empty otherwise).
        """
        raise NotImplementedError

    # --- shared ---------------------------------------------------------------------------------------------
    def _fit(self, model: BoostedModel, data, deadline: float, validate: bool) -> dict[str, Any]:
        stop = _Deadline(deadline)
        params = model.params
        weights = data.train_weights(params.get("class_weight"))
        if data.is_classification:  # the libraries' probability columns follow the classes they saw
            model.classes = np.unique(data.y_train)
        categorical = model.code_columns(data.X_train.shape[1])
        if categorical:
            data = replace(data, X_train=model.features(data.X_train), X_val=model.features(data.X_val))
        try:
            rounds = self.train(model.estimator, data, weights, stop, validate, _patience(params["learning_rate"]),
                                categorical)
        except (ValueError, MemoryError, FloatingPointError):
            raise
        except Exception as exc:
            # the libraries' own errors (LightGBMError, CatBoostError): one bad configuration, not a broken search
            if type(exc).__module__.split(".")[0] in ("lightgbm", "xgboost", "catboost", "_catboost"):
                raise ValueError(f"{type(exc).__name__}: {exc}") from exc
            raise
        return {"rounds": int(rounds), "stopped_early": bool(validate and rounds < self.max_rounds and not stop.hit),
                "truncated": stop.hit}

    def fit_one(self, estimator, data, deadline):  # noqa: D102
        return self._fit(estimator, data, deadline, validate=len(data.y_val) > 0)

    def refit(self, candidate: Candidate, data: PreparedData, deadline: float):  # noqa: D102
        # the refit has no validation rows: it grows exactly the rounds early stopping kept
        rounds = int(candidate.info.get("rounds") or self.max_rounds)
        data = refit_sample(data, self.search_rows, self.refit_share, dtype=np.float32)  # all rows unless < 1
        return self._fit_fixed(candidate, data, deadline, rounds, validate=False)

    def fit_fold(self, candidate: Candidate, data: PreparedData, deadline: float):  # noqa: D102
        if not len(data.y_val):
            return self.refit(candidate, data, deadline)
        # Each fold model stops early on the rows it leaves out (AutoGluon's bagged models do the same): its
        # rows differ from the search's, and so does its best round count. Capped at about twice the searched
        # rounds, so the fold costs what the bagging plan expects.
        rounds = int(candidate.info.get("rounds") or self.max_rounds)
        cap = min(self.max_rounds, 2 * rounds + _patience(candidate.params["learning_rate"]))
        return self._fit_fixed(candidate, data, deadline, cap, validate=True)

    def _fit_fixed(self, candidate: Candidate, data: PreparedData, deadline: float, rounds: int, validate: bool):
        """``candidate``'s configuration with at most ``rounds`` rounds, or None when it failed or was cut short."""
        model = self.make_estimator(candidate.params, data, rounds=max(1, rounds))
        try:
            info = self._fit(model, data, deadline, validate=validate)
        except (ValueError, MemoryError, FloatingPointError):
            return None
        return None if info["truncated"] else model

    def default_configs(self, data):  # noqa: D102
        configs = [dict(c) for c in self.portfolio]
        if configs and data.class_weight:  # a rare class: the balanced variant of the first configuration comes second
            configs.insert(1, {**configs[0], "name": configs[0]["name"] + "_balanced", "class_weight": "balanced"})
        return configs


def _rows_cols(data: PreparedData) -> tuple[int, int]:
    return len(data.y_train), data.X_train.shape[1]


class LightGBMFamily(BoostingFamily):
    """LightGBM gradient boosting (leaf-wise trees), portfolio first, then a search space sized to the data.

    The space follows FLAML's LightGBM space, bounded by the data: at most
    ``rows / 10`` leaves, minimum leaf sizes up to ``rows / 50``, column
    sampling that can go lower when there are many columns.

    With one-hot encoded columns in the matrix, configurations may read each
    one-hot block as one native categorical column besides (``"categories":
    "native"``; LightGBM's own many-vs-many category splits). Measured with
    the first portfolio configuration on the tuning tables, 3 splits each,
    test score native minus one-hot only: employee_attrition +0.030 / +0.012 /
    +0.018 ROC AUC, wage +0.001 / +0.000 / +0.003, telco_churn -0.001 /
    -0.004 / +0.001, chicago_taxi_tips +0.001 / +0.001 / -0.011 (texas_housing's
    46-level column is frequency/target encoded, not one-hot: no block). So the
    portfolio reads categories natively, the one-hot variant of its first
    configuration comes second, and three in four random configurations are native.
    """

    name = "lightgbm"
    portfolio = LIGHTGBM_PORTFOLIO
    native_categories = True

    def make_library_estimator(self, params, data, rounds):  # noqa: D102
        lgb = optional_import("lightgbm")
        n, _ = _rows_cols(data)
        common = dict(
            n_estimators=rounds,
            learning_rate=params["learning_rate"],
            num_leaves=int(min(params["num_leaves"], max(4, n // 2))),
            min_child_samples=int(params["min_child_samples"]),
            colsample_bytree=params.get("colsample_bytree", 1.0),
            subsample=params.get("subsample", 1.0),
            subsample_freq=1 if params.get("subsample", 1.0) < 1.0 else 0,
            reg_alpha=params.get("reg_alpha", 0.0),
            reg_lambda=params.get("reg_lambda", 0.0),
            extra_trees=bool(params.get("extra_trees", False)),
            max_bin=int(params.get("max_bin", 255)),
            n_jobs=threads(_cells(data)),
            random_state=data.seed,
            verbose=-1,
        )
        if data.is_classification:
            estimator = lgb.LGBMClassifier(**common)
        else:
            estimator = lgb.LGBMRegressor(**common)
        return estimator

    def train(self, estimator, data, weights, deadline, validate, patience, categorical):  # noqa: D102
        lgb = optional_import("lightgbm")
        best = {"iteration": 0, "score": None, "results": None}

        def watch(env):
            # one callback for both stops: early stopping on the first validation metric, and the deadline
            if env.evaluation_result_list:
                _, _, value, higher_better = env.evaluation_result_list[0][:4]
                better = best["score"] is None or (value > best["score"] if higher_better else value < best["score"])
                if better:
                    best.update(iteration=env.iteration, score=value, results=env.evaluation_result_list)
                elif env.iteration - best["iteration"] >= patience:
                    raise lgb.callback.EarlyStopException(best["iteration"], best["results"])
                if env.iteration == env.end_iteration - 1:  # the last round: predict with the best one, as refit will
                    raise lgb.callback.EarlyStopException(best["iteration"], best["results"])
            if deadline.passed():
                if best["results"] is not None:
                    raise lgb.callback.EarlyStopException(best["iteration"], best["results"])
                raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

        watch.order = 30  # after the evaluation callbacks
        kwargs: dict[str, Any] = {"sample_weight": weights, "callbacks": [watch]}
        if categorical:
            kwargs["categorical_feature"] = categorical
        if validate:
            if "eval_X" in inspect.signature(estimator.fit).parameters:  # LightGBM >= 4.7 spelling
                kwargs.update(eval_X=(data.X_val,), eval_y=(data.y_val,))
            else:
                kwargs["eval_set"] = [(data.X_val, data.y_val)]
            if data.sample_weight_val is not None:
                kwargs["eval_sample_weight"] = [data.sample_weight_val]
        estimator.fit(data.X_train, data.y_train, **kwargs)
        booster = estimator.booster_
        if validate and best["results"] is not None:
            return best["iteration"] + 1
        return booster.current_iteration()

    @staticmethod
    def _bounds(data: PreparedData) -> tuple[int, int]:
        """Most leaves and largest minimum leaf size worth trying on ``data``'s row count."""
        n, _ = _rows_cols(data)
        return int(np.clip(n / 10, 8, 512)), int(np.clip(n / 50, 5, 200))

    def default_configs(self, data):  # noqa: D102
        # the portfolio was chosen on tables of thousands of rows: bound its trees by the rows, as the space is
        max_leaves, max_min_leaf = self._bounds(data)
        configs = [{**c, "num_leaves": min(c["num_leaves"], max_leaves),
                    "min_child_samples": min(c["min_child_samples"], max_min_leaf)}
                   for c in super().default_configs(data)]
        if data.category_blocks:
            # Categories read natively first, then the first configuration on the one-hot columns alone
            # (measured in the family docstring: native reading helps most tables, not all).
            first = {**configs[0], "name": configs[0]["name"] + "_onehot"}
            configs = [{**c, "categories": "native"} for c in configs]
            configs.insert(1, first)
        return configs

    def sample_config(self, rng, data):  # noqa: D102
        n, cols = _rows_cols(data)
        max_leaves, max_min_leaf = self._bounds(data)
        config = {
            "learning_rate": round(_log_uniform(rng, 0.005, 0.2), 4),
            "num_leaves": int(round(_log_uniform(rng, 4, max_leaves))),
            "min_child_samples": int(round(_log_uniform(rng, 2, max_min_leaf))),
            # many columns: sample fewer per tree (decorrelates trees, cheaper rounds)
            "colsample_bytree": round(float(rng.uniform(0.3 if cols > 50 else 0.5, 1.0)), 3),
            "subsample": round(float(rng.uniform(0.6, 1.0)), 3) if rng.random() < 0.5 else 1.0,
            "reg_alpha": 0.0 if rng.random() < 0.5 else round(_log_uniform(rng, 1e-3, 10.0), 4),
            "reg_lambda": 0.0 if rng.random() < 0.3 else round(_log_uniform(rng, 1e-3, 10.0), 4),
            "extra_trees": bool(rng.random() < 0.25),
        }
        if data.class_weight and rng.random() < 0.5:
            config["class_weight"] = "balanced"
        if data.category_blocks and rng.random() < 0.75:
            config["categories"] = "native"
        return config


class XGBoostFamily(BoostingFamily):
    """XGBoost histogram trees; used when ``xgboost`` (e.g. the ``xgboost-cpu`` wheel) is installed."""

    name = "xgboost"
    portfolio = XGBOOST_PORTFOLIO
    # below LightGBM's 2.0: the two overlap, and the network family keeps a usable share of short budgets
    weight = 1.5

    def __init__(self, max_configs: int | None = None):
        optional_import("xgboost")  # fail at construction: the orchestrator skips the family with a note
        super().__init__(max_configs)

    def make_library_estimator(self, params, data, rounds):  # noqa: D102
        xgb = optional_import("xgboost")
        common = dict(
            n_estimators=rounds,
            learning_rate=params["learning_rate"],
            max_depth=int(params["max_depth"]),
            max_leaves=int(params.get("max_leaves", 0)),
            grow_policy=params.get("grow_policy", "depthwise"),
            min_child_weight=params.get("min_child_weight", 1.0),
            colsample_bytree=params.get("colsample_bytree", 1.0),
            subsample=params.get("subsample", 1.0),
            reg_alpha=params.get("reg_alpha", 0.0),
            reg_lambda=params.get("reg_lambda", 1.0),
            tree_method="hist",
            n_jobs=threads(_cells(data)),
            random_state=data.seed,
            verbosity=0,
        )
        if data.is_classification:
            estimator = xgb.XGBClassifier(**common)
        else:
            estimator = xgb.XGBRegressor(**common)
        return estimator

    def train(self, estimator, data, weights, deadline, validate, patience, categorical):  # noqa: D102
        xgb = optional_import("xgboost")

        class Stop(xgb.callback.TrainingCallback):
            def after_iteration(self, model, epoch, evals_log):  # noqa: D102
                return deadline.passed()

        y = data.y_train
        if data.is_classification and not np.array_equal(np.unique(y), np.arange(int(y.max()) + 1)):
            raise ValueError("XGBoost needs every class code 0..k-1 among the training rows")
        estimator.set_params(callbacks=[Stop()], early_stopping_rounds=patience if validate else None)
        kwargs: dict[str, Any] = {"sample_weight": weights, "verbose": False}
        if validate:
            kwargs["eval_set"] = [(data.X_val, data.y_val)]
            if data.sample_weight_val is not None:
                kwargs["sample_weight_eval_set"] = [data.sample_weight_val]
        try:
            estimator.fit(data.X_train, y, **kwargs)
        finally:
            # the callbacks hold the deadline: keep them out of the fitted (and pickled) model
            estimator.set_params(callbacks=None, early_stopping_rounds=None)
        if validate and getattr(estimator, "best_iteration", None) is not None:
            return int(estimator.best_iteration) + 1
        return int(estimator.get_booster().num_boosted_rounds())

    def sample_config(self, rng, data):  # noqa: D102
        n, cols = _rows_cols(data)
        config = {
            "learning_rate": round(_log_uniform(rng, 0.005, 0.3), 4),
            "max_depth": int(rng.integers(3, 11 if n > 2000 else 8)),
            "min_child_weight": round(_log_uniform(rng, 0.5, float(np.clip(n / 200, 2, 50))), 3),
            "colsample_bytree": round(float(rng.uniform(0.3 if cols > 50 else 0.5, 1.0)), 3),
            "subsample": round(float(rng.uniform(0.6, 1.0)), 3),
            "reg_alpha": 0.0 if rng.random() < 0.5 else round(_log_uniform(rng, 1e-3, 10.0), 4),
            "reg_lambda": round(_log_uniform(rng, 0.1, 10.0), 4),
        }
        if data.class_weight and rng.random() < 0.5:
            config["class_weight"] = "balanced"
        return config


class CatBoostFamily(BoostingFamily):
    """CatBoost symmetric trees; used when ``catboost`` is installed."""

    name = "catboost"
    portfolio = CATBOOST_PORTFOLIO
    weight = 1.5
    # CatBoost builds its pools and border tables before the first round: the refit costs more per second searched
    refit_cost_factor = 1.0
    # CatBoost copies the float32 matrix into its own pool and bins it, about 2x the matrix through the fit: a
    # refit on every row of 1M x 50 peaked at 3.19x the frame, on 40 % of them 2.94x (docs/performance.md)
    refit_share = 0.3

    def __init__(self, max_configs: int | None = None):
        optional_import("catboost")
        super().__init__(max_configs)

    def make_library_estimator(self, params, data, rounds):  # noqa: D102
        cb = optional_import("catboost")
        common = dict(
            iterations=rounds,
            learning_rate=params["learning_rate"],
            depth=int(params["depth"]),
            l2_leaf_reg=params.get("l2_leaf_reg", 3.0),
            random_strength=params.get("random_strength", 1.0),
            thread_count=threads(_cells(data)),
            random_seed=data.seed,
            verbose=False,
            allow_writing_files=False,
        )
        if data.is_classification:
            estimator = cb.CatBoostClassifier(
                loss_function="MultiClass" if data.task == "multiclass" else "Logloss", **common)
        else:
            estimator = cb.CatBoostRegressor(loss_function="RMSE", **common)
        return estimator

    def train(self, estimator, data, weights, deadline, validate, patience, categorical):  # noqa: D102
        class Stop:
            def after_iteration(self, info):  # noqa: D102
                return not deadline.passed()  # CatBoost goes on while this returns True

        kwargs: dict[str, Any] = {"sample_weight": weights, "callbacks": [Stop()]}
        if validate:
            cb = optional_import("catboost")
            kwargs.update(eval_set=cb.Pool(data.X_val, data.y_val, weight=data.sample_weight_val),
                          early_stopping_rounds=patience, use_best_model=True)
        estimator.fit(data.X_train, data.y_train, **kwargs)
        if validate and estimator.get_best_iteration() is not None:
            return int(estimator.get_best_iteration()) + 1
        return int(estimator.tree_count_)

    def sample_config(self, rng, data):  # noqa: D102
        n, _ = _rows_cols(data)
        config = {
            "learning_rate": round(_log_uniform(rng, 0.01, 0.2), 4),
            "depth": int(rng.integers(3, 9 if n > 2000 else 7)),
            "l2_leaf_reg": round(_log_uniform(rng, 1.0, 10.0), 3),
            "random_strength": round(_log_uniform(rng, 0.1, 5.0), 3),
        }
        if data.class_weight and rng.random() < 0.5:
            config["class_weight"] = "balanced"
        return config
