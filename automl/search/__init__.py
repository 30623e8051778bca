"""Neural architecture and hyperparameter search with KerasTuner.

* :mod:`automl.search.space` — the search space as data, sized to the data set (no Keras).
* :mod:`automl.search.hypermodel` — ``TabularHyperModel``, the KerasTuner HyperModel.
* :mod:`automl.search.tuner` — Hyperband / Bayesian / random tuners with deadlines,
  overfitting guards and per-trial records (resumable).
* :mod:`automl.search.family` — ``NeuralNetworkFamily``, the search as a leaderboard family.
* :mod:`automl.search.predictor` — ``KerasPredictor``, a trained network as a predictor.

Keras and KerasTuner are imported only when a search runs or a network is loaded.
"""

from __future__ import annotations

import importlib
from typing import Any

from .family import NeuralNetworkFamily, SearchPlan, plan_search
from .predictor import KerasPredictor
from .space import SPACE_KEYS, default_search_space, describe_search_space, resolve_search_space

__all__ = [
    "NeuralNetworkFamily", "KerasPredictor", "TabularHyperModel", "SearchPlan", "plan_search",
    "SPACE_KEYS", "default_search_space", "resolve_search_space", "describe_search_space",
]


def __getattr__(name: str) -> Any:
    if name == "TabularHyperModel":  # imports keras and keras_tuner
        return importlib.import_module(".hypermodel", __name__).TabularHyperModel
    raise AttributeError(f"module 'automl.search' has no attribute {name!r}")
