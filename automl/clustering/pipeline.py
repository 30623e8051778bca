"""``automl.cluster`` and ``automl.embed``: the orchestrators of the clustering stages.

input checks -> schema and preprocessing (shared with ``fit``) -> autoencoder
(searched with KerasTuner, or fixed) -> embedding -> manifold (UMAP) ->
clustering with a chosen k -> scores, profiles, display maps -> ClusterResult.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..budget import Budget
from ..data import check_column, check_number, infer_schema, read_table
from ..errors import InputError
from ..preprocess import build_preprocessor, choose_numeric_scaling, prepare_rows
from ..progress import make_hooks
from .autoencoder import ARCHITECTURE_KEYS, Autoencoder, search_autoencoder
from .methods import (METHODS, check_method, cluster_profiles, cluster_scores, criterion_for, display_map,
                      fit_clustering, k_range_for, label_scores, make_manifold, manifold_settings, select_k)
from .result import ClusterResult

__all__ = ["cluster", "embed"]

# Share of the time budget the autoencoder search may use; UMAP and clustering need the rest.
_SEARCH_SHARE = 0.6
_MIN_ROWS = 20


def _check_labels(frame: pd.DataFrame, labels) -> str | None:
    return None if labels is None else check_column(frame, labels, argument="labels", role="`labels`")


def _check_n_clusters(n_clusters, method: str) -> int | None:
    if isinstance(n_clusters, str):
        if n_clusters != "auto":
            raise InputError(f"`n_clusters` must be 'auto' or an integer >= 2, got {n_clusters!r}.")
        return None
    check_number(n_clusters, "n_clusters", integer=True, low=2)
    if METHODS[method][1] == "hdbscan":
        raise InputError(f"method={method!r} finds the number of clusters itself; pass n_clusters='auto'.")
    return int(n_clusters)


def _prepare(data, labels, *, argument: str = "data"):
    """Read the input, keep the labels column out, infer the schema and fit the preprocessing."""
    frame = read_table(data, argument=argument)
    label_column = _check_labels(frame, labels)
    if len(frame) < _MIN_ROWS:
        raise InputError(f"`{argument}` has {len(frame)} rows; clustering needs at least {_MIN_ROWS}.")
    schema = infer_schema(frame, exclude=[label_column] if label_column else [])
    # Recorded as the schema's target so new rows may carry the labels column without a warning.
    schema.target = label_column
    # Distances between rows are what clustering sees: keep commensurable columns on one scale.
    preprocessor = build_preprocessor(schema, len(frame), numeric_scaling=choose_numeric_scaling(frame, schema))
    every_row = np.arange(len(frame))
    X = prepare_rows(preprocessor, frame, every_row, fit_rows=every_row)
    return frame, label_column, schema, preprocessor, X


def _autoencoder(X: np.ndarray, autoencoder, *, budget: Budget, max_trials, seed, directory, hooks):
    """Fit the requested autoencoder: searched (None), fixed (dict / Autoencoder) or none (False)."""
    if autoencoder is False:
        return None, pd.DataFrame()
    if autoencoder is None:
        hooks.on_family_begin("autoencoder", budget.remaining())
        best, trials = search_autoencoder(X, budget=budget, max_trials=max_trials, seed=seed,
                                          directory=directory, hooks=hooks)
        hooks.on_family_end("autoencoder", 1)
        return best, trials
    if isinstance(autoencoder, dict):
        unknown = sorted(set(autoencoder) - set(Autoencoder().get_params()))
        if unknown:
            raise InputError(f"Unknown `autoencoder` key(s) {unknown}; use {sorted(ARCHITECTURE_KEYS)} "
                             "(and epochs, patience, batch_size).")
        model = Autoencoder(**{"seed": seed, **autoencoder})
    elif isinstance(autoencoder, Autoencoder):
        from sklearn.base import clone
        model = clone(autoencoder)
    else:
        raise InputError("`autoencoder` must be None (search), False (no autoencoder), a dict of architecture "
                         f"keys or an automl.Autoencoder, got {type(autoencoder).__name__}.")
    model.fit(X, budget=budget)
    trials = pd.DataFrame([{"trial": 0, "val_loss": model.val_loss_, "score": -model.val_loss_, "status": "ok",
                            "params": model.architecture(), "epochs": len(model.history_.get("loss", [])),
                            "time_s": model.fit_time_s_, "family": "autoencoder", "best": True}])
    return model, trials


def embed(data, *, labels: str | None = None, autoencoder=None, seed: int = 0, time_budget: float = 60.0,
          max_trials: int | None = None, directory: str | None = None, verbose: int = 0) -> np.ndarray:
    """Embed the rows of ``data`` with an autoencoder (searched, or the architecture given).

    Parameters
    ----------
    data : DataFrame or path
    labels : str, optional
        A column to leave out of the features (e.g. known classes).
    autoencoder : dict or Autoencoder, optional
        Fixed architecture; the search runs when omitted.
    seed : int, default=0
    time_budget : float, default=60
        Seconds for the autoencoder search.
    max_trials : int, optional
    directory : str, optional
        Where KerasTuner keeps the search.
    verbose : int, default=0

    Returns
    -------
    ndarray of shape (n_rows, code_size)
        One embedding row per input row, in input order.

    Examples
    --------
    >>> Z = automl.embed(automl.datasets.wine(), labels="target", time_budget=20)  # doctest: +SKIP
    """
    check_number(time_budget, "time_budget", low=1)
    check_number(seed, "seed", integer=True, low=0)
    if autoencoder is False:
        raise InputError("`autoencoder=False` has no embedding to return; pass None to search or an architecture.")
    _, _, _, _, X = _prepare(data, labels)
    model, _ = _autoencoder(X, autoencoder, budget=Budget(float(time_budget)), max_trials=max_trials, seed=seed,
                            directory=directory, hooks=make_hooks(verbose))
    return model.transform(X)


def cluster(
    data,
    n_clusters: int | str = "auto",
    *,
    labels: str | None = None,
    method: str = "umap_gmm",
    seed: int = 0,
    time_budget: float = 60.0,
    max_trials: int | None = None,
    autoencoder=None,
    k_max: int | None = None,
    n_components: int | None = None,
    n_neighbors: int | None = None,
    verbose: int = 1,
    directory: str | None = None,
    callbacks: Iterable[Any] | None = None,
) -> ClusterResult:
    """Cluster the rows of ``data`` on an autoencoder embedding and map them with UMAP.

    Parameters
    ----------
    data : DataFrame or path
        Rows to cluster; CSV, Parquet, Feather and JSON paths are read for you.
        Columns are typed and preprocessed exactly as in :func:`automl.fit`.
    n_clusters : int or 'auto', default='auto'
        With 'auto', k is chosen among 2..``k_max``: by the silhouette in the
        clustered space (the smallest k within 0.002 of the best), or by the
        lowest BIC for a Gaussian mixture on the embedding ('gmm'); the curve
        is kept in ``result.k_curve``.
    labels : str, optional
        A column of known classes: kept out of training, used only to score
        (``acc``, ``nmi``, ``ari``) and to colour maps.
    method : str, default='umap_gmm'
        'umap_gmm' (N2D: UMAP of the embedding to ``n_components`` dimensions,
        then a Gaussian mixture), 'umap_kmeans', 'umap_agglomerative',
        'umap_hdbscan', or 'gmm', 'kmeans', 'agglomerative', 'hdbscan' on the
        embedding itself.
    seed : int, default=0
    time_budget : float, default=60
        Seconds; most goes to the autoencoder search, which stops starting
        trials when its share runs out.
    max_trials : int, optional
        Cap on autoencoder trials (default 12).
    autoencoder : dict, Autoencoder or False, optional
        A fixed architecture (e.g. ``{"hidden": (256, 128), "code_size": 10}``)
        instead of the search; False clusters the preprocessed features directly.
    k_max : int, optional
        Largest k tried by 'auto' (default 15).
    n_components, n_neighbors : int, optional
        UMAP settings of the manifold step (default 10 and 20).
    verbose : int, default=1
        0 silent; 1 progress.
    directory : str, optional
        Where KerasTuner keeps the autoencoder search.
    callbacks : list, optional
        Progress listeners (see :class:`automl.progress.Callback`).

    Returns
    -------
    ClusterResult

    Examples
    --------
    >>> digits = automl.datasets.digits()
    >>> result = automl.cluster(digits, labels="digit", time_budget=60)  # doctest: +SKIP
    >>> result.scores["acc"]                                              # doctest: +SKIP
    """
    started = time.monotonic()
    method = check_method(method)
    k_fixed = _check_n_clusters(n_clusters, method)
    check_number(time_budget, "time_budget", low=1)
    check_number(seed, "seed", integer=True, low=0)
    check_number(max_trials, "max_trials", integer=True, low=1, allow_none=True)
    check_number(k_max, "k_max", integer=True, low=2, allow_none=True)
    check_number(n_components, "n_components", integer=True, low=2, allow_none=True)
    check_number(n_neighbors, "n_neighbors", integer=True, low=2, allow_none=True)
    frame, label_column, schema, preprocessor, X = _prepare(data, labels)
    budget = Budget(float(time_budget))
    hooks = make_hooks(verbose, callbacks)
    hooks.on_fit_begin({"task": "clustering", "metric": "reconstruction loss", "rows": len(frame),
                        "columns": len(schema.used), "families": ["autoencoder", method],
                        "time_budget": float(time_budget)})
    encoder, trials = _autoencoder(X, autoencoder, budget=budget.share(_SEARCH_SHARE), max_trials=max_trials,
                                   seed=seed, directory=directory, hooks=hooks)
    embedding = X if encoder is None else encoder.transform(X)

    space, algorithm = METHODS[method]
    reducer, manifold = None, None
    if space == "manifold":
        reducer, manifold = make_manifold(embedding, seed=seed, n_components=n_components, n_neighbors=n_neighbors)
    Z = manifold if space == "manifold" else embedding
    if k_fixed is None and algorithm != "hdbscan":
        clustering, k_curve = select_k(Z, algorithm, k_range_for(len(Z), k_max), seed=seed,
                                       criterion=criterion_for(space, algorithm))
    else:
        clustering = fit_clustering(Z, algorithm, k_fixed, seed=seed)
        k_curve = pd.DataFrame(columns=["k", "criterion", "value", "better", "chosen"])
    assigned = clustering.labels
    scores = cluster_scores(Z, assigned, seed=seed)
    truth = frame[label_column].reset_index(drop=True) if label_column else None
    if truth is not None:
        scores.update(label_scores(truth, assigned))
    data_rows = schema.coerce(frame, warn_drift=False).reset_index(drop=True)
    profiles = cluster_profiles(data_rows, assigned, schema)
    map2d = display_map(embedding, dims=2, seed=seed)
    info = {
        "rows": int(len(frame)), "k_max": k_max, "columns": int(len(schema.used)), "features": int(X.shape[1]),
        "embedding_dim": int(embedding.shape[1]), "method": method, "space": space, "algorithm": algorithm,
        "n_clusters": int(clustering.n_clusters), "k_chosen": "auto" if k_fixed is None else "given",
        "criterion": None if k_fixed is not None else (None if algorithm == "hdbscan" else k_curve["criterion"].iloc[0]),
        "manifold": manifold_settings(len(embedding), n_components, n_neighbors) if space == "manifold" else None,
        "autoencoder": None if encoder is None else encoder.architecture(),
        "autoencoder_val_loss": None if encoder is None else float(encoder.val_loss_),
        "autoencoder_trials": int(len(trials)), "score_space": space, "labels_column": label_column,
        "seed": int(seed), "time_budget_s": float(time_budget), "elapsed_s": round(time.monotonic() - started, 3),
        "noise_rows": int((assigned < 0).sum()),
    }
    return ClusterResult(
        labels=assigned, embedding=embedding, manifold=manifold, map2d=map2d, scores=scores, profiles=profiles,
        k_curve=k_curve, schema=schema, info=info, data=data_rows, true_labels=truth, label_column=label_column,
        preprocessor=preprocessor, encoder=encoder, reducer=reducer, clustering=clustering, trials=trials,
    )
