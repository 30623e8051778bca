"""Classic scikit-learn families: linear, random forest, histogram gradient boosting.

Each family fits its proven default first (a warm start), then random
configurations from a search space sized to the data while its share of the
budget lasts, and offers the configuration with the best validation score.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import (ExtraTreesClassifier, ExtraTreesRegressor, HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LogisticRegression, Ridge

from ..budget import Budget
from .base import Candidate, FamilyResult, ModelFamily, PreparedData

# Leave room for one more fit only when the last one, times this, still fits.
_SAFETY = 1.3


class SklearnFamily(ModelFamily):
    """A family searched over a small space of scikit-learn estimator settings.

    Subclasses implement :meth:`make_estimator`, :meth:`default_configs` and
    :meth:`sample_config`.

    Parameters
    ----------
    max_configs : int, default=20
        Upper bound on configurations tried, whatever the budget.
    """

    def __init__(self, max_configs: int = 20):
        self.max_configs = max_configs

    def make_estimator(self, params: dict[str, Any], data: PreparedData):
        """An unfitted estimator for ``params``."""
        raise NotImplementedError

    def default_configs(self, data: PreparedData) -> list[dict[str, Any]]:
        """Configurations tried first, best guess first."""
        raise NotImplementedError

    def sample_config(self, rng: np.random.Generator, data: PreparedData) -> dict[str, Any]:
        """One random configuration from the family's space."""
        raise NotImplementedError

    def fit(self, data: PreparedData, budget: Budget, hooks) -> FamilyResult:  # noqa: D102
        rng = np.random.default_rng(data.seed)
        queue = list(self.default_configs(data))
        best: Candidate | None = None
        best_score = -np.inf
        records = []
        last_fit = 0.0
        seen: set[str] = set()
        for trial in range(self.max_configs):
            if trial > 0 and (budget.remaining() < last_fit * _SAFETY or budget.expired()):
                break
            params = queue.pop(0) if queue else self.sample_config(rng, data)
            key = repr(sorted(params.items()))
            if key in seen:
                continue
            seen.add(key)
            started = time.perf_counter()
            status, value, error = "ok", float("nan"), ""
            try:
                estimator = self.make_estimator(params, data)
                estimator.fit(data.X_train, data.y_train)
                value = data.val_score(estimator)
            except (ValueError, MemoryError, FloatingPointError) as exc:  # one bad config must not end the search
                status, error = "failed", f"{type(exc).__name__}: {exc}"
                estimator = None
            last_fit = time.perf_counter() - started
            record = {"family": self.name, "trial": trial, "score": value, "status": status,
                      "params": dict(params), "time_s": last_fit, "error": error}
            records.append(record)
            hooks.on_trial_end(record)
            if status == "ok" and np.isfinite(value) and value > best_score:
                best_score = value
                best = Candidate(self.name, self.name, dict(params), estimator, fit_time_s=last_fit,
                                 info={"configs_tried": len(records)})
        if best is not None:
            best.info["configs_tried"] = len(records)
        return FamilyResult([best] if best is not None else [], pd.DataFrame(records))


class LinearFamily(SklearnFamily):
    """Logistic regression (classification) or ridge regression, with the penalty searched."""

    name = "linear"
    weight = 0.5

    def make_estimator(self, params, data):  # noqa: D102
        if data.is_classification:
            return LogisticRegression(C=params["C"], class_weight=params.get("class_weight"),
                                      max_iter=2000, random_state=data.seed)
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
    """Random forests and extremely randomised trees."""

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
        return cls(
            n_estimators=params.get("n_estimators", 300 if n < 20_000 else 100),
            max_features=params["max_features"],
            min_samples_leaf=params["min_samples_leaf"],
            # sub-sampling rows keeps forests affordable on large frames
            max_samples=None if (extra or n <= 100_000) else 100_000 / n,
            bootstrap=not extra,
            n_jobs=-1,
            random_state=data.seed,
            **kwargs,
        )

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


class GradientBoostingFamily(SklearnFamily):
    """Histogram gradient boosting with early stopping, its tree shape and rates searched."""

    name = "gradient_boosting"
    weight = 1.5

    def make_estimator(self, params, data):  # noqa: D102
        common = dict(
            learning_rate=params["learning_rate"],
            max_leaf_nodes=params["max_leaf_nodes"],
            min_samples_leaf=params["min_samples_leaf"],
            l2_regularization=params["l2_regularization"],
            max_features=params.get("max_features", 1.0),
            max_iter=1000,
            early_stopping=True,
            validation_fraction=0.1 if len(data.y_train) >= 200 else 0.2,
            n_iter_no_change=20,
            random_state=data.seed,
        )
        if data.is_classification:
            return HistGradientBoostingClassifier(class_weight=params.get("class_weight"), **common)
        return HistGradientBoostingRegressor(**common)

    def default_configs(self, data):  # noqa: D102
        small_leaf = 5 if len(data.y_train) < 2000 else 20
        base = {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": small_leaf,
                "l2_regularization": 0.0}
        configs = [base, {"learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": small_leaf,
                          "l2_regularization": 1.0, "max_features": 0.7}]
        if data.class_weight:
            configs.insert(1, {**base, "class_weight": "balanced"})
        return configs

    def sample_config(self, rng, data):  # noqa: D102
        config = {
            "learning_rate": float(10 ** rng.uniform(-1.7, -0.5)),
            "max_leaf_nodes": int(rng.choice([7, 15, 31, 63, 127])),
            "min_samples_leaf": int(rng.choice([2, 5, 10, 20, 50])),
            "l2_regularization": float(rng.choice([0.0, 0.01, 0.1, 1.0, 10.0])),
            "max_features": float(rng.choice([0.5, 0.7, 1.0])),
        }
        if data.class_weight and rng.random() < 0.5:
            config["class_weight"] = "balanced"
        return config
