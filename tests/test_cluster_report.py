"""The cluster figures and HTML report: built from a result, drawn in headless Chromium."""

from __future__ import annotations

import pytest

import automl
from automl import InputError

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def wine_result():
    """A quick result (small fixed autoencoder) with a hostile column name."""
    frame = automl.datasets.wine().rename(columns={"alcohol": EVIL})
    return automl.cluster(frame, labels="target", autoencoder={"hidden": (32,), "code_size": 4, "epochs": 30},
                          verbose=0)


def test_figures(wine_result):
    from automl.viz.cluster import cluster_figures, cluster_map_figure, cluster_profile_figure

    figures = cluster_figures(wine_result)
    assert set(figures) == {"map2d", "map_label", "k_selection", "sizes", "profiles"}
    by_cluster = figures["map2d"]
    assert len(by_cluster.data) == wine_result.n_clusters
    assert sum(len(t.x) for t in by_cluster.data) == len(wine_result.labels)
    hover = by_cluster.data[0].text[0]
    assert "cluster:" in hover and "target:" in hover and "proline:" in hover
    evil = cluster_map_figure(wine_result, color_by=EVIL)  # the colouring column joins the hover text
    assert all("&lt;img src=x" in t and "<img" not in t for trace in evil.data for t in trace.text)
    by_column = cluster_map_figure(wine_result, color_by="proline")
    assert by_column.data[0].marker.showscale and len(by_column.data[0].x) == len(wine_result.labels)
    assert len(figures["k_selection"].data) == 2  # the curve and the chosen k
    one = cluster_profile_figure(wine_result, cluster=0)
    assert len(one.data[0].x) == (wine_result.profiles["cluster"] == 0).sum()
    with pytest.raises(InputError, match="color_by"):
        cluster_map_figure(wine_result, color_by="nope")
    with pytest.raises(InputError, match="dims"):
        cluster_map_figure(wine_result, dims=4)
    three = cluster_map_figure(wine_result, dims=3)
    assert wine_result.map3d.shape == (len(wine_result.labels), 3) and three.data[0].type == "scatter3d"


@pytest.mark.browser
def test_report_renders_in_chromium(wine_result, tmp_path):
    from browser import open_page, require_browser

    require_browser()
    path = wine_result.report(tmp_path / "clusters.html")
    assert path.is_file() and path.stat().st_size > 1_000_000  # plotly.js embedded: works offline
    seen = open_page(path, screenshot=tmp_path / "clusters.png")
    assert seen["console_errors"] == [] and seen["dialogs"] == []
    assert seen["external_requests"] == [] and seen["failed_requests"] == []
    assert seen["plot_count"] == 5
    assert seen["rendered_count"] == seen["plot_count"], f"not drawn: {seen['unrendered']}"
    for heading in ("Maps", "Number of clusters", "Cluster profiles", "Scores", "Data and settings"):
        assert heading in seen["text"]
    assert EVIL in seen["text"]
    assert (tmp_path / "clusters.png").stat().st_size > 50_000
