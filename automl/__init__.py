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
from . import _quiet_tf

_quiet_tf.install()  # TensorFlow's start-up lines stay out of the output (AUTOML_TF_LOGS=1 shows them)
# Offers the notebook progress widget to verbose runs (automl.progress never imports widgets); cheap:
# the package imports no widget library until a dashboard or the widget is asked for.
from . import dashboard as _dashboard  # noqa: E402,F401

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
    "make_metric": "automl.metrics",
    "Metric": "automl.metrics",
    "run_worker": "automl.api",
    "NetworkSearch": "automl.search.options",
    "WorkerResult": "automl.search.distributed",
}

__all__ = [
    "fit", "cluster", "embed", "load", "FitResult", "FittedModel", "ClusterResult",
    "AutoClassifier", "AutoRegressor", "Autoencoder", "datasets", "make_metric", "Metric", "run_worker", "NetworkSearch", "WorkerResult",
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
