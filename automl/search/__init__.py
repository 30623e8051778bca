"""Neural architecture and hyperparameter search with KerasTuner.

* :mod:`automl.search.space` — the search space as data, sized to the data set (no Keras).
* :mod:`automl.search.hypermodel` — ``TabularHyperModel``, the KerasTuner HyperModel.
* :mod:`automl.search.engine` — the one KerasTuner search engine (trial loop, deadline,
  NaN guard, early stopping, per-trial records, resume) behind every Keras search:
  the networks here and the autoencoder (:mod:`automl.clustering.autoencoder_search`).
* :mod:`automl.search.kt_adapter` — the only uses of KerasTuner internals, with a compatibility test.
* :mod:`automl.search.distributed` — distributed search configuration and the chief's announcement.
* :mod:`automl.search.options` — ``NetworkSearch``, the network options of ``automl.fit``.
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
