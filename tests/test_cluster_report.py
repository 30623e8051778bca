"""The cluster figures and HTML report: built from a result, drawn in headless Chromium."""

from __future__ import annotations

import numpy as np
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
    # the criterion, the scores it is made of, the chosen k and the runner-up
    names = [t.name for t in figures["k_selection"].data]
    parts = {p for p in ("silhouette", "stability", "modularity") if wine_result.k_curve[p].notna().any()}
    assert names[0] == "quality" and parts | {"chosen", "runner-up"} <= set(names) and "silhouette" in parts, names
    second = figures["k_selection"].data[names.index("runner-up")]
    assert list(second.x) == [wine_result.info["k_runner_up"]]
    one = cluster_profile_figure(wine_result, cluster=0)
    assert len(one.data[0].x) == (wine_result.profiles["cluster"] == 0).sum()
    with pytest.raises(InputError, match="color_by"):
        cluster_map_figure(wine_result, color_by="nope")
    with pytest.raises(InputError, match="dims"):
        cluster_map_figure(wine_result, dims=4)
    # the figure never fits UMAP: the 3-D map is computed by the result, once, then read
    assert wine_result.map3d is None
    with pytest.raises(InputError, match=r"compute_map3d\(\)"):
        cluster_map_figure(wine_result, dims=3)
    coords = wine_result.compute_map3d()
    assert coords.shape == (len(wine_result.labels), 3) and np.isfinite(coords).all()
    assert wine_result.compute_map3d() is coords and wine_result.map3d is coords
    three = cluster_map_figure(wine_result, dims=3)
    assert three.data[0].type == "scatter3d"
    assert sum(len(t.z) for t in three.data) == len(wine_result.labels)
    # re-clusterings share the embedding, and so the map
    assert wine_result.recluster(n_clusters=2).map3d is coords


def test_cluster_report_sits_with_the_fit_report(wine_result, tmp_path):
    from automl.report import write_cluster_report
    from automl.report.cluster_report import cluster_sections

    sections = cluster_sections(wine_result)
    assert [s.title for s in sections][:3] == ["Maps", "Number of clusters", "Cluster profiles"]
    assert len(sections[0].figures) == 2  # by cluster and by the true label
    with_3d = cluster_sections(wine_result, include_3d=True)[0].figures  # the report asks the result for the map
    assert len(with_3d) == 3 and with_3d[2].data[0].type == "scatter3d" and wine_result.map3d is not None
    loaded = automl.load(wine_result.save(tmp_path / "saved"))  # a computed 3-D map is kept with the result
    np.testing.assert_allclose(loaded.map3d, wine_result.map3d)
    path = write_cluster_report(wine_result, tmp_path / "c.html", offline=False)
    text = path.read_text(encoding="utf-8")
    assert "Cluster profiles" in text and "&lt;img src=x" in text and "<img src=x" not in text


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
