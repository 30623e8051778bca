"""Label-free choices of the clustering pipeline: the representation, k, and the run kept.

Everything here is judged by two things that need no labels and that track
label accuracy on the labelled benchmark sets (see docs/clustering.md):

stability
    The adjusted Rand index between the clusterings of independent runs: UMAP
    fitted with different seeds (and the clusterer with different seeds). A
    representation that carries real cluster structure gives the same
    partition whatever the seed; one made of noise, or one that blurs the
    groups, gives a different split every time.
silhouette
    The silhouette of each run's clustering in the space it was clustered in
    (the UMAP manifold for the ``umap_*`` methods), averaged over runs.

Their mean is the *quality* of a partition. It chooses

* the representation (:func:`choose_representation`): the preprocessed
  features are the default, and the autoencoder's embedding replaces them only
  when its quality is higher by more than :data:`REPRESENTATION_MARGIN` (the
  embedding costs a network and is less transparent, so it must earn its place);
* k for ``n_clusters="auto"`` (:func:`quality_by_k`): the smallest k whose
  quality is within :data:`K_TOLERANCE` of the best; the runner-up is kept;
* the run kept (:func:`most_stable_run`): the run whose partition agrees best
  with the others (the medoid of the runs), so the result is the typical
  outcome rather than one roll of UMAP's dice, and the seed-to-seed spread is
  reported.

All runs are seeded from the user's seed, so the same seed gives the same labels.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .methods import _fit_algorithm, _silhouette, make_manifold

__all__ = ["Run", "Candidate", "make_runs", "quality_by_k", "choose_k", "choose_representation",
           "most_stable_run", "partitions_at", "REPRESENTATION_MARGIN", "K_TOLERANCE"]

# Quality the autoencoder's embedding must gain over the preprocessed features to replace them.
REPRESENTATION_MARGIN = 0.02
# k values whose quality is this close to the best count as ties, broken towards fewer clusters.
K_TOLERANCE = 0.01


@dataclass
class Run:
    """One seeded view of a representation: the space clustered (UMAP manifold or the representation itself)."""

    seed: int
    space: np.ndarray
    reducer: Any = None
    seconds: float = 0.0


@dataclass
class Candidate:
    """A representation under consideration and the runs fitted on it."""

    name: str
    data: np.ndarray
    encoder: Any = None
    runs: list[Run] = field(default_factory=list)
    # k -> list of label arrays, one per run (filled by quality_by_k)
    partitions: dict[int, list[np.ndarray]] = field(default_factory=dict)
    curve: pd.DataFrame | None = None


def run_seeds(seed: int, n: int) -> list[int]:
    """The seeds of ``n`` runs derived from the user's seed (deterministic, distinct)."""
    return [int(seed) + 1000 * i for i in range(n)]


def make_runs(candidate: Candidate, seeds, *, manifold: bool, n_components=None, n_neighbors=None) -> None:
    """Add one run per seed to ``candidate``: a UMAP manifold each, or the data itself when ``manifold`` is False."""
    for s in seeds:
        if any(r.seed == s for r in candidate.runs):
            continue
        started = time.monotonic()
        if manifold:
            reducer, space = make_manifold(candidate.data, seed=s, n_components=n_components,
                                           n_neighbors=n_neighbors)
        else:
            reducer, space = None, candidate.data
        candidate.runs.append(Run(s, space, reducer, time.monotonic() - started))


def _labels(Z: np.ndarray, algorithm: str, k: int | None, seed: int) -> np.ndarray:
    # the same restarts as fit_clustering, so the run kept is judged on the very labels it returns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GMM convergence notes on tiny data
        _, labels = _fit_algorithm(Z, algorithm, k, seed)
    return labels


def _agreement(partitions: list[np.ndarray]) -> np.ndarray:
    """Pairwise ARI between partitions, as a symmetric matrix (1 on the diagonal)."""
    n = len(partitions)
    matrix = np.ones((n, n))
    for i, j in combinations(range(n), 2):
        matrix[i, j] = matrix[j, i] = skm.adjusted_rand_score(partitions[i], partitions[j])
    return matrix


def _stability(partitions: list[np.ndarray]) -> float:
    if len(partitions) < 2:
        return float("nan")
    matrix = _agreement(partitions)
    return float(matrix[np.triu_indices(len(partitions), 1)].mean())


def quality_by_k(candidate: Candidate, algorithm: str, ks, *, seed: int = 0) -> pd.DataFrame:
    """Cluster every run of ``candidate`` for every k in ``ks``; score each k by stability and silhouette.

    Returns
    -------
    DataFrame
        One row per k: ``k``, ``silhouette`` (mean over runs), ``stability`` (mean
        pairwise ARI between runs; NaN with one run), ``value`` (the quality: their
        mean, or the silhouette alone with one run).
    """
    rows = []
    for k in ks:
        if k is not None and k >= len(candidate.data):
            break
        partitions = [_labels(run.space, algorithm, k, seed + run.seed) for run in candidate.runs]
        key = -1 if k is None else int(k)
        candidate.partitions[key] = partitions
        silhouette = float(np.nanmean([_silhouette(run.space, p, seed) for run, p in
                                       zip(candidate.runs, partitions)]))
        stability = _stability(partitions)
        quality = silhouette if not np.isfinite(stability) else (silhouette + stability) / 2
        found = int(np.median([len(np.unique(p[p >= 0])) for p in partitions]))
        rows.append({"k": key if k is not None else found, "silhouette": silhouette, "stability": stability,
                     "value": quality if np.isfinite(quality) else -1.0, "_key": key})
    curve = pd.DataFrame(rows)
    candidate.curve = curve
    return curve


def partitions_at(candidate: Candidate, algorithm: str, key: int, *, seed: int = 0) -> list[np.ndarray]:
    """The partitions of every run of ``candidate`` at k = ``key`` (-1: the algorithm's own k), fitting any missing."""
    done = candidate.partitions.get(key, [])
    k = None if key < 0 else key
    done = done + [_labels(run.space, algorithm, k, seed + run.seed) for run in candidate.runs[len(done):]]
    candidate.partitions[key] = done
    return done


def choose_k(curve: pd.DataFrame) -> tuple[int, int | None]:
    """The chosen k (smallest within :data:`K_TOLERANCE` of the best quality) and the runner-up k."""
    values = curve["value"].to_numpy(dtype=float)
    best = int(np.flatnonzero(values >= values.max() - K_TOLERANCE)[0])
    chosen = int(curve["_key"].iloc[best])
    others = curve.drop(index=curve.index[best])
    runner_up = int(others["_key"].iloc[int(np.argmax(others["value"].to_numpy()))]) if len(others) else None
    return chosen, runner_up


def choose_representation(candidates: list[Candidate], keys: dict[str, int]) -> tuple[Candidate, pd.DataFrame]:
    """Pick the representation with the best quality at its k; the first candidate (the features) wins ties.

    Parameters
    ----------
    candidates : list of Candidate
        The preprocessed features first; each with its ``curve`` filled.
    keys : dict
        Candidate name -> the k (curve key) chosen for it.

    Returns
    -------
    (Candidate, DataFrame)
        The chosen one, and the ``selection`` table: one row per candidate with
        ``representation``, ``dims``, ``k``, ``silhouette``, ``stability``, ``quality``,
        ``runs``, ``umap_s`` (seconds per run), ``compared_on`` ('quality', or 'silhouette'
        when some candidate has a single run), ``chosen``, ``rank``.
    """
    rows = []
    for c in candidates:
        row = c.curve.loc[c.curve["_key"] == keys[c.name]].iloc[0]
        rows.append({"representation": c.name, "dims": int(c.data.shape[1]), "k": int(row["k"]),
                     "silhouette": float(row["silhouette"]), "stability": float(row["stability"]),
                     "quality": float(row["value"]), "runs": len(c.runs),
                     "umap_s": round(float(np.mean([r.seconds for r in c.runs])), 2)})
    table = pd.DataFrame(rows)
    # Compared on equal terms: when time allowed some candidate a single run (no stability), all are
    # compared on the silhouette alone.
    measure = "quality" if table["stability"].notna().all() else "silhouette"
    table["compared_on"] = measure
    # the default (first) keeps its place unless another beats it by the margin
    effective = table[measure].to_numpy(dtype=float) - np.where(np.arange(len(table)) == 0, 0.0,
                                                               REPRESENTATION_MARGIN)
    best = int(np.argmax(effective))
    table["chosen"] = np.arange(len(table)) == best
    table["rank"] = pd.Series(-effective).rank(method="first").astype(int).to_numpy()
    return candidates[best], table.sort_values("rank").reset_index(drop=True)


def most_stable_run(partitions: list[np.ndarray]) -> tuple[int, dict]:
    """Index of the run whose partition agrees best with the others, and the seed-to-seed spread.

    Returns
    -------
    (int, dict)
        The medoid run, and ``{"runs", "ari_mean", "ari_min", "ari_max", "ari_std", "kept_run",
        "kept_ari_mean"}`` (pairwise ARI between runs; with one run only ``runs``).
    """
    n = len(partitions)
    if n < 2:
        return 0, {"runs": n}
    matrix = _agreement(partitions)
    pairs = matrix[np.triu_indices(n, 1)]
    typical = (matrix.sum(axis=1) - 1) / (n - 1)
    kept = int(np.argmax(typical))
    return kept, {"runs": n, "ari_mean": round(float(pairs.mean()), 4), "ari_min": round(float(pairs.min()), 4),
                  "ari_max": round(float(pairs.max()), 4), "ari_std": round(float(pairs.std()), 4),
                  "kept_run": kept, "kept_ari_mean": round(float(typical[kept]), 4)}
