"""Figures of a :class:`~automl.clustering.ClusterResult`: maps, the choice of k, profiles.

Each function reads a result and returns a ``plotly.graph_objects.Figure``;
the dashboard and the report draw the same figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from .theme import color, empty_figure, label, styled

__all__ = ["cluster_map_figure", "k_selection_figure", "cluster_profile_figure", "cluster_sizes_figure",
           "cluster_figures"]

# Input columns shown in a point's hover text (the most distinguishing first).
_HOVER_COLUMNS = 8
# Above this many points the 2-D map uses WebGL (SVG slows down).
_WEBGL_POINTS = 5000
_MAX_DISCRETE = 30


def _go():
    import plotly.graph_objects as go
    return go


def _hover_columns(result) -> list[str]:
    """Columns for hover text: those the profiles rank highest, then the rest in schema order."""
    ranked = []
    if len(result.profiles) and "feature" in result.profiles:
        for feature in result.profiles.sort_values("rank")["feature"].dropna():
            name = str(feature).split("=")[0]
            if name in result.data.columns and name not in ranked:
                ranked.append(name)
    for name in result.data.columns:
        if name not in ranked:
            ranked.append(name)
    return ranked[:_HOVER_COLUMNS]


def _format(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return label(value)


def _hover(result, rows: np.ndarray, extra: list[tuple[str, np.ndarray]]) -> list[str]:
    columns = _hover_columns(result)
    frame = result.data.iloc[rows]
    parts = [[f"row {i}" for i in rows]]
    for name, values in extra:
        parts.append([f"{label(name)}: {_format(v)}" for v in values[rows]])
    for name in columns:
        parts.append([f"{label(name)}: {_format(v)}" for v in frame[name].to_numpy()])
    return ["<br>".join(p) for p in zip(*parts)]


def _color_values(result, color_by: str) -> tuple[str, np.ndarray]:
    if color_by == "cluster":
        return "cluster", result.labels
    if color_by in ("label", "labels", "true_label") or (result.label_column and color_by == result.label_column):
        if result.true_labels is None:
            raise InputError("color_by='label' needs a result fitted with `labels=`; colour by 'cluster' or a column.")
        return str(result.label_column), result.true_labels.to_numpy()
    if color_by in result.data.columns:
        return color_by, result.data[color_by].to_numpy()
    choices = ["cluster"] + (["label"] if result.true_labels is not None else []) + list(result.data.columns)[:20]
    raise InputError(f"`color_by` must be 'cluster', 'label' or an input column; got {color_by!r}. "
                     f"Choose from {choices}.")


def _map_rows(labels: np.ndarray, max_points: int | None, seed: int = 0) -> np.ndarray:
    """Rows to draw: all of them, or a sample stratified by cluster (each keeps its share, and at least one row)."""
    n = len(labels)
    if max_points is None or n <= max_points:
        return np.ones(n, dtype=bool)
    rng = np.random.default_rng(seed)
    keep = np.zeros(n, dtype=bool)
    for rows in pd.Series(np.arange(n)).groupby(pd.Series(labels).astype(str).to_numpy()).indices.values():
        take = min(len(rows), max(1, int(max_points * len(rows) / n)))  # rounded down: at most max_points in all
        keep[rng.choice(rows, take, replace=False)] = True
    return keep


def cluster_map_figure(result, dims: int = 2, color_by: str = "cluster", *, height: int = 560,
                       max_points: int | None = None):
    """UMAP map of the rows, coloured by cluster, true label or any input column.

    Parameters
    ----------
    result : ClusterResult
    dims : {2, 3}, default=2
        3 draws ``result.map3d`` with WebGL; it must have been computed
        (``result.compute_map3d()``): figures never fit UMAP.
    color_by : str, default='cluster'
        'cluster', 'label' (the ``labels=`` column) or an input column name;
        numeric columns get a colour scale, others one colour per value.
    height : int, default=560
    max_points : int, optional
        Draw at most about this many rows: a random sample stratified by
        cluster, named in the title (the HTML report uses 5,000 so the file
        and the browser stay light). None draws every row.

    Returns
    -------
    plotly.graph_objects.Figure
        Hovering a point shows its row number, cluster, label and input values.
    """
    go = _go()
    if dims not in (2, 3):
        raise InputError(f"`dims` must be 2 or 3, got {dims!r}.")
    coords = result.map2d if dims == 2 else result.map3d
    if coords is None:
        raise InputError("The 3-D map is not computed yet: call `result.compute_map3d()` (UMAP, a few seconds) "
                         "before drawing `dims=3`.")
    name, values = _color_values(result, color_by)
    extra = [("cluster", result.labels)]
    if result.true_labels is not None:
        extra.append((str(result.label_column), result.true_labels.to_numpy()))
    if name not in ("cluster", str(result.label_column)):
        extra.append((name, values))
    numeric = name != "cluster" and pd.api.types.is_numeric_dtype(pd.Series(values).dtype) \
        and pd.Series(values).nunique(dropna=True) > _MAX_DISCRETE
    keep = _map_rows(result.labels, max_points)
    shown = int(keep.sum())
    scatter = go.Scatter3d if dims == 3 else (go.Scattergl if shown > _WEBGL_POINTS else go.Scatter)
    marker_size = 3 if dims == 3 else (4 if shown > 2000 else 6)

    def trace(rows, **kwargs):
        xyz = {"x": coords[rows, 0], "y": coords[rows, 1]}
        if dims == 3:
            xyz["z"] = coords[rows, 2]
        return scatter(mode="markers", text=_hover(result, rows, extra), hovertemplate="%{text}<extra></extra>",
                       **xyz, **kwargs)

    fig = go.Figure()
    if numeric:
        v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
        rows = np.flatnonzero(keep)
        fig.add_trace(trace(rows, name=label(name), showlegend=False,
                            marker=dict(size=marker_size, color=v, colorscale="Viridis", showscale=True,
                                        colorbar=dict(title=dict(text=label(name))), opacity=0.85)))
    else:
        series = pd.Series(values).astype(object).where(pd.Series(values).notna(), "missing")
        levels = pd.unique(series)
        try:
            levels = sorted(levels)
        except TypeError:
            levels = sorted(levels, key=str)
        if len(levels) > _MAX_DISCRETE:
            top = series.value_counts().index[:_MAX_DISCRETE - 1]
            series = series.where(series.isin(top), "other")
            levels = list(top) + ["other"]
        for i, level in enumerate(levels):
            rows = np.flatnonzero((series == level).to_numpy() & keep)
            if len(rows) == 0:
                continue
            text = f"{'cluster ' if name == 'cluster' else ''}{label(level)}"
            if name == "cluster" and level == -1:
                text = "noise"
            fig.add_trace(trace(rows, name=text, marker=dict(size=marker_size, color=color(i), opacity=0.85)))
    title = f"UMAP {dims}-D map coloured by {name}"
    if shown < len(keep):
        title += f" (a sample of {shown:,} of {len(keep):,} rows, stratified by cluster)"
    if dims == 3:
        fig.update_layout(scene=dict(xaxis_title="UMAP 1", yaxis_title="UMAP 2", zaxis_title="UMAP 3"))
    else:
        fig.update_xaxes(title_text="UMAP 1", showticklabels=False)
        fig.update_yaxes(title_text="UMAP 2", showticklabels=False)
    return styled(fig, title=title, height=height, legend=dict(itemsizing="constant"))


def k_selection_figure(result, *, height: int = 360):
    """The k-selection criterion (BIC or silhouette) against the number of clusters, chosen k marked."""
    go = _go()
    curve = result.k_curve
    if curve is None or not len(curve):
        return empty_figure(f"k was not searched: {result.n_clusters} clusters "
                            f"({'found by HDBSCAN' if result.info.get('algorithm') == 'hdbscan' else 'given'}).",
                            title="Choice of k")
    criterion = str(curve["criterion"].iloc[0])
    better = str(curve["better"].iloc[0])
    name = "BIC" if criterion == "bic" else criterion
    fig = go.Figure(go.Scatter(x=curve["k"], y=curve["value"], mode="lines+markers", name=name,
                               marker=dict(color=color(0), size=8), line=dict(color=color(0)),
                               hovertemplate="k=%{x}<br>" + label(name) + "=%{y:.4g}<extra></extra>"))
    # the scores the criterion is made of, so a user sees which one drove the choice
    for i, part in enumerate(("silhouette", "stability", "modularity"), start=2):
        if part in curve.columns and curve[part].notna().any():
            fig.add_trace(go.Scatter(x=curve["k"], y=curve[part], mode="lines", name=part,
                                     line=dict(color=color(i), dash="dot", width=1),
                                     hovertemplate="k=%{x}<br>" + part + "=%{y:.3f}<extra></extra>"))
    chosen = curve.loc[curve["chosen"].astype(bool)]
    if len(chosen):
        fig.add_trace(go.Scatter(x=chosen["k"], y=chosen["value"], mode="markers", name="chosen",
                                 marker=dict(color=color(1), size=14, symbol="star"),
                                 hovertemplate="chosen k=%{x}<extra></extra>"))
    runner_up = (getattr(result, "info", None) or {}).get("k_runner_up")
    if runner_up is not None and (curve["k"] == runner_up).any():
        second = curve.loc[curve["k"] == runner_up]
        fig.add_trace(go.Scatter(x=second["k"], y=second["value"], mode="markers", name="runner-up",
                                 marker=dict(color=color(1), size=11, symbol="diamond-open"),
                                 hovertemplate="runner-up k=%{x}<extra></extra>"))
    fig.update_xaxes(title_text="number of clusters k", dtick=1)
    fig.update_yaxes(title_text=f"{name} ({better} is better)")
    return styled(fig, title=f"Choice of k by {name}", height=height)


def cluster_sizes_figure(result, *, height: int = 320):
    """Rows per cluster."""
    go = _go()
    sizes = result.sizes
    names = ["noise" if i == -1 else f"cluster {i}" for i in sizes.index]
    fig = go.Figure(go.Bar(x=names, y=sizes.to_numpy(), marker_color=[color(i) for i in range(len(sizes))],
                           hovertemplate="%{x}: %{y} rows<extra></extra>"))
    fig.update_yaxes(title_text="rows")
    return styled(fig, title="Cluster sizes", height=height, showlegend=False)


def cluster_profile_figure(result, cluster: int | None = None, *, height: int | None = None):
    """What distinguishes the clusters, from ``result.profiles``.

    Parameters
    ----------
    result : ClusterResult
    cluster : int, optional
        One cluster: bars of its top features' effects (difference from the
        other rows in pooled standard deviations), hover in data units. When
        omitted: a heatmap of those effects for every cluster and the features
        that rank among any cluster's top.
    """
    go = _go()
    profiles = result.profiles.dropna(subset=["feature"])
    if not len(profiles):
        return empty_figure("No feature sets the clusters apart.", title="Cluster profiles")
    if cluster is not None:
        part = profiles.loc[profiles["cluster"] == cluster]
        if not len(part):
            raise InputError(f"`cluster` must be one of {sorted(profiles['cluster'].unique().tolist())}, "
                             f"got {cluster!r}.")
        part = part.sort_values("effect")
        size = int(part["size"].iloc[0])
        fig = go.Figure(go.Bar(
            x=part["effect"], y=[label(f) for f in part["feature"]], orientation="h",
            marker_color=[color(0) if e > 0 else color(3) for e in part["effect"]],
            text=[label(d) for d in part["description"]],
            hovertemplate="%{text}<br>effect %{x:.2f} sd<extra></extra>"))
        fig.update_xaxes(title_text="difference from the other rows (pooled sd)")
        return styled(fig, title=f"Cluster {cluster}: {size} rows ({size / len(result.labels):.0%})",
                      height=height or 120 + 40 * len(part), showlegend=False)
    features = list(dict.fromkeys(profiles.sort_values(["rank", "cluster"])["feature"]))[:20]
    clusters = sorted(profiles["cluster"].unique())
    effect = profiles.pivot_table(index="cluster", columns="feature", values="effect", aggfunc="first")
    effect = effect.reindex(index=clusters, columns=features)
    text = profiles.pivot_table(index="cluster", columns="feature", values="description", aggfunc="first")
    text = text.reindex(index=clusters, columns=features).fillna("(not among this cluster's top features)")
    limit = float(np.nanmax(np.abs(effect.to_numpy()))) if np.isfinite(effect.to_numpy()).any() else 1.0
    sizes = result.sizes
    fig = go.Figure(go.Heatmap(
        z=effect.to_numpy(), x=[label(f) for f in features],
        y=[f"cluster {c} ({int(sizes.get(c, 0))})" for c in clusters],
        text=text.map(label).to_numpy(), hovertemplate="%{y}<br>%{text}<br>effect %{z:.2f} sd<extra></extra>",
        colorscale="RdBu", reversescale=True, zmid=0, zmin=-limit, zmax=limit,
        colorbar=dict(title=dict(text="sd"))))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(tickangle=-40, type="category")
    return styled(fig, title="Cluster profiles: what sets each cluster apart",
                  height=height or max(320, 140 + 32 * len(clusters)))


def cluster_figures(result) -> dict:
    """Every figure of a cluster result, by name: ``map2d``, ``map_label`` (with labels),
    ``k_selection``, ``sizes``, ``profiles``."""
    figures = {"map2d": cluster_map_figure(result, 2, "cluster")}
    if result.true_labels is not None:
        figures["map_label"] = cluster_map_figure(result, 2, "label")
    figures["k_selection"] = k_selection_figure(result)
    figures["sizes"] = cluster_sizes_figure(result)
    figures["profiles"] = cluster_profile_figure(result)
    return figures
