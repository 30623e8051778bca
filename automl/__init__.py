"""automl: AutoML and clustering for tabular data, made for notebooks.

>>> import automl
>>> result = automl.fit(df, "target")      # doctest: +SKIP
>>> result.leaderboard                     # doctest: +SKIP
>>> clusters = automl.cluster(df)          # doctest: +SKIP

Heavy libraries (TensorFlow/Keras, UMAP) are imported only when a function
needs them, so ``import automl`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import AutomlWarning, DataWarning, InputError, IntegrityError, SearchWarning

__version__ = "0.1.0"

# public name -> module that defines it (imported on first use)
_LAZY = {
    "fit": "automl.api",
    "FitResult": "automl.result",
    "FittedModel": "automl.result",
    "load": "automl.persist",
    "cluster": "automl.clustering",
    "embed": "automl.clustering",
    "ClusterResult": "automl.clustering",
    "AutoClassifier": "automl.estimators",
    "AutoRegressor": "automl.estimators",
    "Autoencoder": "automl.clustering",
    "datasets": "automl.datasets",
}

__all__ = [
    "fit", "cluster", "embed", "load", "FitResult", "FittedModel", "ClusterResult",
    "AutoClassifier", "AutoRegressor", "Autoencoder", "datasets",
    "InputError", "IntegrityError", "AutomlWarning", "DataWarning", "SearchWarning", "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if name == "datasets" else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'automl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
