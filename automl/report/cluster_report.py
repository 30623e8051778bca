"""The HTML report of a :class:`~automl.clustering.ClusterResult`: sections built from :mod:`automl.viz.cluster`.

It sits beside the fit report and goes through the same renderer; it only
reads the result (the 3-D map, when asked for, is computed by
:meth:`ClusterResult.compute_map3d <automl.clustering.ClusterResult.compute_map3d>`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

__all__ = ["write_cluster_report", "cluster_sections"]


def write_cluster_report(result, path: str | os.PathLike = "clusters.html", *, offline: bool = True,
                         title: str | None = None, include_3d: bool = False) -> Path:
    """Write the report of a cluster result as one self-contained HTML file.

    Parameters
    ----------
    result : ClusterResult
    path : str or PathLike, default='clusters.html'
    offline : bool, default=True
        Embed plotly.js so the file opens without a network.
    title : str, optional
    include_3d : bool, default=False
        Add the 3-D map (WebGL; computed with ``result.compute_map3d()`` if needed).

    Returns
    -------
    pathlib.Path
    """
    from .render import render_report

    subtitle = (f"{result.n_clusters} clusters of {result.info['rows']:,} rows by {result.method}"
                + (f", scored against {result.label_column!r}" if result.label_column else ""))
    return render_report(path, title=title or "automl clusters", subtitle=subtitle, summary=result.summary(),
                         sections=cluster_sections(result, include_3d=include_3d), offline=offline)


# Points drawn per map at most (a stratified sample above this).
MAP_POINTS = 5000


def cluster_sections(result, *, include_3d: bool = False) -> list:
    """The report's sections: maps, choice of k, profiles, scores, autoencoder search, settings."""
    from .render import Section
    from ..viz.cluster import (cluster_map_figure, cluster_profile_figure, cluster_sizes_figure,
                               k_selection_figure)

    # a stratified sample keeps the file small and the page responsive; the title says so
    maps = [cluster_map_figure(result, 2, "cluster", max_points=MAP_POINTS)]
    if result.true_labels is not None:
        maps.append(cluster_map_figure(result, 2, "label", max_points=MAP_POINTS))
    if include_3d:
        result.compute_map3d()  # the clustering layer fits it once; the figure only draws it
        maps.append(cluster_map_figure(result, 3, "cluster", max_points=MAP_POINTS))
    rows = len(result.labels)
    sampled = (f" The maps draw a random sample of about {MAP_POINTS:,} of the {rows:,} rows, stratified by cluster; "
               "every score and profile uses all rows." if rows > MAP_POINTS else "")
    sections = [Section("maps", "Maps", figures=maps, columns=min(2, len(maps)),
                        text=f"UMAP of the clustered representation "
                             f"({(result.info.get('representation') or {}).get('chosen', 'embedding')}); "
                             "hover a point to see its row." + sampled)]
    criterion = result.info.get("criterion")
    chosen_by = {"bic": "lowest BIC", "quality": "best quality (silhouette + stability across seeded runs)"}
    k_text = (f"k = {result.n_clusters}, chosen by the {chosen_by.get(criterion, 'highest silhouette')}"
              f" among k = {int(result.k_curve['k'].min())}..{int(result.k_curve['k'].max())}."
              if len(result.k_curve) else f"k = {result.n_clusters} ({result.info.get('k_chosen')}).")
    sections.append(Section("k", "Number of clusters", figures=[k_selection_figure(result),
                                                                 cluster_sizes_figure(result)],
                            columns=2, text=k_text))
    profiles = result.profiles.loc[:, ["cluster", "size", "rank", "feature", "cluster_value", "rest_value",
                                       "effect", "description"]].copy()
    profiles.attrs["caption"] = "Top features per cluster (values in data units; effect in pooled sd)"
    sections.append(Section("profiles", "Cluster profiles", figures=[cluster_profile_figure(result)],
                            tables=[profiles]))
    scores = pd.DataFrame([{"score": k, "value": v, "meaning": _MEANING.get(k, "")}
                           for k, v in result.scores.items()])
    scores.attrs["caption"] = f"Internal scores are measured in the {result.info.get('score_space')} space."
    sections.append(Section("scores", "Scores", tables=[scores]))
    if len(result.trials):
        trials = result.trials.copy()
        trials["params"] = trials["params"].map(lambda p: p if isinstance(p, str) else str(p))
        trials.attrs["caption"] = "Autoencoder trials (validation reconstruction loss, Huber; lower is better)"
        sections.append(Section("autoencoder", "Autoencoder search", tables=[trials]))
    if len(result.selection):
        selection = result.selection.copy()
        selection.attrs["caption"] = ("Candidate representations, judged without labels: quality = (silhouette + "
                                      "stability across seeded runs) / 2; the features win ties")
        sections.append(Section("representation", "Representation", tables=[selection]))
    settings = pd.DataFrame([{"setting": k, "value": str(v)} for k, v in result.info.items()])
    schema = result.schema.to_frame()
    schema.attrs["caption"] = "Column decisions"
    sections.append(Section("notes", "Data and settings", tables=[schema, settings]))
    return sections


_MEANING = {
    "silhouette": "-1..1, higher is better: points closer to their own cluster than to the next",
    "davies_bouldin": ">= 0, lower is better: cluster spread relative to separation",
    "calinski_harabasz": "higher is better: between- to within-cluster dispersion",
    "acc": "0..1: accuracy after the best one-to-one matching of clusters to labels",
    "nmi": "0..1: normalised mutual information with the labels",
    "ari": "-0.5..1: adjusted Rand index with the labels (0 = chance)",
}
