"""Label-free choices of the clustering pipeline: the representation, k, and the run kept.

Everything here is judged by scores that need no labels, measured against label
accuracy on the labelled benchmark sets (see docs/clustering.md):

stability
    The adjusted Rand index between the clusterings of independent runs: UMAP
    fitted with different seeds (and the clusterer with different seeds). A
    representation that carries real cluster structure gives the same
    partition whatever the seed; one made of noise, or one that blurs the
    groups, gives a different split every time.
silhouette
    The silhouette of each run's clustering in the space it was clustered in
    (the UMAP manifold for the ``umap_*`` methods), averaged over runs.
modularity
    Newman's modularity of each run's clustering on UMAP's neighbour graph of
    the representation: high when clusters cut few neighbour edges (splits
    along the gaps of the data), low when a cut runs through a dense region.

The mean of silhouette and stability is the *quality* of a partition (the
modularity is reported beside it; :data:`USE_MODULARITY` adds it to the choice
of k, off by default as it did not help measurably). The quality chooses

* the representation (:func:`choose_representation`): the preprocessed
  features are the default, and the autoencoder's embedding replaces them only
  when its quality is higher by more than :data:`REPRESENTATION_MARGIN` (the
  embedding costs a network and is less transparent, so it must earn its place);
* k for ``n_clusters="auto"`` (:func:`quality_by_k`, :func:`choose_k`): the smallest k
  whose quality is within :data:`K_TOLERANCE` of the best; the runner-up is kept;
* at the chosen k, how many mixture components to fit before merging them down to k along
  UMAP's neighbour graph (:func:`refine_partitions`, :data:`OVERSPLIT`): none unless a merged
  partition is at least as stable and has the higher mean of stability and modularity;
* the run kept (:func:`most_stable_run`): the run whose partition agrees best
  with the others (the medoid of the runs), so the result is the typical
  outcome rather than one roll of UMAP's dice, and the seed-to-seed spread is
  reported.

All runs are seeded from the user's seed, so the same seed gives the same labels
as long as the same number of runs fits in the time budget (``info["stability"]["runs"]``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn import metrics as skm

from .methods import _fit_algorithm, _silhouette, make_manifold

__all__ = ["Run", "Candidate", "make_runs", "quality_by_k", "choose_k", "choose_representation",
           "most_stable_run", "partitions_at", "refine_partitions", "align_to", "row_agreement", "modularity",
           "REPRESENTATION_MARGIN", "K_TOLERANCE", "OVERSPLIT"]

# Quality the autoencoder's embedding must gain over the preprocessed features to replace them.
REPRESENTATION_MARGIN = 0.02
# k values whose criterion is this close to the best count as ties, broken towards fewer clusters.
K_TOLERANCE = 0.01
# Whether the modularity of each partition on the UMAP neighbour graph joins silhouette and stability in the
# choice of k (it is always computed and shown in the curve). Off: on 12 labelled sets the mean of the three
# landed within one of the true k on 8 against 7 for (silhouette + stability) / 2 at this tolerance, but on
# 6-7 against 7 at tolerances 0.005-0.02 -- no gain that holds (docs/clustering.md, "Automatic k").
USE_MODULARITY = False
# Extra mixture components tried at the chosen k before merging down to k along UMAP's graph. A UMAP
# manifold often holds two groups in one blob and spreads one group over two; a k-component mixture
# then merges the first pair and splits the second, and merging more components fixes both. On 13
# labelled sets the rule picked a merged partition on 9 (digits 0.882 -> 0.966 ACC, penguins
# 0.495 -> 0.679) and kept the plain mixture where merging lost (satimage); docs/clustering.md.
OVERSPLIT = (1, 2, 3, 5)


@dataclass
class Run:
    """One seeded view of a representation: the space clustered (UMAP manifold or the representation itself)."""

    seed: int
    space: np.ndarray
    reducer: Any = None
    seconds: float = 0.0

    @property
    def graph(self):
        """UMAP's neighbour graph of the run (None when the representation itself is clustered)."""
        return getattr(self.reducer, "graph_", None)


@dataclass
class Candidate:
    """A representation under consideration and the runs fitted on it."""

    name: str
    data: np.ndarray
    encoder: Any = None
    # the fitted preprocessing that made ``data`` from the rows, when it is not the pipeline's default one
    preprocessor: Any = None
    runs: list[Run] = field(default_factory=list)
    # k -> list of label arrays, one per run (filled by quality_by_k)
    partitions: dict[int, list[np.ndarray]] = field(default_factory=dict)
    # k -> mixture components merged into those k clusters, where refine_partitions chose to merge
    components: dict[int, int] = field(default_factory=dict)
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


def _labels(run: Run, algorithm: str, k: int | None, seed: int, components: int | None = None) -> np.ndarray:
    # the same restarts as fit_clustering, so the run kept is judged on the very labels it returns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GMM convergence notes on tiny data
        _, labels = _fit_algorithm(run.space, algorithm, k, seed + run.seed, components=components,
                                   graph=run.graph)
    return labels


def _mean_modularity(candidate: Candidate, partitions: list[np.ndarray]) -> float:
    """Mean modularity of one partition per run on that run's UMAP graph (NaN when no run has a graph)."""
    values = [modularity(run.graph, p) for run, p in zip(candidate.runs, partitions) if run.graph is not None]
    return float(np.nanmean(values)) if values else float("nan")


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


def modularity(graph, labels: np.ndarray) -> float:
    """Newman's modularity of ``labels`` on a weighted, symmetric neighbour ``graph`` (sparse matrix).

    The share of edge weight inside clusters minus the share expected by chance: a cut through a
    dense region loses many edges and scores low, while a split along a gap costs little. Rows labelled
    -1 (noise) are left out. NaN without a graph.
    """
    if graph is None:
        return float("nan")
    import scipy.sparse as sp

    labels = np.asarray(labels, dtype=np.int64)
    keep = np.flatnonzero(labels >= 0)
    if len(keep) < 2:
        return float("nan")
    g = sp.csr_matrix(graph)[keep][:, keep]
    total = float(g.sum())
    if total <= 0:
        return float("nan")
    k = int(labels[keep].max()) + 1
    members = sp.csr_matrix((np.ones(len(keep)), (np.arange(len(keep)), labels[keep])), shape=(len(keep), k))
    inside = (members.T @ g @ members).diagonal()
    degree = members.T @ np.asarray(g.sum(axis=1)).ravel()
    return float((inside / total - (degree / total) ** 2).sum())


def quality_by_k(candidate: Candidate, algorithm: str, ks, *, seed: int = 0) -> pd.DataFrame:
    """Cluster every run of ``candidate`` for every k in ``ks``; score each k by stability, silhouette
    and modularity.

    Returns
    -------
    DataFrame
        One row per k: ``k``, ``silhouette`` (mean over runs), ``stability`` (mean
        pairwise ARI between runs; NaN with one run), ``modularity`` (mean over runs,
        on the UMAP neighbour graph of the representation; NaN without a manifold),
        ``quality`` ((silhouette + stability) / 2, or the silhouette alone with one run:
        what the representations are compared on) and ``value`` (what k is chosen on:
        the quality, or with :data:`USE_MODULARITY` the mean of the three scores).
    """
    rows = []
    for k in ks:
        if k is not None and k >= len(candidate.data):
            break
        partitions = [_labels(run, algorithm, k, seed) for run in candidate.runs]
        key = -1 if k is None else int(k)
        candidate.partitions[key] = partitions
        silhouette = float(np.nanmean([_silhouette(run.space, p, seed) for run, p in
                                       zip(candidate.runs, partitions)]))
        stability = _stability(partitions)
        quality = silhouette if not np.isfinite(stability) else (silhouette + stability) / 2
        modular = _mean_modularity(candidate, partitions)
        terms = [t for t in (silhouette, stability, modular if USE_MODULARITY else np.nan) if np.isfinite(t)]
        value = float(np.mean(terms)) if terms else -1.0
        found = int(np.median([len(np.unique(p[p >= 0])) for p in partitions]))
        rows.append({"k": key if k is not None else found, "silhouette": silhouette, "stability": stability,
                     "modularity": modular, "quality": quality if np.isfinite(quality) else -1.0,
                     "value": value, "components": found, "_key": key})
    curve = pd.DataFrame(rows)
    candidate.curve = curve
    return curve


def partitions_at(candidate: Candidate, algorithm: str, key: int, *, seed: int = 0) -> list[np.ndarray]:
    """The partitions of every run of ``candidate`` at k = ``key`` (-1: the algorithm's own k), fitting any missing."""
    done = candidate.partitions.get(key, [])
    k = None if key < 0 else key
    done = done + [_labels(run, algorithm, k, seed, candidate.components.get(key))
                   for run in candidate.runs[len(done):]]
    candidate.partitions[key] = done
    return done


def refine_partitions(candidate: Candidate, algorithm: str, key: int, *, seed: int = 0) -> None:
    """At k = ``key``, try mixtures of k + :data:`OVERSPLIT` components merged down to k along UMAP's graph.

    Each variant is fitted on every run and judged with the plain mixture by the mean of its
    stability (ARI between runs) and its modularity on UMAP's graph, the plain mixture winning ties;
    a variant less stable than the plain mixture is never taken (a merge that is not reproducible
    is one of many: satimage's k+1 merge scored 0.0025 above its plain mixture on stability 0.961
    against 0.975, and lost 0.09 ACC). The best replaces the plain partitions, and ``candidate.components[key]`` and the curve's
    ``components`` record it. The curve's scores stay those of the plain mixture, so that
    representations are compared on the same footing whatever was merged. Not by the quality used
    elsewhere: its silhouette rates a cluster made
    of two blobs below two compact halves of different groups, so it keeps a plain mixture that
    merges two digits over a merged one that separates them (digits: 0.88 against 0.97 ACC,
    docs/clustering.md). Only for mixtures on a UMAP manifold with at least two runs (the merge
    needs the neighbour graph, the choice the stability); otherwise nothing changes.
    """
    if algorithm != "gmm" or key < 2 or len(candidate.runs) < 2 or any(r.graph is None for r in candidate.runs):
        return
    at = candidate.curve.index[candidate.curve["_key"] == key]
    if len(at) == 0:
        return
    plain = candidate.curve.loc[at[0]]
    plain_stability = float(plain["stability"])
    best_score, best = (plain_stability + float(plain["modularity"])) / 2, None
    for extra in OVERSPLIT:
        components = key + extra
        if components >= len(candidate.data):
            break
        partitions = [_labels(run, algorithm, key, seed, components) for run in candidate.runs]
        stability = _stability(partitions)
        score = (stability + _mean_modularity(candidate, partitions)) / 2
        if score > best_score and stability >= plain_stability:
            best_score, best = score, (components, partitions)
    if best is None:
        return
    components, partitions = best
    candidate.partitions[key] = partitions
    candidate.components[key] = components
    candidate.curve.loc[at[0], "components"] = components


def choose_k(curve: pd.DataFrame) -> tuple[int, int | None]:
    """The chosen k (smallest within :data:`K_TOLERANCE` of the best ``value``) and the runner-up k."""
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
        ``representation``, ``dims``, ``k``, ``components`` (mixture components merged into the k
        clusters; k when none were merged), ``silhouette``, ``stability``, ``quality``,
        ``runs``, ``umap_s`` (seconds per run), ``compared_on`` ('quality', or 'silhouette'
        when some candidate has a single run), ``chosen``, ``rank``.
    """
    rows = []
    for c in candidates:
        row = c.curve.loc[c.curve["_key"] == keys[c.name]].iloc[0]
        rows.append({"representation": c.name, "dims": int(c.data.shape[1]), "k": int(row["k"]),
                     "components": int(row["components"]),
                     "silhouette": float(row["silhouette"]), "stability": float(row["stability"]),
                     "quality": float(row["quality"]), "runs": len(c.runs),
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


def align_to(partition: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Rename the clusters of ``partition`` to the ``reference`` clusters they overlap most (one to one).

    Clusters left without a partner (when the two have different numbers of clusters) and noise
    (-1) become -1.
    """
    partition = np.asarray(partition, dtype=np.int64)
    reference = np.asarray(reference, dtype=np.int64)
    keep = (partition >= 0) & (reference >= 0)
    out = np.full(len(partition), -1, dtype=np.int64)
    if not keep.any():
        return out
    table = np.zeros((partition.max() + 1, reference.max() + 1), dtype=np.int64)
    np.add.at(table, (partition[keep], reference[keep]), 1)
    rows, cols = linear_sum_assignment(-table)
    mapping = np.full(partition.max() + 1, -1, dtype=np.int64)
    mapping[rows] = cols
    out[partition >= 0] = mapping[partition[partition >= 0]]
    return out


def row_agreement(partitions: list[np.ndarray], reference: int = 0) -> np.ndarray:
    """Per row, the share of runs that put it in the same cluster as run ``reference`` (after alignment).

    1.0 for rows every run clusters alike; rows near a boundary that UMAP's seed moves get less.
    """
    ref = np.asarray(partitions[reference], dtype=np.int64)
    same = [align_to(p, ref) == ref for p in partitions]
    return np.mean(same, axis=0)


def most_stable_run(partitions: list[np.ndarray]) -> tuple[int, dict]:
    """Index of the run whose partition agrees best with the others, and the seed-to-seed spread.

    Returns
    -------
    (int, dict)
        The medoid run, and ``{"runs", "ari_mean", "ari_min", "ari_max", "ari_std", "kept_run",
        "kept_ari_mean", "rows_all_agree"}`` (pairwise ARI between runs; ``rows_all_agree``: the
        share of rows that every run puts in the kept run's cluster, after matching cluster ids;
        with one run only ``runs``).
    """
    n = len(partitions)
    if n < 2:
        return 0, {"runs": n}
    matrix = _agreement(partitions)
    pairs = matrix[np.triu_indices(n, 1)]
    typical = (matrix.sum(axis=1) - 1) / (n - 1)
    kept = int(np.argmax(typical))
    agree = row_agreement(partitions, kept)
    return kept, {"runs": n, "ari_mean": round(float(pairs.mean()), 4), "ari_min": round(float(pairs.min()), 4),
                  "ari_max": round(float(pairs.max()), 4), "ari_std": round(float(pairs.std()), 4),
                  "kept_run": kept, "kept_ari_mean": round(float(typical[kept]), 4),
                  "rows_all_agree": round(float(np.mean(agree == 1.0)), 4)}
