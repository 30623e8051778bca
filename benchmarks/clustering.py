"""Clustering benchmark: raw k-means, UMAP+GMM on the preprocessed features, the full pipeline.

Prints ACC (Hungarian), NMI, ARI and seconds per method on scikit-learn's digits
(1,797 rows) and on a larger generated set (blobs in a curved 40-D space with
noise columns), with the true number of clusters given to every method so the
numbers compare representations, not k selection.

    python benchmarks/clustering.py [--budget 60] [--rows 6000] [--only digits]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".numba_cache"))

import numpy as np
import pandas as pd

import automl
from automl.clustering.methods import fit_clustering, label_scores, make_manifold
from automl.clustering.pipeline import _prepare


def generated(n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, str]:
    """Eight anisotropic clusters bent through a nonlinear map into 40 columns, plus 10 noise columns."""
    rng = np.random.default_rng(seed)
    k, latent = 8, 6
    centres = rng.normal(scale=3.0, size=(k, latent))
    truth = rng.integers(0, k, n_rows)
    z = centres[truth] + rng.normal(size=(n_rows, latent)) * rng.uniform(0.4, 1.2, size=(k, latent))[truth]
    w1, w2 = rng.normal(size=(latent, 32)), rng.normal(size=(32, 40))
    x = np.tanh(z @ w1 / 2) @ w2 + rng.normal(scale=0.3, size=(n_rows, 40))
    frame = pd.DataFrame(np.hstack([x, rng.normal(size=(n_rows, 10))]),
                         columns=[f"f{i}" for i in range(40)] + [f"noise{i}" for i in range(10)])
    frame["cluster"] = truth
    return frame, "cluster"


def run(name: str, frame: pd.DataFrame, label: str, budget: float) -> list[dict]:
    k = int(frame[label].nunique())
    rows = []

    def record(method, labels, seconds):
        rows.append({"data": name, "rows": len(frame), "method": method,
                     **{m: round(v, 3) for m, v in label_scores(frame[label], labels).items()},
                     "seconds": round(seconds, 1)})
        print(rows[-1], flush=True)

    raw = frame.drop(columns=[label]).select_dtypes("number").fillna(0.0).to_numpy(dtype=float)
    start = time.monotonic()
    record("k-means on raw values", fit_clustering(raw, "kmeans", k).labels, time.monotonic() - start)
    start = time.monotonic()
    _, raw_manifold = make_manifold(raw)
    record("UMAP+GMM on raw values", fit_clustering(raw_manifold, "gmm", k).labels, time.monotonic() - start)
    _, _, _, _, X = _prepare(frame, label)
    start = time.monotonic()
    record("k-means on features", fit_clustering(X, "kmeans", k).labels, time.monotonic() - start)
    start = time.monotonic()
    _, manifold = make_manifold(X)
    record("UMAP+GMM on features", fit_clustering(manifold, "gmm", k).labels, time.monotonic() - start)
    start = time.monotonic()
    result = automl.cluster(frame, k, labels=label, time_budget=budget, verbose=0)
    record("autoencoder+UMAP+GMM (automl.cluster)", result.labels, time.monotonic() - start)
    start = time.monotonic()
    auto = automl.cluster(frame, labels=label, time_budget=budget, verbose=0)
    record(f"same, k='auto' (chose {auto.n_clusters})", auto.labels, time.monotonic() - start)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--only", choices=["digits", "generated"])
    args = parser.parse_args()
    rows = []
    if args.only in (None, "digits"):
        rows += run("digits", automl.datasets.digits(), "digit", args.budget)
    if args.only in (None, "generated"):
        frame, label = generated(args.rows)
        rows += run("generated", frame, label, args.budget)
    print()
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
