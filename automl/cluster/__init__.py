"""Stage: autoencoder embeddings, clustering and UMAP maps (``automl.cluster``).

>>> result = automl.cluster(df, labels="species")   # doctest: +SKIP
>>> result.labels, result.scores, result.map2d      # doctest: +SKIP
"""

import sys
import types

from .autoencoder import Autoencoder, search_autoencoder
from .methods import METHODS, clustering_accuracy
from .pipeline import cluster, embed
from .result import ClusterResult

__all__ = ["cluster", "embed", "ClusterResult", "Autoencoder", "search_autoencoder", "METHODS",
           "clustering_accuracy"]


class _CallableModule(types.ModuleType):
    """This package shares its name with the function ``automl.cluster``.

    Importing any submodule (``automl.cluster.methods``) rebinds the attribute
    ``automl.cluster`` to the package, so the package itself must be callable
    for ``automl.cluster(df)`` to keep working.
    """

    def __call__(self, *args, **kwargs):
        return cluster(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
