"""``automl.cluster`` and ``automl.embed``: the orchestrators of the clustering stages.

input checks -> schema and preprocessing (shared with ``fit``) -> candidate
representations (the features; the autoencoder's embedding, searched in the
time the rest of the call leaves, or fixed) -> seeded UMAP runs of each ->
k and representation chosen by silhouette and stability
(:mod:`automl.clustering.selection`) -> the most typical run kept -> scores,
profiles, display maps -> ClusterResult.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..budget import Budget
from ..data import check_column, check_number, infer_schema, read_table
from ..errors import InputError
from ..preprocess import build_preprocessor, choose_numeric_scaling, prepare_rows
from ..progress import make_hooks
from .autoencoder import ARCHITECTURE_KEYS, Autoencoder
from .autoencoder_search import search_autoencoder
from .methods import (METHODS, check_method, cluster_profiles, cluster_scores, display_map, fit_clustering,
                      k_range_for, label_scores, manifold_settings, warm_umap)
from .result import ClusterResult
from .selection import (REPRESENTATION_MARGIN, Candidate, choose_k, choose_representation, make_runs,
                        most_stable_run, partitions_at, quality_by_k, refine_partitions, run_seeds)

__all__ = ["cluster", "embed"]

# Seeded runs (UMAP fits, clusterer seeds) per representation: two measure stability, a third (time
# allowing) makes the run kept the typical one.
_RUNS = 3
# Below this many rows the autoencoder search is skipped by default: too few rows to learn an embedding that
# beats the features, and the search would dominate the time of a call that should take seconds.
_AE_MIN_ROWS = 300
# A search shorter than this cannot finish a trial worth having (TensorFlow start-up included).
_MIN_SEARCH_S = 8.0
_CRITERION = "quality"
_MIN_ROWS = 20
# The unscaled columns are a candidate only when their variance is spread over at least this many columns'
# worth (the inverse Simpson index of the variance shares): below it one column's range sets the distances.
# On wine, penguins and leaf one column carries over 99.8% of it (proline, body mass, leaf area; effective
# columns 1.00); on wine the unscaled columns clustered by proline alone, perfectly stable, and were chosen
# on two seeds of three (ACC 0.725 against 0.933). Two equally wide columns make 2.0, a little less when
# their spreads differ, so the bar sits halfway; segment, where they help most, has 7.5 (docs/clustering.md).
_MIN_EFFECTIVE_COLUMNS = 1.5


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
    scaling = choose_numeric_scaling(frame, schema)
    preprocessor = build_preprocessor(schema, len(frame), numeric_scaling=scaling)
    X = _prepared(preprocessor, frame)
    return frame, label_column, schema, preprocessor, X, scaling


def _prepared(preprocessor, frame: pd.DataFrame) -> np.ndarray:
    every_row = np.arange(len(frame))
    return prepare_rows(preprocessor, frame, every_row, fit_rows=every_row)


def _unscaled(frame: pd.DataFrame, schema, scaling: str) -> tuple[Candidate | None, str | None]:
    """The numeric columns on their own scales (one shared factor) as a candidate, or None and why not.

    Standardising gives every column the same say in the distances. Where the
    columns' own ranges carry meaning (measurements of one object in related
    units, pixel-like values with a few wide columns), that throws information
    away: on KEEL's segment table UMAP + GMM reach ACC 0.78 on the raw columns
    against 0.55 standardised (docs/clustering.md). Which one clusters better is
    left to the label-free quality. Not offered when the columns are already on
    one shared scale ('joint'), fewer than two are numeric, or one column's range
    would set the distances alone (:data:`_MIN_EFFECTIVE_COLUMNS`): a clustering of one
    column is stable, so the quality would not see what it misses.
    """
    numeric = schema.names("numeric")
    if scaling != "standard" or len(numeric) < 2:
        return None, None
    values = schema.coerce(frame, warn_drift=False)[numeric].apply(pd.to_numeric, errors="coerce")
    variances = values.astype(float).var().fillna(0.0).to_numpy()
    total = float(variances.sum())
    shares = variances / total if total > 0 else variances
    effective = 1.0 / float(np.sum(shares ** 2)) if total > 0 else 0.0
    if effective < _MIN_EFFECTIVE_COLUMNS:
        top = numeric[int(np.argmax(shares))]
        return None, (f"one column sets the unscaled distances: {top!r} carries {shares.max():.1%} of the numeric "
                      f"variance ({effective:.2f} effective columns, fewer than {_MIN_EFFECTIVE_COLUMNS:g})")
    preprocessor = build_preprocessor(schema, len(frame), numeric_scaling="unscaled")
    return Candidate("unscaled", _prepared(preprocessor, frame), preprocessor=preprocessor), None


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
    X = _prepare(data, labels)[4]
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
    """Cluster the rows of ``data`` on the representation that clusters best, and map them with UMAP.

    The candidates are the preprocessed features, the numeric columns on their
    own scales (when they are not on one scale already) and, from 300 rows and
    when the budget leaves time for it, the embedding of the searched
    autoencoder. Each is
    fitted with several seeded UMAP runs and judged without labels by its
    *quality*: the mean of the silhouette of its clusterings and their stability
    (ARI between runs). Another representation replaces the features only when it
    beats them by a margin; the table is ``result.selection``, the choice and its
    runner-up ``result.info["representation"]``. The labels are those of the run
    that agrees best with the others, and the seed-to-seed spread is
    ``result.info["stability"]``; the same seed gives the same labels.

    Parameters
    ----------
    data : DataFrame or path
        Rows to cluster; CSV, Parquet, Feather and JSON paths are read for you.
        Columns are typed and preprocessed exactly as in :func:`automl.fit`.
    n_clusters : int or 'auto', default='auto'
        With 'auto', k is chosen among 2..``k_max`` by the same quality
        (silhouette and stability across runs): the smallest k within 0.01 of
        the best. The curve is ``result.k_curve``, the runner-up k
        ``result.info["k_runner_up"]``.
    labels : str, optional
        A column of known classes: kept out of training, used only to score
        (``acc``, ``nmi``, ``ari``) and to colour maps.
    method : str, default='umap_gmm'
        'umap_gmm' (N2D: UMAP of the embedding to ``n_components`` dimensions,
        then a Gaussian mixture), 'umap_kmeans', 'umap_agglomerative',
        'umap_hdbscan', or 'gmm', 'kmeans', 'agglomerative', 'hdbscan' on the
        embedding itself.
    seed : int, default=0
        Seeds every run (derived seeds for the extra runs). A pinned seed makes
        umap-learn run single-threaded: reproducibility costs UMAP's parallelism.
    time_budget : float, default=60
        Seconds for the whole call. The first UMAP fit is timed, the time the
        remaining fits, clustering and maps need is kept back, and the
        autoencoder search gets the rest (it is skipped when that is under
        8 s); extra runs are skipped when time runs short. UMAP's one-off
        numba compilation in a fresh process counts too.
    max_trials : int, optional
        Cap on autoencoder trials (default 12).
    autoencoder : dict, Autoencoder or False, optional
        A fixed architecture (e.g. ``{"hidden": (256, 128), "code_size": 10}``)
        instead of the search, used as given (no selection); False clusters the
        preprocessed features directly.
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
    budget = Budget(float(time_budget))
    frame, label_column, schema, preprocessor, X, scaling = _prepare(data, labels)
    if k_fixed is not None and k_fixed >= len(X):
        raise InputError(f"n_clusters={k_fixed} needs more than {len(X)} rows; pass a smaller `n_clusters`.")
    hooks = make_hooks(verbose, callbacks)
    hooks.on_fit_begin({"task": "clustering", "metric": "reconstruction loss", "rows": len(frame),
                        "columns": len(schema.used), "families": ["autoencoder", method],
                        "time_budget": float(time_budget)})
    space, algorithm = METHODS[method]
    on_manifold = space == "manifold"
    ks = [None] if algorithm == "hdbscan" else ([k_fixed] if k_fixed is not None
                                                 else list(k_range_for(len(X), k_max)))
    seeds = run_seeds(seed, _RUNS)
    plan = _Plan(budget)
    if on_manifold:
        with plan.timed("umap_compile"):
            warm_umap(len(X))

    def runs_of(candidate, how_many):
        before = len(candidate.runs)
        with plan.timed("umap"):
            make_runs(candidate, seeds[:how_many], manifold=on_manifold, n_components=n_components,
                      n_neighbors=n_neighbors)
        plan.spent["umap_runs"] = plan.spent.get("umap_runs", 0) + len(candidate.runs) - before

    # 1. The preprocessed features (always a candidate unless a fixed autoencoder is given): one run first,
    #    whose measured cost plans the rest of the call.
    candidates: list[Candidate] = []
    skipped: dict[str, str] = {}
    encoder, trials = None, pd.DataFrame()
    if autoencoder is None or autoencoder is False:
        features = Candidate("features", X)
        runs_of(features, 1)
        candidates.append(features)
        # the second run, which measures stability, comes before the search: the search's first trial always
        # trains to the end, and may overrun its share
        if plan.affords(plan.run_cost(features) * 2 + plan.finish_cost()):
            runs_of(features, 2)
        unscaled, why_not = _unscaled(frame, schema, scaling)
        if why_not:
            skipped["unscaled"] = why_not
        if unscaled is not None:
            if plan.affords(plan.run_cost(features) * 3 + plan.finish_cost()):
                runs_of(unscaled, 2)
                candidates.append(unscaled)
            else:
                skipped["unscaled"] = "time: no room for its two UMAP runs"
    # 2. The autoencoder: searched in the time the rest of the call leaves, or fixed as given.
    if autoencoder is None:
        reserve = plan.after_search(len(features.runs) > 1)
        search_s = budget.remaining() - reserve
        if len(X) < _AE_MIN_ROWS:
            skipped["autoencoder"] = (f"{len(X)} rows: too few to learn an embedding that beats the features "
                                      f"(the search runs from {_AE_MIN_ROWS} rows)")
        elif search_s < _MIN_SEARCH_S:
            skipped["autoencoder"] = (f"time: {max(search_s, 0):.0f} s left for the search after planning "
                                      f"{reserve:.0f} s for UMAP, clustering and maps")
        else:
            with plan.timed("search"):
                encoder, trials = _autoencoder(X, None, budget=Budget(search_s), max_trials=max_trials,
                                               seed=seed, directory=directory, hooks=hooks)
    elif autoencoder is not False:
        with plan.timed("search"):
            encoder, trials = _autoencoder(X, autoencoder, budget=budget, max_trials=max_trials, seed=seed,
                                           directory=directory, hooks=hooks)
    if encoder is not None:
        learned = Candidate("autoencoder", encoder.transform(X), encoder=encoder)
        runs_of(learned, 1)
        candidates.append(learned)
    # 3. A second run of every candidate measures stability; then k and the representation are chosen.
    for c in candidates:
        if len(c.runs) < 2 and plan.affords(plan.run_cost(c) + plan.finish_cost()):
            runs_of(c, 2)
    chosen_k = {}
    with plan.timed("cluster"):
        for c in candidates:
            chosen_k[c.name], _ = choose_k(quality_by_k(c, algorithm, ks, seed=seed))
            refine_partitions(c, algorithm, chosen_k[c.name], seed=seed)
    chosen, selection = choose_representation(candidates, chosen_k)
    # 4. More runs of the chosen one, when time allows, make the kept run the typical one.
    for extra in range(3, _RUNS + 1):
        if not plan.affords(plan.run_cost(chosen) * 1.3 + plan.finish_cost()):
            skipped["runs"] = f"time: {len(chosen.runs)} of {_RUNS} runs fitted"
            break
        runs_of(chosen, extra)
    key = chosen_k[chosen.name]
    with plan.timed("cluster"):
        kept, stability = most_stable_run(partitions_at(chosen, algorithm, key, seed=seed))
    run = chosen.runs[kept]
    with plan.timed("cluster"):
        clustering = fit_clustering(run.space, algorithm, None if key < 0 else key, seed=seed + run.seed,
                                    components=chosen.components.get(key), graph=run.graph)
    assigned = clustering.labels
    embedding, encoder_used = chosen.data, chosen.encoder
    if chosen.preprocessor is not None:
        preprocessor = chosen.preprocessor
    k_curve = pd.DataFrame(columns=["k", "criterion", "value", "better", "chosen"])
    if k_fixed is None and algorithm != "hdbscan":
        k_curve = _k_curve(chosen.curve, clustering.n_clusters, key)
    Z = run.space
    scores = cluster_scores(Z, assigned, seed=seed)
    truth = frame[label_column].reset_index(drop=True) if label_column else None
    if truth is not None:
        scores.update(label_scores(truth, assigned))
        # scored only, never used to choose: lets a user with labels see whether the quality tracked them
        by_name = {c.name: c for c in candidates}
        selection["acc"] = [np.mean([label_scores(truth, p)["acc"] for p in
                                     by_name[name].partitions[chosen_k[name]]])
                            for name in selection["representation"]]
    data_rows = schema.coerce(frame, warn_drift=False).reset_index(drop=True)
    profiles = cluster_profiles(data_rows, assigned, schema)
    with plan.timed("maps"):
        map2d = display_map(embedding, dims=2, seed=seed)
    runner = selection.loc[~selection["chosen"]]
    info = {
        "rows": int(len(frame)), "k_max": k_max, "columns": int(len(schema.used)), "features": int(X.shape[1]),
        "embedding_dim": int(embedding.shape[1]), "method": method, "space": space, "algorithm": algorithm,
        "n_clusters": int(clustering.n_clusters), "k_chosen": "auto" if k_fixed is None else "given",
        # mixture components merged into the clusters along UMAP's graph (None: a plain k-component mixture)
        "components": chosen.components.get(key),
        "criterion": None if k_fixed is not None or algorithm == "hdbscan" else _CRITERION,
        "k_runner_up": None if k_curve.empty else _runner_up(k_curve),
        "manifold": manifold_settings(len(embedding), n_components, n_neighbors) if on_manifold else None,
        "representation": {
            "chosen": chosen.name, "runner_up": None if runner.empty else str(runner["representation"].iloc[0]),
            "criterion": "quality = (silhouette + stability) / 2; another representation must beat the features "
                         f"by {REPRESENTATION_MARGIN}",
            "scores": {str(r["representation"]): round(float(r["quality"]), 4) for _, r in selection.iterrows()},
            "skipped": skipped},
        "stability": {**stability, "seeds": [int(r.seed) for r in chosen.runs], "kept_seed": int(run.seed)},
        "autoencoder": None if encoder is None else encoder.architecture(),
        "autoencoder_val_loss": None if encoder is None else float(encoder.val_loss_),
        "autoencoder_trials": int(len(trials)), "score_space": space, "labels_column": label_column,
        "seed": int(seed), "time_budget_s": float(time_budget), "timings_s": plan.report(),
        "elapsed_s": round(time.monotonic() - started, 3), "noise_rows": int((assigned < 0).sum()),
    }
    return ClusterResult(
        labels=assigned, embedding=embedding, manifold=Z if on_manifold else None, map2d=map2d, scores=scores,
        profiles=profiles, k_curve=k_curve, schema=schema, info=info, data=data_rows, true_labels=truth,
        label_column=label_column, preprocessor=preprocessor, encoder=encoder_used, reducer=run.reducer,
        clustering=clustering, trials=trials, selection=selection,
    )


def _k_curve(curve: pd.DataFrame, n_found: int, key: int) -> pd.DataFrame:
    out = curve.rename(columns={"_key": "key"}).drop(columns=["key"])
    out.insert(1, "criterion", _CRITERION)
    out["better"] = "higher"
    out["chosen"] = out["k"] == key
    return out[["k", "criterion", "value", "better", "chosen", "silhouette", "stability", "modularity",
                "quality", "components"]].reset_index(drop=True)


def _runner_up(curve: pd.DataFrame) -> int | None:
    others = curve.loc[~curve["chosen"]]
    return None if others.empty else int(others["k"].iloc[int(np.argmax(others["value"].to_numpy()))])


class _Plan:
    """Shares the whole call's budget from measured costs: what each UMAP run, clustering sweep and map took."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self.spent: dict[str, float] = {}

    @contextmanager
    def timed(self, stage: str):
        started = time.monotonic()
        try:
            yield
        finally:
            self.spent[stage] = self.spent.get(stage, 0.0) + time.monotonic() - started

    def per_run(self) -> float:
        """Mean seconds of the UMAP runs fitted so far."""
        return self.spent.get("umap", 0.0) / max(1, self.spent.get("umap_runs", 1))

    def run_cost(self, candidate) -> float:
        """Seconds one more run of ``candidate`` should take (its own runs, else the mean run so far)."""
        own = [r.seconds for r in candidate.runs]
        return float(np.mean(own)) if own else self.per_run()

    def finish_cost(self) -> float:
        """The final clustering, scores and the 2-D display map: about one UMAP run plus a clustering pass."""
        return self.per_run() + 0.5 + self.spent.get("cluster", 0.0) / 2

    def after_search(self, features_done: bool) -> float:
        """Seconds to keep after the autoencoder search: two runs of the embedding (counted at the features'
        cost), the features' second one if not yet done, a k sweep per run, and the finish."""
        runs = 2 if features_done else 3
        return self.per_run() * runs * 1.15 + self.finish_cost()

    def affords(self, seconds: float) -> bool:
        return self.budget.remaining() >= seconds

    def report(self) -> dict[str, float]:
        return {k: round(v, 2) for k, v in self.spent.items()}
