"""The dashboard of a :class:`~automl.ClusterResult`: map, live re-clustering, profiles.

Re-clustering goes through :meth:`ClusterResult.recluster`, which reuses the
stored embedding (and manifold), so moving the k slider costs seconds, not a
new autoencoder. Figures come from :mod:`automl.viz.cluster`, shared with the
cluster report.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np

from ..clustering.methods import METHODS, k_range_for
from ..viz import cluster as cviz
from ..viz.theme import empty_figure
from ._widgets import figure_widget, frame_html, message_html, replace_figure, safe

DIMS = (("2-D", 2), ("3-D", 3))
PROFILE_COLUMNS = ["rank", "feature", "description", "effect", "cluster_value", "rest_value"]


# -- views: plain functions of the result ------------------------------------------------
def color_options(result) -> list[str]:
    """What the map can be coloured by: 'cluster', 'label' (with ``labels=``), then every input column."""
    options = ["cluster"]
    if result.true_labels is not None:
        options.append("label")
    return options + [str(c) for c in result.data.columns]


def cluster_ids(result) -> list[int]:
    """Cluster ids present in the labels (noise, -1, last)."""
    ids = sorted(int(i) for i in np.unique(result.labels))
    return [i for i in ids if i >= 0] + [i for i in ids if i < 0]


def cluster_options(result) -> list[tuple[str, int]]:
    """``(label, id)`` pairs for the cluster picker, with each cluster's size."""
    sizes = result.sizes
    n = len(result.labels)
    return [(f"{'noise' if i < 0 else f'cluster {i}'} ({int(sizes.get(i, 0))} rows, {sizes.get(i, 0) / n:.0%})", i)
            for i in cluster_ids(result)]


def k_bounds(result) -> tuple[int, int]:
    """The k slider's range: the candidates the search considers, widened to include the current k."""
    candidates = k_range_for(len(result.labels), result.info.get("k_max"))
    low, high = candidates.start, max(candidates.stop - 1, candidates.start + 1)
    return min(low, max(2, result.n_clusters)), max(high, result.n_clusters)


def profile_table_html(result, cluster: int) -> str:
    """The features that set ``cluster`` apart, in data units, as an HTML table."""
    profiles = result.profiles
    if profiles is None or not len(profiles) or "cluster" not in profiles.columns:
        return message_html("No cluster profiles were computed.")
    part = profiles.loc[profiles["cluster"] == cluster]
    if not len(part) or part["feature"].isna().all():
        return message_html(f"No feature sets cluster {cluster} apart from the other rows.")
    size = int(part["size"].iloc[0])
    head = (f"<div style='margin:4px 0'><b>{'noise' if cluster < 0 else f'cluster {cluster}'}</b>: "
            f"{size} rows ({size / len(result.labels):.1%}). Effect = difference from the other rows "
            f"in pooled standard deviations.</div>")
    shown = part.sort_values("rank")[[c for c in PROFILE_COLUMNS if c in part.columns]]
    return head + frame_html(shown)


def label_mix_html(result, cluster: int, top: int = 5) -> str:
    """The most common true labels inside ``cluster`` (only with ``labels=``)."""
    if result.true_labels is None:
        return ""
    inside = result.true_labels.to_numpy()[result.labels == cluster]
    if not len(inside):
        return ""
    values, counts = np.unique(np.asarray(inside, dtype=str), return_counts=True)
    order = np.argsort(-counts)[:top]
    mix = ", ".join(f"{html.escape(values[i])} {counts[i] / len(inside):.0%}" for i in order)
    return f"<div style='margin:4px 0;color:#444'>{html.escape(str(result.label_column))} inside: {mix}</div>"


def scores_html(result) -> str:
    """The result's key facts (method, k, scores) as one line of HTML."""
    facts = result.summary() if hasattr(result, "summary") else [("Clusters", str(result.n_clusters))]
    return " &middot; ".join(f"<b>{html.escape(k)}</b> {html.escape(v)}" for k, v in facts)


# -- the app -----------------------------------------------------------------------------
class ClusterDashboard(widgets.VBox):
    """Map, live re-clustering and profiles of a cluster result.

    Attributes (for scripting and tests)
    ------------------------------------
    result : ClusterResult
        The result currently shown (a re-clustered copy after the controls move).
    method_picker : Dropdown
        Clustering method, applied to the stored embedding.
    k_slider : IntSlider
        Number of clusters (disabled for HDBSCAN, which finds its own).
    color_by : Dropdown
        'cluster', 'label' or any input column.
    dims : ToggleButtons
        2 or 3 map dimensions.
    map_figure, sizes_figure, k_figure, profile_figure : FigureWidget
    cluster_picker : Dropdown
        The cluster whose profile is shown.
    profile_table : HTML
    status : HTML
        Scores of the current clustering, or the error of the last re-clustering.
    """

    def __init__(self, result):
        self.base = result
        self.result = result
        self._cache: dict[tuple[str, int | None], Any] = {(result.method, result.n_clusters): result}

        self.status = widgets.HTML(scores_html(result))
        self.method_picker = widgets.Dropdown(options=list(METHODS), value=result.method, description="Method:")
        low, high = k_bounds(result)
        self.k_slider = widgets.IntSlider(value=result.n_clusters, min=low, max=high, step=1, description="k:",
                                          continuous_update=False, disabled=self._finds_own_k(result.method))
        self.color_by = widgets.Dropdown(options=color_options(result), value="cluster", description="Colour by:")
        self.dims = widgets.ToggleButtons(options=DIMS, value=2, style={"button_width": "60px"})

        self.map_figure = figure_widget(cviz.cluster_map_figure(result, dims=2, color_by="cluster"))
        self.cluster_picker = widgets.Dropdown(options=cluster_options(result), description="Cluster:",
                                               layout=widgets.Layout(width="360px"))
        self.profile_table = widgets.HTML()
        self.label_mix = widgets.HTML()
        # Figures of the other tabs are made when a tab is first opened: each FigureWidget ships
        # plotly.js to the page and anywidget gives a model 2 s to start.
        self._figures: dict[str, Any] = {}
        self._profile_box = widgets.VBox()
        self._k_box = widgets.VBox()

        map_tab = widgets.VBox([widgets.HBox([self.color_by, self.dims]), self.map_figure])
        profile_tab = widgets.VBox([self.cluster_picker, self.label_mix, self.profile_table, self._profile_box])
        k_tab = widgets.VBox([widgets.HTML("How the number of clusters was chosen on the stored embedding; "
                                           "move the k slider above to try another."), self._k_box])
        self.tabs = widgets.Tab(children=[map_tab, profile_tab, k_tab], titles=("Map", "Profiles", "Choice of k"))
        self.show_profile(self.cluster_picker.value)
        self.tabs.observe(lambda c: self._ensure(c["new"]), names="selected_index")

        self.method_picker.observe(lambda c: self.recluster(method=c["new"]), names="value")
        self.k_slider.observe(lambda c: self.recluster(n_clusters=c["new"]), names="value")
        self.color_by.observe(lambda c: self.show_map(), names="value")
        self.dims.observe(lambda c: self.show_map(), names="value")
        self.cluster_picker.observe(lambda c: c["new"] is not None and self.show_profile(c["new"]), names="value")

        header = widgets.HTML(f"<h3 style='margin:4px 0'>automl clusters: {len(result.labels):,} rows, "
                              f"{result.info.get('embedding_dim', '?')}-dimensional embedding</h3>")
        controls = widgets.HBox([self.method_picker, self.k_slider])
        super().__init__([header, controls, self.status, self.tabs])

    # -- callbacks ----------------------------------------------------------------------
    def recluster(self, method: str | None = None, n_clusters: int | None = None) -> None:
        """Cluster the stored embedding again (method and/or k) and redraw every view."""
        method = method or self.method_picker.value
        own_k = self._finds_own_k(method)
        k = None if own_k else int(n_clusters if n_clusters is not None else self.k_slider.value)
        key = (method, k)
        if key not in self._cache:
            self.status.value = f"re-clustering with {html.escape(method)}{'' if k is None else f', k={k}'} ..."
            new, error = safe(lambda: self.base.recluster(method=method, n_clusters="auto" if k is None else k))
            if new is None:
                self.status.value = message_html(f"Could not re-cluster: {error}", "error")
                return
            self._cache[key] = new
        self.result = self._cache[key]
        self.k_slider.disabled = own_k
        self.status.value = scores_html(self.result)
        self.show_map()
        if "k" in self._figures:
            replace_figure(self._figures["k"], cviz.k_selection_figure(self.result))
            replace_figure(self._figures["sizes"], cviz.cluster_sizes_figure(self.result))
        if "overview" in self._figures:
            replace_figure(self._figures["overview"], cviz.cluster_profile_figure(self.result))
        previous = self.cluster_picker.value
        options = cluster_options(self.result)
        ids = [i for _, i in options]
        self.cluster_picker.options = options  # may reset the value and fire show_profile
        self.cluster_picker.value = previous if previous in ids else ids[0]
        self.show_profile(self.cluster_picker.value)

    def show_map(self) -> None:
        """Redraw the map for the current colour and dimension choices."""
        if self.dims.value == 3 and self.result.map3d is None:
            # the clustering layer fits the 3-D map (once: re-clusterings share it); the figure only draws it
            self.status.value = "computing the 3-D map (UMAP) ..."
            coords, error = safe(self.result.compute_map3d)
            if coords is None:
                self.status.value = message_html(f"Could not compute the 3-D map: {error}", "error")
                return
            self.status.value = scores_html(self.result)
        figure, error = safe(lambda: cviz.cluster_map_figure(self.result, dims=self.dims.value,
                                                             color_by=self.color_by.value))
        if figure is None:
            self.status.value = message_html(error, "error")
            return
        replace_figure(self.map_figure, figure)

    def show_profile(self, cluster: int) -> None:
        """Show what sets ``cluster`` apart: table, bar figure and the label mix inside it."""
        self.profile_table.value = profile_table_html(self.result, cluster)
        self.label_mix.value = label_mix_html(self.result, cluster)
        if "profile" not in self._figures:
            return  # drawn when the Profiles tab opens
        figure, error = safe(lambda: cviz.cluster_profile_figure(self.result, cluster=cluster))
        if figure is None:
            self.profile_table.value += message_html(error, "error")
            return
        replace_figure(self._figures["profile"], figure)

    # -- figures of the other tabs, made on first use ------------------------------------
    def _ensure(self, index) -> None:
        if index == 1 and "profile" not in self._figures:
            self._figures["profile"] = figure_widget(empty_figure("Pick a cluster.", title="Cluster profile"))
            self._figures["overview"] = figure_widget(cviz.cluster_profile_figure(self.result))
            self._profile_box.children = (self._figures["profile"], self._figures["overview"])
            self.show_profile(self.cluster_picker.value)
        elif index == 2 and "k" not in self._figures:
            self._figures["k"] = figure_widget(cviz.k_selection_figure(self.result))
            self._figures["sizes"] = figure_widget(cviz.cluster_sizes_figure(self.result))
            self._k_box.children = (self._figures["k"], self._figures["sizes"])

    @property
    def profile_figure(self):
        """Bars of the selected cluster's distinguishing features (FigureWidget)."""
        self._ensure(1)
        return self._figures["profile"]

    @property
    def overview_figure(self):
        """Heatmap of every cluster's distinguishing features (FigureWidget)."""
        self._ensure(1)
        return self._figures["overview"]

    @property
    def k_figure(self):
        """The k-selection curve (FigureWidget)."""
        self._ensure(2)
        return self._figures["k"]

    @property
    def sizes_figure(self):
        """Rows per cluster (FigureWidget)."""
        self._ensure(2)
        return self._figures["sizes"]

    @staticmethod
    def _finds_own_k(method: str) -> bool:
        return METHODS.get(method, ("", ""))[1] == "hdbscan"
