"""Clustering an embedding: methods, the choice of k, scores and cluster profiles.

Every function here takes arrays (and, for profiles, the input frame) and
returns plain data, so the pipeline, :meth:`ClusterResult.recluster` and the
dashboard's k slider share them.

Methods
-------
``umap_gmm`` (default)
    N2D's manifold step: UMAP of the embedding to a few dimensions
    (``min_dist=0`` packs clusters tightly), then a Gaussian mixture.
``umap_kmeans``, ``umap_agglomerative``, ``umap_hdbscan``
    The same manifold, clustered with k-means, Ward agglomeration or HDBSCAN.
``gmm``, ``kmeans``, ``agglomerative``, ``hdbscan``
    The same algorithms directly on the embedding.

With ``n_clusters="auto"`` a mixture on the embedding picks k by the lowest
BIC; every other method (except HDBSCAN, which finds its own number) by the
silhouette: the smallest k whose silhouette is within ``SILHOUETTE_TOLERANCE``
of the best. On the UMAP manifold even mixtures use the silhouette: with
``min_dist=0`` UMAP packs each cluster into a nearly degenerate blob whose
likelihood keeps rising as blobs are split, so BIC falls with every added k
(on digits it never turns up between k=2 and 15).
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn import metrics as skm

from ..errors import InputError

__all__ = ["METHODS", "Clustering", "check_method", "make_manifold", "fit_clustering", "select_k",
           "cluster_scores", "label_scores", "criterion_for", "warm_umap", "clustering_accuracy", "cluster_profiles", "k_range_for",
           "merge_components", "UMAP_APPROXIMATE_ROWS"]

# name -> (space, algorithm); space "manifold" means UMAP of the embedding first.
METHODS = {
    "umap_gmm": ("manifold", "gmm"),
    "umap_kmeans": ("manifold", "kmeans"),
    "umap_agglomerative": ("manifold", "agglomerative"),
    "umap_hdbscan": ("manifold", "hdbscan"),
    "gmm": ("embedding", "gmm"),
    "kmeans": ("embedding", "kmeans"),
    "agglomerative": ("embedding", "agglomerative"),
    "hdbscan": ("embedding", "hdbscan"),
}
CRITERIA = {"gmm": "bic", "kmeans": "silhouette", "agglomerative": "silhouette", "hdbscan": None}
# Silhouettes this close to the best count as ties, broken towards fewer clusters
# (a split that adds nothing measurable is not worth a cluster). Kept small: on
# digits k=9 scores only 0.004 below the true k=10.
SILHOUETTE_TOLERANCE = 0.002
# Rows used for silhouette when a data set is large (it is quadratic in rows).
_SILHOUETTE_ROWS = 4000


def check_method(method: str) -> str:
    """Return ``method`` or raise an InputError listing the choices."""
    if not isinstance(method, str) or method not in METHODS:
        close = difflib.get_close_matches(str(method), list(METHODS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise InputError(f"`method` must be one of {list(METHODS)}, got {method!r}.{hint}")
    return method


def k_range_for(n_rows: int, k_max: int | None = None) -> range:
    """Candidate cluster counts: 2 up to ``k_max`` (default 15, fewer for small data)."""
    top = k_max if k_max is not None else 15
    top = int(min(top, max(2, n_rows // 10)))
    return range(2, max(2, top) + 1)


def manifold_settings(n_rows: int, n_components: int | None = None, n_neighbors: int | None = None) -> dict:
    """UMAP settings of the manifold step (N2D: ~10 dimensions, 20 neighbours, min_dist 0)."""
    return {"n_components": int(n_components or 10),
            "n_neighbors": int(n_neighbors or min(20, max(2, n_rows - 1))),
            "min_dist": 0.0}


def make_manifold(embedding: np.ndarray, *, seed: int = 0, n_components: int | None = None,
                  n_neighbors: int | None = None):
    """Fit UMAP on ``embedding``; return ``(reducer, coordinates)``."""
    import umap

    settings = manifold_settings(len(embedding), n_components, n_neighbors)
    settings["n_components"] = min(settings["n_components"], max(2, len(embedding) - 2))
    with warnings.catch_warnings():
        # "n_jobs overridden by random_state": reproducibility is the point of the seed.
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(random_state=seed, **settings)
        coordinates = reducer.fit_transform(embedding)
    return reducer, np.asarray(coordinates, dtype=np.float32)


# What warm_umap has compiled in this process: "exact" and / or "approximate" nearest neighbours.
_UMAP_WARM: set[str] = set()
# From this many rows UMAP finds neighbours approximately (pynndescent), whose numba code is compiled apart.
UMAP_APPROXIMATE_ROWS = 4096


def warm_umap(rows: int = 0) -> float:
    """Compile UMAP's numba code once per process on a tiny random set; return the seconds it took.

    The first UMAP fit in a process pays the compilation (tens of seconds without a
    numba cache, a few with one); doing it apart lets the pipeline measure what a
    real fit costs and plan the budget from that. From :data:`UMAP_APPROXIMATE_ROWS`
    ``rows`` the nearest-neighbour search of pynndescent is compiled too: on satimage
    (6,435 rows) it made the first fit take 32.6 s instead of 10.6 s, so the pipeline
    planned every run at three times its cost and fitted one where two fitted.
    """
    import time

    import umap

    wanted = ["exact"] + (["approximate"] if rows >= UMAP_APPROXIMATE_ROWS else [])
    started = time.monotonic()
    tiny = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    for kind in wanted:
        if kind in _UMAP_WARM:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            umap.UMAP(n_components=2, n_neighbors=8, min_dist=0.0, random_state=0,
                      force_approximation_algorithm=kind == "approximate").fit(tiny)
        _UMAP_WARM.add(kind)
    return time.monotonic() - started


def display_map(embedding: np.ndarray, *, dims: int, seed: int = 0) -> np.ndarray:
    """UMAP of ``embedding`` to ``dims`` (2 or 3) coordinates for display (``min_dist=0.1``)."""
    import umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_components=dims, n_neighbors=min(15, max(2, len(embedding) - 1)), min_dist=0.1,
                            random_state=seed)
        return np.asarray(reducer.fit_transform(embedding), dtype=np.float32)


@dataclass
class Clustering:
    """A fitted clusterer and its labels on the rows it was fitted on.

    Attributes
    ----------
    algorithm : str
        'gmm', 'kmeans', 'agglomerative' or 'hdbscan'.
    n_clusters : int
        Clusters found (HDBSCAN's noise label -1 is not counted).
    labels : ndarray of int
    model : object
        The scikit-learn estimator.
    assigner : object or None
        For algorithms without ``predict`` (agglomerative, HDBSCAN): a nearest-neighbours
        classifier on the clustered rows that assigns new rows.
    """

    algorithm: str
    n_clusters: int
    labels: np.ndarray
    model: Any
    assigner: Any = None

    def predict(self, Z: np.ndarray) -> np.ndarray:
        """Cluster ids of new points ``Z`` in the space the clusterer was fitted in."""
        if self.assigner is not None:
            return np.asarray(self.assigner.predict(Z), dtype=np.int64)
        return np.asarray(self.model.predict(Z), dtype=np.int64)

    def predict_proba(self, Z: np.ndarray) -> np.ndarray | None:
        """Membership probabilities for mixtures, else None."""
        return self.model.predict_proba(Z) if hasattr(self.model, "predict_proba") else None


def _fit_algorithm(Z: np.ndarray, algorithm: str, k: int | None, seed: int, n_init: int = 3, *,
                   components: int | None = None, graph=None):
    """Fit ``algorithm`` with ``k`` clusters on ``Z``; return ``(model, labels)``.

    With ``components`` > k and a neighbour ``graph`` (a mixture on the UMAP manifold), the mixture
    is fitted with that many components which are then merged down to k along the graph
    (:func:`merge_components`); the model returned maps components to clusters.
    """
    if components is not None and k is not None and components > k and graph is not None:
        model, parts = _fit_algorithm(Z, algorithm, components, seed, n_init)
        # every component gets a cluster, including one that took no fitted row but may take a new one
        mapping = merge_components(parts, graph, k, n_labels=components)
        return _Relabelled(model, mapping), mapping[parts]
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
    from sklearn.mixture import GaussianMixture

    if algorithm == "gmm":
        from threadpoolctl import threadpool_limits

        model = GaussianMixture(k, covariance_type="full", n_init=n_init, random_state=seed, reg_covar=1e-5)
        # The mixture's matrices are tiny (k x d x d, d ~ 10): threaded BLAS only adds overhead, and on a
        # busy machine its threads oversubscribe the cores (a k sweep on 1,800 rows took 119 s instead of 5 s).
        with threadpool_limits(1):
            labels = model.fit(Z).predict(Z)
    elif algorithm == "kmeans":
        model = KMeans(k, n_init=max(n_init, 4), random_state=seed)
        labels = model.fit_predict(Z)
    elif algorithm == "agglomerative":
        model = AgglomerativeClustering(k, linkage="ward")
        labels = model.fit_predict(Z)
    elif algorithm == "hdbscan":
        model = HDBSCAN(min_cluster_size=max(5, len(Z) // 100), copy=True)
        labels = model.fit_predict(Z)
    else:  # pragma: no cover - guarded by check_method
        raise InputError(f"Unknown clustering algorithm {algorithm!r}.")
    return model, np.asarray(labels, dtype=np.int64)


def merge_components(labels: np.ndarray, graph, k: int, *, n_labels: int | None = None) -> np.ndarray:
    """Merge the clusters of ``labels`` down to ``k`` along a neighbour graph; return component -> cluster.

    Greedy modularity agglomeration (Clauset, Newman and Moore) on the graph between clusters:
    each step joins the two clusters whose union raises Newman's modularity most, i.e. the pair
    joined by the most neighbour-edge weight relative to what their sizes would give by chance.
    Over-clustering a UMAP manifold and merging this way splits blobs that hold two groups and
    joins groups that the mixture had cut in two, where a k-component mixture can only do one
    or the other (docs/clustering.md, "Over-clustering and merging").

    Parameters
    ----------
    labels : ndarray of int
        Cluster ids 0..m-1 (no noise).
    graph : sparse matrix
        Weighted, symmetric neighbour graph of the rows (UMAP's ``graph_``).
    k : int
        Clusters wanted.
    n_labels : int, optional
        Number of cluster ids m (default ``labels.max() + 1``); an id with no rows is merged like any other.

    Returns
    -------
    ndarray of int, shape (m,)
        The merged cluster (0..k-1) of each original cluster.
    """
    import scipy.sparse as sp

    labels = np.asarray(labels, dtype=np.int64)
    m = max(int(labels.max()) + 1, n_labels or 0)
    members = sp.csr_matrix((np.ones(len(labels)), (np.arange(len(labels)), labels)), shape=(len(labels), m))
    weight = np.asarray((members.T @ sp.csr_matrix(graph) @ members).todense(), dtype=float)
    total = max(float(weight.sum()), 1e-12)
    degree = weight.sum(axis=1)
    group = np.arange(m)
    alive = list(range(m))
    while len(alive) > max(k, 1):
        sub = np.ix_(alive, alive)
        gain = weight[sub] / total - np.outer(degree[alive], degree[alive]) / total ** 2
        np.fill_diagonal(gain, -np.inf)
        i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
        a, b = alive[i], alive[j]
        weight[a, :] += weight[b, :]
        weight[:, a] += weight[:, b]
        degree[a] += degree[b]
        group[group == b] = a
        alive.remove(b)
    _, mapping = np.unique(group, return_inverse=True)
    return mapping.astype(np.int64)


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Map cluster ids so 0 is the largest cluster (noise -1 stays -1): stable, readable ids."""
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    mapping = np.full(labels.max() + 2 if len(labels) else 1, -1, dtype=np.int64)
    mapping[order] = np.arange(len(order))
    out = labels.copy()
    out[labels >= 0] = mapping[labels[labels >= 0]]
    return out


class _Relabelled:
    """Wrap a predictor so new rows get the ids the fitted rows got: size-ordered, or merged components.

    ``mapping`` takes the model's own ids to the returned ones; several may map to one (components
    merged into a cluster), whose probabilities are then summed.
    """

    def __init__(self, model, mapping: np.ndarray):
        self.model = model
        self.mapping = mapping

    def predict(self, Z):
        raw = np.asarray(self.model.predict(Z), dtype=np.int64)
        out = raw.copy()
        out[raw >= 0] = self.mapping[raw[raw >= 0]]
        return out

    def predict_proba(self, Z):
        proba = np.asarray(self.model.predict_proba(Z))
        mapping = self.mapping[: proba.shape[1]]
        # a component that took no fitted row has no id (-1): its share is dropped and rows renormalised
        used = mapping >= 0
        out = proba[:, used] @ np.eye(int(mapping.max()) + 1, dtype=proba.dtype)[mapping[used]]
        return out / np.maximum(out.sum(axis=1, keepdims=True), 1e-12)

    def __getattr__(self, name):
        model = self.__dict__.get("model")
        if model is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(model, name)


def fit_clustering(Z: np.ndarray, algorithm: str, n_clusters: int | None, *, seed: int = 0,
                   components: int | None = None, graph=None) -> Clustering:
    """Fit one algorithm with a given k on points ``Z``; ids are ordered by cluster size.

    ``components`` and ``graph``: over-cluster and merge along the graph (see :func:`_fit_algorithm`).
    """
    from sklearn.neighbors import KNeighborsClassifier

    if algorithm != "hdbscan":
        if n_clusters is None or n_clusters < 1:
            raise InputError(f"`n_clusters` must be a positive integer, got {n_clusters!r}.")
        if n_clusters > len(Z):
            raise InputError(f"n_clusters={n_clusters} is more than the {len(Z)} rows to cluster.")
    model, raw = _fit_algorithm(Z, algorithm, n_clusters, seed, components=components, graph=graph)
    labels = _relabel_by_size(raw)
    assigner = None
    if algorithm in ("agglomerative", "hdbscan"):
        # Neither algorithm can place new points; the majority of the nearest clustered rows does.
        assigner = KNeighborsClassifier(n_neighbors=min(10, len(Z))).fit(Z, labels)
    else:
        mapping = np.full(max(raw.max() + 1, 1), -1, dtype=np.int64)
        for old in np.unique(raw):
            mapping[old] = labels[np.argmax(raw == old)]
        model = _Relabelled(model, mapping)
    found = int(len(np.unique(labels[labels >= 0])))
    return Clustering(algorithm, found, labels, model, assigner)


def _silhouette(Z: np.ndarray, labels: np.ndarray, seed: int) -> float:
    keep = labels >= 0
    if len(np.unique(labels[keep])) < 2 or keep.sum() < 3:
        return float("nan")
    sample = min(_SILHOUETTE_ROWS, int(keep.sum()))
    return float(skm.silhouette_score(Z[keep], labels[keep], sample_size=sample, random_state=seed))


def criterion_for(space: str, algorithm: str) -> str | None:
    """The k-selection criterion of a method: 'bic', 'silhouette' or None (HDBSCAN)."""
    if algorithm == "hdbscan":
        return None
    return "silhouette" if space == "manifold" else CRITERIA[algorithm]


def select_k(Z: np.ndarray, algorithm: str, ks, *, seed: int = 0, criterion: str | None = None
             ) -> tuple[Clustering, pd.DataFrame]:
    """Fit ``algorithm`` for every k in ``ks`` and keep the best by its criterion.

    ``criterion`` 'bic' (mixtures only; lowest wins) or 'silhouette' (the
    smallest k within ``SILHOUETTE_TOLERANCE`` of the highest); by default
    BIC for mixtures, silhouette otherwise.

    Returns
    -------
    (Clustering, DataFrame)
        The chosen clustering, and the curve: ``k``, ``criterion``, ``value``,
        ``better`` ('lower' or 'higher'), ``chosen``.
    """
    criterion = criterion or CRITERIA[algorithm]
    if criterion == "bic" and algorithm != "gmm":
        raise InputError(f"BIC needs a mixture model; {algorithm!r} is chosen by silhouette.")
    if criterion is None:
        raise InputError(f"{algorithm!r} chooses its own number of clusters; leave `n_clusters` at 'auto'.")
    rows, fits = [], {}
    for k in ks:
        if k >= len(Z):
            break
        model, raw = _fit_algorithm(Z, algorithm, k, seed, n_init=2)
        value = float(model.bic(Z)) if criterion == "bic" else _silhouette(Z, raw, seed)
        rows.append({"k": int(k), "criterion": criterion, "value": value})
        fits[k] = value
    if not rows:
        raise InputError(f"Too few rows ({len(Z)}) to choose a number of clusters.")
    curve = pd.DataFrame(rows)
    values = curve["value"].to_numpy(dtype=float)
    values = np.where(np.isfinite(values), values, np.inf if criterion == "bic" else -np.inf)
    if criterion == "bic":
        best = int(curve["k"].iloc[int(np.argmin(values))])
    else:
        best = int(curve["k"].iloc[int(np.flatnonzero(values >= values.max() - SILHOUETTE_TOLERANCE)[0])])
    curve["better"] = "lower" if criterion == "bic" else "higher"
    curve["chosen"] = curve["k"] == best
    return fit_clustering(Z, algorithm, best, seed=seed), curve


def clustering_accuracy(y_true, y_pred) -> float:
    """Accuracy under the best one-to-one matching of clusters to classes (Hungarian method)."""
    _, true_codes = np.unique(np.asarray(y_true), return_inverse=True)
    _, pred_codes = np.unique(np.asarray(y_pred), return_inverse=True)
    table = np.zeros((pred_codes.max() + 1, true_codes.max() + 1), dtype=np.int64)
    np.add.at(table, (pred_codes, true_codes), 1)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(true_codes))


def cluster_scores(Z: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> dict[str, float]:
    """Internal scores on the clustered points: silhouette (higher better), Davies-Bouldin (lower
    better), Calinski-Harabasz (higher better). Noise points (label -1) are left out; NaN when
    fewer than two clusters remain."""
    keep = labels >= 0
    out = {"silhouette": _silhouette(Z, labels, seed), "davies_bouldin": float("nan"),
           "calinski_harabasz": float("nan")}
    if len(np.unique(labels[keep])) >= 2:
        out["davies_bouldin"] = float(skm.davies_bouldin_score(Z[keep], labels[keep]))
        out["calinski_harabasz"] = float(skm.calinski_harabasz_score(Z[keep], labels[keep]))
    return out


def label_scores(y_true, labels: np.ndarray) -> dict[str, float]:
    """Agreement with known labels: ``acc`` (Hungarian), ``nmi``, ``ari``. Rows with a missing
    label are left out."""
    y = pd.Series(y_true)
    known = y.notna().to_numpy()
    truth = y[known].astype(str).to_numpy()
    pred = labels[known]
    return {"acc": clustering_accuracy(truth, pred),
            "nmi": float(skm.normalized_mutual_info_score(truth, pred)),
            "ari": float(skm.adjusted_rand_score(truth, pred))}


def cluster_profiles(frame: pd.DataFrame, labels: np.ndarray, schema, *, top: int = 5) -> pd.DataFrame:
    """What sets each cluster apart, in the data's own units.

    For numeric (and boolean, datetime) columns: the cluster's mean against the
    mean of the other rows, ranked by the difference in pooled standard
    deviations. For categorical columns: the level most over-represented in the
    cluster, its share there and elsewhere, ranked by the same scale for a
    proportion.

    Parameters
    ----------
    frame : DataFrame
        The input rows (the schema's used columns in canonical dtypes).
    labels : ndarray of int
    schema : Schema
    top : int, default=5
        Features kept per cluster.

    Returns
    -------
    DataFrame
        One row per (cluster, feature), largest effect first within a cluster;
        columns ``cluster``, ``size``, ``share``, ``rank``, ``feature``, ``kind``,
        ``cluster_value``, ``rest_value``, ``difference``, ``effect``, ``description``.
    """
    rows = []
    n = len(labels)
    numeric = {name: _numeric_values(frame[name], role) for name, role in
               ((c.name, c.role) for c in schema.columns if c.role in ("numeric", "boolean", "datetime"))
               if name in frame.columns}
    categorical = [c.name for c in schema.columns if c.role == "categorical" and c.name in frame.columns]
    for cluster in sorted(np.unique(labels)):
        inside = labels == cluster
        size = int(inside.sum())
        candidates = []
        for name, values in numeric.items():
            a, b = values[inside], values[~inside]
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            if len(a) == 0 or len(b) == 0:
                continue
            # the effect is scale-free: computing it on values divided by their largest magnitude
            # keeps the variance finite for numbers near the float64 limit
            scale = max(float(np.abs(a).max()), float(np.abs(b).max())) or 1.0
            pooled = np.sqrt((np.var(a / scale) + np.var(b / scale)) / 2)
            difference = float(a.mean() - b.mean())
            effect = (difference / scale) / pooled if pooled > 0 else 0.0
            role = schema_role(schema, name)
            unit = " (days since 1970)" if role == "datetime" else ""
            candidates.append({"feature": name, "kind": role, "cluster_value": float(a.mean()),
                               "rest_value": float(b.mean()), "difference": difference, "effect": float(effect),
                               "description": f"{name}{unit}: mean {a.mean():.4g} vs {b.mean():.4g} elsewhere"})
        for name in categorical:
            values = frame[name].astype(object).where(frame[name].notna(), "(missing)").astype(str).to_numpy()
            levels, codes = np.unique(values, return_inverse=True)
            if len(levels) < 2:
                continue
            share_in = np.bincount(codes[inside], minlength=len(levels)) / max(size, 1)
            share_out = np.bincount(codes[~inside], minlength=len(levels)) / max(n - size, 1)
            gap = share_in - share_out
            j = int(np.argmax(np.abs(gap)))
            p = (share_in[j] + share_out[j]) / 2
            effect = gap[j] / np.sqrt(p * (1 - p)) if 0 < p < 1 else 0.0
            candidates.append({"feature": f"{name}={levels[j]}", "kind": "categorical",
                               "cluster_value": float(share_in[j]), "rest_value": float(share_out[j]),
                               "difference": float(gap[j]), "effect": float(effect),
                               "description": f"{name} = {levels[j]}: {share_in[j]:.0%} of the cluster vs "
                                              f"{share_out[j]:.0%} elsewhere"})
        candidates.sort(key=lambda c: -abs(c["effect"]))
        for rank, c in enumerate(candidates[:top], start=1):
            rows.append({"cluster": int(cluster), "size": size, "share": size / n, "rank": rank, **c})
        if not candidates:
            rows.append({"cluster": int(cluster), "size": size, "share": size / n, "rank": 0, "feature": None,
                         "kind": None, "cluster_value": np.nan, "rest_value": np.nan, "difference": np.nan,
                         "effect": np.nan, "description": ""})
    columns = ["cluster", "size", "share", "rank", "feature", "kind", "cluster_value", "rest_value",
               "difference", "effect", "description"]
    return pd.DataFrame(rows, columns=columns)


def schema_role(schema, name: str) -> str:
    """Role of column ``name`` in ``schema``."""
    for c in schema.columns:
        if c.name == name:
            return c.role
    return "dropped"


def _numeric_values(column: pd.Series, role: str) -> np.ndarray:
    if role == "datetime":
        parsed = pd.to_datetime(column, errors="coerce")
        return ((parsed - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0).to_numpy(
            dtype=float, na_value=np.nan)
    return pd.to_numeric(column, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
