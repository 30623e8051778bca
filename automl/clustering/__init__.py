"""Stage: autoencoder embeddings, clustering and UMAP maps (the function ``automl.cluster``).

>>> result = automl.cluster(df, labels="species")   # doctest: +SKIP
>>> result.labels, result.scores, result.map2d      # doctest: +SKIP
"""

from .autoencoder import Autoencoder
from .autoencoder_search import search_autoencoder
from .methods import METHODS, clustering_accuracy
from .pipeline import cluster, embed
from .result import ClusterResult

__all__ = ["cluster", "embed", "ClusterResult", "Autoencoder", "search_autoencoder", "METHODS",
           "clustering_accuracy"]

