"""The result of :func:`automl.cluster`: plain data plus thin convenience methods.

Presentation (``dashboard``, ``report``, figures) is imported lazily and only
reads this object.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import persist
from ..data.checks import read_table
from ..data.schema import Schema
from ..errors import InputError
from .methods import (METHODS, Clustering, check_method, cluster_profiles, cluster_scores, criterion_for,
                      display_map, fit_clustering, k_range_for, label_scores, make_manifold, select_k)

__all__ = ["ClusterResult"]


@dataclass
class ClusterResult:
    """Everything :func:`automl.cluster` learned.

    Attributes
    ----------
    labels : ndarray of int, shape (n_rows,)
        Cluster id of every input row, in input order; 0 is the largest cluster
        (HDBSCAN marks noise with -1).
    embedding : ndarray, shape (n_rows, code_size)
        The autoencoder's bottleneck (the preprocessed features when the
        autoencoder was switched off).
    manifold : ndarray or None
        UMAP coordinates the ``umap_*`` methods cluster in.
    map2d : ndarray, shape (n_rows, 2)
        UMAP of the embedding for display; ``map3d`` (n_rows, 3) is None until
        :meth:`compute_map3d` computes it.
    scores : dict of str to float
        ``silhouette``, ``davies_bouldin``, ``calinski_harabasz`` (in the space
        that was clustered), and with known labels ``acc`` (Hungarian-matched
        accuracy), ``nmi``, ``ari``.
    profiles : DataFrame
        Per cluster its size and the features that most set it apart, in data
        units (see :func:`automl.clustering.methods.cluster_profiles`).
    k_curve : DataFrame
        Criterion per candidate k (``k``, ``criterion``, ``value``, ``better``, ``chosen``);
        empty when k was given.
    schema : Schema
    info : dict
        Sizes, method, k criterion, autoencoder architecture, settings, timing.
    data : DataFrame
        The input rows' used columns (canonical dtypes), for hover text, colouring and profiles.
    true_labels : Series or None
        The ``labels=`` column, if one was given.
    label_column : str or None
    preprocessor, encoder, reducer, clustering
        The fitted stages that :meth:`predict` chains.
    trials : DataFrame
        One row per autoencoder trial (``trial``, ``val_mse``, ``status``, ``params``, ``epochs``, ...).
    selection : DataFrame
        Why the representation was chosen: one row per candidate (the preprocessed
        features, the autoencoder's embedding) with its k, silhouette, stability
        across seeded runs, quality and ``chosen`` (see :mod:`automl.clustering.selection`).
    """

    labels: np.ndarray
    embedding: np.ndarray
    manifold: np.ndarray | None
    map2d: np.ndarray
    scores: dict[str, float]
    profiles: pd.DataFrame
    k_curve: pd.DataFrame
    schema: Schema
    info: dict[str, Any]
    data: pd.DataFrame
    true_labels: pd.Series | None
    label_column: str | None
    preprocessor: Any
    encoder: Any
    reducer: Any
    clustering: Clustering
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)
    selection: pd.DataFrame = field(default_factory=pd.DataFrame)
    # display maps beyond map2d, by dimension; re-clusterings (dataclasses.replace) share this dict, and the
    # embedding it maps, so a 3-D map computed for one serves them all
    _maps: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    # -- views ---------------------------------------------------------------------------
    @property
    def n_clusters(self) -> int:
        """Number of clusters (noise not counted)."""
        return int(self.clustering.n_clusters)

    @property
    def method(self) -> str:
        """The clustering method used."""
        return str(self.info["method"])

    @property
    def map3d(self) -> np.ndarray | None:
        """UMAP of the embedding to 3-D for display, (n_rows, 3), once :meth:`compute_map3d` ran; else None."""
        return self._maps.get(3)

    def compute_map3d(self) -> np.ndarray:
        """Fit the 3-D display map of the embedding (UMAP, seconds) on the first call, then return it as kept.

        The figures only read :attr:`map3d`; the dashboard's 3-D toggle and
        the report's ``include_3d`` call this first. Saved with the result once
        computed.

        Returns
        -------
        ndarray, shape (n_rows, 3)
        """
        if 3 not in self._maps:
            self._maps[3] = display_map(self.embedding, dims=3, seed=int(self.info.get("seed", 0)))
        return self._maps[3]

    @property
    def sizes(self) -> pd.Series:
        """Rows per cluster, indexed by cluster id."""
        ids, counts = np.unique(self.labels, return_counts=True)
        return pd.Series(counts, index=pd.Index(ids, name="cluster"), name="size")

    # -- new rows ------------------------------------------------------------------------
    def _space_of(self, data, argument: str = "data") -> np.ndarray:
        frame = read_table(data, argument=argument)
        self.schema.check_columns(frame, argument=argument)
        X = self.preprocessor.transform(frame)
        Z = X if self.encoder is None else self.encoder.transform(X)
        if self.info["space"] == "manifold":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Z = np.asarray(self.reducer.transform(Z), dtype=np.float32)
        return Z

    def transform(self, data) -> np.ndarray:
        """Embed new rows with the fitted preprocessing and encoder: (n_rows, code_size)."""
        frame = read_table(data)
        self.schema.check_columns(frame)
        X = self.preprocessor.transform(frame)
        return X if self.encoder is None else self.encoder.transform(X)

    def predict(self, data) -> np.ndarray:
        """Cluster ids for new rows (DataFrame or path) through the same encoder, UMAP
        (its ``transform``) and clusterer."""
        return self.clustering.predict(self._space_of(data))

    def predict_proba(self, data) -> pd.DataFrame:
        """Membership probabilities of new rows (mixture methods only), one column per cluster."""
        Z = self._space_of(data)
        proba = self.clustering.predict_proba(Z)
        if proba is None:
            raise InputError(f"predict_proba needs a mixture method ('umap_gmm' or 'gmm'); this result used "
                             f"{self.method!r}.")
        return pd.DataFrame(proba, columns=list(range(proba.shape[1])))

    # -- re-clustering -------------------------------------------------------------------
    def recluster(self, method: str | None = None, n_clusters: int | str | None = None) -> "ClusterResult":
        """Cluster the stored embedding again with another method or k (no retraining).

        Cheap enough for an interactive k slider: the autoencoder and, for the
        ``umap_*`` methods, the manifold are reused.

        Parameters
        ----------
        method : str, optional
            Any of :data:`automl.clustering.methods.METHODS` (the current one by default).
        n_clusters : int or 'auto', optional
            The current number by default.

        Returns
        -------
        ClusterResult
            A new result sharing the embedding, manifold, maps and fitted encoder.
        """
        method = check_method(method or self.method)
        space, algorithm = METHODS[method]
        seed = int(self.info.get("seed", 0))
        if n_clusters is None:
            n_clusters = "auto" if algorithm == "hdbscan" else self.n_clusters
        if isinstance(n_clusters, str) and n_clusters != "auto":
            raise InputError(f"`n_clusters` must be 'auto' or an integer >= 2, got {n_clusters!r}.")
        if not isinstance(n_clusters, str) and (isinstance(n_clusters, bool) or not isinstance(
                n_clusters, (int, np.integer)) or n_clusters < 2):
            raise InputError(f"`n_clusters` must be 'auto' or an integer >= 2, got {n_clusters!r}.")
        reducer, manifold = self.reducer, self.manifold
        if space == "manifold" and manifold is None:
            reducer, manifold = make_manifold(self.embedding, seed=seed)
        Z = manifold if space == "manifold" else self.embedding
        if n_clusters == "auto" and algorithm != "hdbscan":
            clustering, k_curve = select_k(Z, algorithm, k_range_for(len(Z), self.info.get("k_max")), seed=seed,
                                           criterion=criterion_for(space, algorithm))
        else:
            clustering = fit_clustering(Z, algorithm, None if n_clusters == "auto" else int(n_clusters), seed=seed)
            k_curve = self.k_curve.assign(chosen=self.k_curve["k"] == clustering.n_clusters) \
                if len(self.k_curve) and METHODS[self.method][1] == algorithm else \
                pd.DataFrame(columns=["k", "criterion", "value", "better", "chosen"])
        scores = cluster_scores(Z, clustering.labels, seed=seed)
        if self.true_labels is not None:
            scores.update(label_scores(self.true_labels, clustering.labels))
        info = {**self.info, "method": method, "space": space, "algorithm": algorithm, "score_space": space,
                "n_clusters": int(clustering.n_clusters), "noise_rows": int((clustering.labels < 0).sum()),
                "k_chosen": "auto" if n_clusters == "auto" else "given", "reclustered_from": self.method}
        if len(k_curve):
            info["criterion"] = str(k_curve["criterion"].iloc[0])
        return dataclasses.replace(
            self, labels=clustering.labels, manifold=manifold, reducer=reducer, clustering=clustering,
            scores=scores, k_curve=k_curve, info=info,
            profiles=cluster_profiles(self.data, clustering.labels, self.schema))

    # -- presentation (lazy imports: computation never depends on these) -------------
    def figures(self) -> dict:
        """Every figure of this result, by name (see :func:`automl.viz.cluster.cluster_figures`)."""
        from ..viz.cluster import cluster_figures
        return cluster_figures(self)

    def dashboard(self):
        """An ipywidgets dashboard: maps, k selection, profiles."""
        from ..dashboard import cluster_dashboard
        return cluster_dashboard(self)

    def report(self, path: str | os.PathLike = "clusters.html", *, offline: bool = True, **options) -> Path:
        """Write a self-contained HTML report and return its path.

        Parameters
        ----------
        path : path, default='clusters.html'
        offline : bool, default=True
            Embed plotly.js so the file opens without a network.
        """
        from ..report.cluster_report import write_cluster_report
        return write_cluster_report(self, path, offline=offline, **options)

    def summary(self) -> list[tuple[str, str]]:
        """Key facts as (label, value) pairs, for reports and dashboards."""
        facts = [("Rows", f"{self.info['rows']:,}"), ("Method", self.method), ("Clusters", str(self.n_clusters))]
        if self.info.get("criterion"):
            facts.append(("k chosen by", str(self.info["criterion"]).upper() if self.info["criterion"] == "bic"
                          else str(self.info["criterion"])))
        for key in ("acc", "nmi", "ari", "silhouette"):
            value = self.scores.get(key)
            if value is not None and np.isfinite(value):
                facts.append((key.upper() if key != "silhouette" else "Silhouette", f"{value:.3f}"))
        facts.append(("Embedding", f"{self.info['embedding_dim']} dims"))
        facts.append(("Time", f"{self.info['elapsed_s']:.0f} s"))
        return facts

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        scores = ", ".join(f"{k} {v:.3f}" for k, v in self.scores.items() if np.isfinite(v))
        return (f"<b>automl ClusterResult</b>: {self.n_clusters} clusters by {self.method} on "
                f"{self.info['rows']} rows<br>{scores}<br>"
                + self.sizes.to_frame().T.to_html(escape=True))

    def __repr__(self) -> str:
        return (f"ClusterResult(method={self.method!r}, n_clusters={self.n_clusters}, rows={len(self.labels)}, "
                f"scores={ {k: round(v, 4) for k, v in self.scores.items()} })")

    # -- persistence ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Save to directory ``path`` atomically; reload with :func:`automl.load`.

        Keras parts are stored in Keras' own format, scikit-learn and UMAP
        parts with joblib (pickles: load only directories you trust).
        """

        with persist.atomic_directory(path, overwrite=overwrite) as tmp:
            entries = {}
            if self.encoder is not None:
                entries["encoder"] = persist.save_object(self.encoder, tmp, "encoder")
            entries["preprocessor"] = persist.save_object(self.preprocessor, tmp, "preprocessor")
            entries["clustering"] = persist.save_object(self.clustering, tmp, "clustering")
            if self.reducer is not None:
                entries["reducer"] = persist.save_object(self.reducer, tmp, "reducer")
            arrays = {"labels": self.labels, "embedding": self.embedding, "map2d": self.map2d}
            if self.manifold is not None:
                arrays["manifold"] = self.manifold
            if self.map3d is not None:
                arrays["map3d"] = self.map3d
            np.savez_compressed(tmp / "arrays.npz", **arrays)
            rows = self.data.copy()
            if self.true_labels is not None:
                rows["__labels__"] = self.true_labels.to_numpy()
            persist.write_frame(rows, tmp / "rows.parquet")
            persist.write_frame(self.profiles, tmp / "profiles.parquet")
            persist.write_frame(persist.jsonable_frame(self.trials), tmp / "trials.parquet")
            persist.write_frame(self.selection, tmp / "selection.parquet")
            meta = {"scores": self.scores, "info": self.info, "schema": self.schema.to_dict(),
                    "label_column": self.label_column, "files": entries,
                    "k_curve": json.loads(self.k_curve.to_json(orient="split", index=False))}
            persist.write_meta(tmp, meta, "cluster")
        return Path(path)

    @classmethod
    def _load(cls, path: Path, manifest: dict) -> "ClusterResult":
        meta = persist.read_meta(path)
        entries = meta["files"]
        arrays = np.load(path / "arrays.npz", allow_pickle=False)
        rows = persist.read_frame(path / "rows.parquet")
        truth = None
        if "__labels__" in rows.columns:
            truth = rows.pop("__labels__").rename(meta["label_column"])
        curve = meta["k_curve"]
        return cls(
            labels=arrays["labels"], embedding=arrays["embedding"],
            manifold=arrays["manifold"] if "manifold" in arrays.files else None, map2d=arrays["map2d"],
            scores={k: float(v) if v is not None else float("nan") for k, v in meta["scores"].items()},
            profiles=persist.read_frame(path / "profiles.parquet"),
            k_curve=pd.DataFrame(curve["data"], columns=curve["columns"]),
            schema=Schema.from_dict(meta["schema"]), info=meta["info"], data=rows, true_labels=truth,
            label_column=meta["label_column"],
            preprocessor=persist.load_object(path, entries["preprocessor"]),
            encoder=persist.load_object(path, entries["encoder"]) if "encoder" in entries else None,
            reducer=persist.load_object(path, entries["reducer"]) if "reducer" in entries else None,
            clustering=persist.load_object(path, entries["clustering"]),
            trials=persist.read_frame(path / "trials.parquet", json_columns=("params",)),
            selection=persist.read_frame(path / "selection.parquet") if (path / "selection.parquet").is_file()
            else pd.DataFrame(),
            _maps={3: arrays["map3d"]} if "map3d" in arrays.files else {},
        )
