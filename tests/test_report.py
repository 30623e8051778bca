"""The HTML report: sections, one compressed plotly.js, no remote resources, escaped user strings, sizes."""

from __future__ import annotations

import base64
import gzip
import json
import os
import platform
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import automl
from automl.errors import InputError
from automl.metrics import get_metric
from automl.report import Section, render_report, write_fit_report
from automl.evaluate.comparison import (data_fingerprint, importance_by_model, leading_models,
                                       prediction_correlation, reproducibility)
from automl.viz.comparison import importance_comparison_figure, prediction_correlation_figure
from report_cases import BIG_ROWS, EVIL, big_fit, fitted, report, with_network

BUNDLE_MARK = "* plotly.js v"
PACKED = re.compile(r'var packed = "([A-Za-z0-9+/=]*)";')
MB = 1_000_000


def _packed(text: str) -> list[str]:
    """The embedded plotly.js bundles (gzip + base64) of a report page."""
    return PACKED.findall(text)


def _sections(text: str) -> dict[str, str]:
    """The HTML of each report section by id."""
    parts = re.split(r'<section id="([^"]+)" class="report-section">', text)
    return {parts[i]: parts[i + 1].split("</section>")[0] for i in range(1, len(parts), 2)}


class Page(HTMLParser):
    """What a report is made of: tags, ids, links, scripts and plot divs."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.scripts: list[dict] = []
        self.plots: list[str] = []
        self.headings: list[str] = []
        self.cells: list[str] = []
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if tag == "script":
            self.scripts.append(attrs)
        if tag == "div" and "plotly-graph-div" in (attrs.get("class") or ""):
            self.plots.append(attrs.get("id"))
        if tag in ("h2", "td", "th"):
            self._in = tag
            (self.headings if tag == "h2" else self.cells).append("")

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in == "h2":
            self.headings[-1] += data
        elif self._in in ("td", "th"):
            self.cells[-1] += data


def _external(page: Page) -> list[str]:
    out = []
    for _, attrs in page.tags:
        for key in ("src", "href"):
            value = (attrs.get(key) or "").strip().lower()
            if value.startswith(("http:", "https:", "//")):
                out.append(value)
    return out


BASE = {"summary", "data", "leaderboard", "model-1", "search", "importance", "notes", "reproducibility"}
EXPECTED = {kind: BASE for kind in ("binary", "multiclass", "regression")}


def _leading(result) -> list[str]:
    return list(result.leaderboard["model"])[:3]


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_task_report_is_complete_and_offline(kind):
    path = report(kind)
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    result = fitted(kind)
    leading = _leading(result)
    assert len(leading) >= 2  # the classic families give several models to compare
    expected = EXPECTED[kind] | {f"model-{k}" for k in range(1, len(leading) + 1)} | {"comparison"}
    assert expected <= page.ids
    # the table of contents links every section
    assert {link.lstrip("#") for link in page.links if link.startswith("#")} >= expected
    assert {"Leaderboard", "Feature importance", "Models compared", "Reproducibility"} <= set(page.headings)
    # plotly.js exactly once, compressed and inline; one script per figure; nothing fetched from elsewhere
    assert len(_packed(text)) == 1 and BUNDLE_MARK not in text
    assert all("src" not in s for s in page.scripts)
    assert _external(page) == []
    evaluation = 5 if kind != "regression" else 2
    # leaderboard, each leading model's evaluation, search, importance, importance by model, agreement
    assert len(page.plots) >= 1 + evaluation * len(leading) + 1 + 1 + 2
    assert len(page.plots) == len(set(page.plots))
    assert len(page.scripts) == 1 + len(page.plots)
    assert text.count("</script>") == len(page.scripts)
    # the leaderboard table lists every model; the summary names the best
    for model in result.leaderboard["model"]:
        assert model in page.cells
    assert result.best_model_name in text
    assert f"{result.info['rows']} rows" in text
    titles = {"binary": "Confusion matrix", "multiclass": "ROC curve (one-vs-rest)",
              "regression": "Predicted vs actual"}
    assert titles[kind] in text
    assert 2 * MB < path.stat().st_size < 3 * MB  # the bundle (~1.96 MB) and the figures, not 4.9 MB


def test_embedded_bundle_is_the_whole_plotly_js():
    from plotly.offline import get_plotlyjs

    (packed,) = _packed(report("binary").read_text(encoding="utf-8"))
    assert len(packed) < 2.1 * MB  # 4.8 MB of plotly.min.js, stored gzip + base64
    assert gzip.decompress(base64.b64decode(packed)).decode("utf-8") == get_plotlyjs()


def test_fifty_thousand_row_report_is_small():
    path = report("big")
    text = path.read_text(encoding="utf-8")
    sections = _sections(text)
    assert path.stat().st_size < 6 * MB
    assert len(_packed(text)) == 1
    # the scatter plots carry a sample of the test rows, and the page says so
    rows = len(big_fit().test["X"])
    assert rows > 5000 and big_fit().info["rows"] == BIG_ROWS
    note = re.search(r"Scatter plots show a random sample of ([\d,]+) of the ([\d,]+) test rows", sections["model-1"])
    assert note is not None and note.group(2) == f"{rows:,}"
    assert int(note.group(1).replace(",", "")) <= 5000
    assert Page(text).plots


def test_user_strings_cannot_become_markup():
    path = report("evil")
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    assert "<script>alert(1)" not in text
    assert "<img" not in text and "<b>bold" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # in the schema table, as text
    assert EVIL in page.cells  # what a reader sees in the table
    assert "<img src=x onerror=alert(2)>" in page.cells
    assert {tag for tag, _ in page.tags}.isdisjoint({"img", "b", "iframe", "object"})
    assert not any(key.startswith("on") for _, attrs in page.tags for key in attrs)
    # every script element is one we wrote: config, bundle, one per figure
    assert len(page.scripts) == 1 + len(page.plots)
    assert text.count("</script>") == len(page.scripts)


def test_cdn_report_is_small_and_links_plotly():
    path = report("binary", offline=False)
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    assert BUNDLE_MARK not in text and _packed(text) == []
    sources = [s["src"] for s in page.scripts if "src" in s]
    assert len(sources) == 1 and sources[0].startswith("https://cdn.plot.ly/plotly-")
    assert path.stat().st_size < 600_000


def test_training_section_appears_for_networks(tmp_path):
    result = with_network(fitted("binary"), best_epoch=3)
    path = write_fit_report(result, tmp_path / "net.html", title="Networks & more")
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    assert "training" in page.ids
    assert "kept epoch 4 (early stopping)" in text
    assert "<title>Networks &amp; more</title>" in text


def test_report_of_a_loaded_result(tmp_path):
    loaded = automl.load(fitted("regression").save(tmp_path / "saved"))
    path = loaded.report(tmp_path / "sub" / "loaded.html")
    page = Page(path.read_text(encoding="utf-8"))
    assert EXPECTED["regression"] <= page.ids
    assert len(page.plots) >= 5


def test_render_report_layout_and_atomic_write(tmp_path):
    fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
    long = pd.DataFrame({"n": range(250), "word": ["<i>w</i>"] * 250})
    long.attrs["caption"] = "Long <table>"
    target = tmp_path / "custom.html"
    target.write_text("old report")
    sections = [Section("a b/c", "First & <best>", figures=[fig], tables=[long], text="one\n\ntwo <u>"),
                Section("a b/c", "Again", text="dup id"), Section("9", "Digits")]
    out = render_report(target, title="T <x>", subtitle="sub", summary=[("rows", 3)], sections=sections)
    assert out == target
    text = target.read_text(encoding="utf-8")
    page = Page(text)
    assert {"a-b-c", "a-b-c-2", "s-9", "summary"} <= page.ids
    assert "First &amp; &lt;best&gt;" in text and "two &lt;u&gt;" in text
    assert "Long &lt;table&gt;" in text and "&lt;i&gt;w&lt;/i&gt;" in text
    assert "50 more row(s) not shown." in text
    assert len(page.plots) == 1
    assert sorted(os.listdir(tmp_path)) == ["custom.html"]  # no temporary file left behind
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # readable like any new file
    with pytest.raises(InputError, match="is a directory"):
        render_report(tmp_path, title="x", sections=[])
    with pytest.raises(InputError, match="Section objects"):
        render_report(tmp_path / "x.html", title="x", sections=["not a section"])
    assert Path(render_report(tmp_path / "new" / "deep.html", title="x", sections=[])).is_file()


def test_report_of_a_real_network_search(breast_cancer_df, tmp_path):
    from automl import viz

    result = automl.fit(breast_cancer_df, "target", families=["neural_network"], time_budget=30, verbose=0,
                        network={"max_trials": 2, "max_epochs": 6, "directory": str(tmp_path / "search")})
    networks = [n for n, c in result.models.items() if c.history]
    assert networks
    name = next(n for n in result.leaderboard["model"] if n in networks)
    history = result.models[name].history
    fig = viz.training_curves_figure(result)
    assert name in fig.layout.title.text
    lines = [t for t in fig.data if t.type == "scatter"]
    assert {t.name for t in lines} == {"train", "validation"}
    assert all(len(t.x) == len(history["loss"]) for t in lines)
    page = Page(result.report(tmp_path / "net.html").read_text(encoding="utf-8"))
    assert {"training", "model-1", "search", "importance"} <= page.ids
    assert "Training curves" in page.headings


# -- the new sections -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_a_section_for_each_leading_model(kind):
    result = fitted(kind)
    text = report(kind).read_text(encoding="utf-8")
    sections = _sections(text)
    board = result.leaderboard
    evaluation = 5 if kind != "regression" else 2
    for rank, name in enumerate(_leading(result), start=1):
        html = sections[f"model-{rank}"]
        page = Page(html)
        assert page.headings == [f"Model {rank}: {name}" + (" (best)" if rank == 1 else "")]
        # this model's own evaluation figures, drawn from its stored test predictions
        assert len(page.plots) == evaluation
        assert all(p.startswith(f"model-{rank}-fig-") for p in page.plots)
        assert f"Every metric of {name} on the {len(result.test['y']):,} test rows" in html
        row = board.loc[board["model"] == name].iloc[0]
        params = row["params"] if isinstance(row["params"], dict) else json.loads(row["params"])
        for key in params:
            assert str(key) in page.cells  # its parameters, one per row
        test_score = float(row["test_score"]) * (1 if get_metric(result.metric, kind).greater_is_better else -1)
        numbers = [float(c.replace(",", "")) for c in page.cells if re.fullmatch(r"-?[\d,]+\.?\d*", c)]
        assert any(abs(v - test_score) <= 5e-3 * max(1.0, abs(test_score)) for v in numbers)  # shown rounded
        assert f"ranked {rank} of {len(board)}" in html
        assert "random sample" not in html  # a few hundred test rows are all drawn


def test_reproducibility_block_has_versions_and_fingerprint():
    import plotly
    import sklearn

    from automl.datasets import breast_cancer

    result = fitted("binary")
    html = _sections(report("binary").read_text(encoding="utf-8"))["reproducibility"]
    cells = Page(html).cells
    fingerprint = data_fingerprint(breast_cancer())
    assert result.info["data_fingerprint"] == fingerprint and fingerprint in cells
    for item, value in [("automl", automl.__version__), ("numpy", np.__version__), ("pandas", pd.__version__),
                        ("scikit-learn", sklearn.__version__), ("plotly", plotly.__version__),
                        ("python", platform.python_version()), ("CPU count", str(os.cpu_count())),
                        ("seed", "0"), ("time budget (s)", "6.0")]:
        i = cells.index(item)
        assert cells[i + 1] == value, item
    assert "this session" not in cells  # recorded when the model was fitted


def test_reproducibility_of_an_older_result_says_where_values_come_from():
    import dataclasses

    result = fitted("regression")
    info = {k: v for k, v in result.info.items() if k not in ("environment", "data_fingerprint")}
    table = reproducibility(dataclasses.replace(result, info=info))
    by_item = dict(zip(table["item"], zip(table["value"], table["source"])))
    assert by_item["data fingerprint"][0] == "not recorded"
    assert by_item["automl"] == (automl.__version__, "this session")


def test_data_fingerprint_follows_values_names_and_types():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": [[1], [2], [3]]})
    first = data_fingerprint(frame)
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", first)
    assert data_fingerprint(frame.copy()) == first
    assert data_fingerprint(frame.assign(a=[1, 2, 4])) != first
    assert data_fingerprint(frame.rename(columns={"a": "A"})) != first
    assert data_fingerprint(frame.astype({"a": "float64"})) != first
    assert data_fingerprint(frame.iloc[::-1]) != first
    with pytest.raises(InputError, match="`frame` must be a pandas DataFrame"):
        data_fingerprint([[1, 2]])


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_importance_and_agreement_across_models(kind):
    result = fitted(kind)
    leading = leading_models(result, 3)
    assert leading == _leading(result)
    importance = importance_by_model(result, leading)
    assert list(importance.columns) == leading
    assert set(importance.index) == set(result.schema.used)
    for name in leading:  # the cached per-model importance, not a new measurement
        cached = result.feature_importance(model=name).set_index("feature")["importance"]
        assert np.allclose(importance[name], cached.loc[importance.index])
    means = importance.mean(axis=1).to_numpy()
    assert np.all(np.diff(means) <= 1e-12)  # ordered by mean importance
    fig = importance_comparison_figure(importance)
    assert [t.name for t in fig.data] == leading and all(t.type == "bar" for t in fig.data)

    agreement = prediction_correlation(result)
    names = list(agreement.columns)
    assert names == list(result.leaderboard["model"])[:len(names)] and len(names) >= 2
    values = agreement.to_numpy()
    assert np.allclose(values, values.T, equal_nan=True) and np.allclose(np.diag(values), 1)
    stored = result.test["predictions"]
    a, b = names[:2]
    if kind == "regression":
        expected = np.corrcoef(stored[a]["pred"], stored[b]["pred"])[0, 1]
    elif kind == "binary":
        expected = np.corrcoef(stored[a]["proba"][:, 1], stored[b]["proba"][:, 1])[0, 1]
    else:
        expected = np.corrcoef(stored[a]["proba"].ravel(), stored[b]["proba"].ravel())[0, 1]
    assert agreement.loc[a, b] == pytest.approx(expected)
    assert agreement.attrs["rows"] == len(result.test["y"])
    fig = prediction_correlation_figure(agreement)
    assert np.allclose(np.asarray(fig.data[0].z, dtype=float), values, equal_nan=True)


def test_agreement_without_probabilities_counts_equal_labels():
    import dataclasses

    result = fitted("multiclass")
    names = list(result.leaderboard["model"])[:2]
    predictions = {n: {"pred": result.test["predictions"][n]["pred"], "proba": None} for n in names}
    bare = dataclasses.replace(result, test={**result.test, "predictions": predictions})
    agreement = prediction_correlation(bare, names)
    expected = float(np.mean(predictions[names[0]]["pred"] == predictions[names[1]]["pred"]))
    assert agreement.loc[names[0], names[1]] == pytest.approx(expected)
    assert agreement.attrs["measure"] == "share of test rows with the same predicted class"


def test_comparison_inputs_are_checked():
    result = fitted("binary")
    with pytest.raises(InputError, match="unknown model"):
        importance_by_model(result, ["no such model"])
    with pytest.raises(InputError, match="`top` must be a positive integer"):
        leading_models(result, 0)
    with pytest.raises(InputError, match="compute it first"):
        importance_comparison_figure(result)
    with pytest.raises(InputError, match="compute it first"):
        prediction_correlation_figure(result)


def test_explanation_and_decision_sections():
    result = fitted("binary")
    sections = _sections(report("binary").read_text(encoding="utf-8"))
    explained = Page(sections["explanations"])
    assert explained.headings == ["Explanations"] and len(explained.plots) == 1
    shap = result.feature_importance(method="shap")  # what the report showed: cached, computed once
    assert shap.iloc[0]["feature"] in explained.cells
    decided = Page(sections["decisions"])
    threshold = result.threshold
    assert threshold is not None and 0 < threshold < 1
    assert f"at {threshold:.4g}" in decided.cells and "at 0.5" in decided.cells
    assert {"f1", "balanced_accuracy", "cumulative_gain", "lift"} <= set(decided.cells)
    assert "KS statistic on the test rows" in sections["decisions"]
    # regression has no decisions to show
    assert "decisions" not in _sections(report("regression").read_text(encoding="utf-8"))


def test_cluster_maps_draw_a_stratified_sample():
    from types import SimpleNamespace

    from automl.viz.cluster import cluster_map_figure

    rng = np.random.default_rng(0)
    n = 12_000
    labels = np.where(rng.random(n) < 0.02, 3, rng.integers(0, 3, n))  # cluster 3 is rare (2 %)
    fake = SimpleNamespace(map2d=rng.normal(size=(n, 2)), map3d=None, labels=labels, true_labels=None,
                           label_column=None, data=pd.DataFrame({"a": rng.normal(size=n)}),
                           profiles=pd.DataFrame())
    full = cluster_map_figure(fake)
    assert sum(len(t.x) for t in full.data) == n and "sample" not in full.layout.title.text
    fig = cluster_map_figure(fake, max_points=5000)
    counts = {t.name: len(t.x) for t in fig.data}
    assert 4990 <= sum(counts.values()) <= 5000
    assert "a sample of" in fig.layout.title.text and f"of {n:,} rows, stratified by cluster" in fig.layout.title.text
    rare = int((labels == 3).sum())
    assert abs(counts["cluster 3"] - 5000 * rare / n) <= 1  # every cluster keeps its share
    assert fig.data[0].type == "scatter"  # few enough points for SVG


def test_the_summary_says_why_an_ensemble_is_first_despite_a_higher_single_score():
    from automl.metrics import get_metric
    from automl.report.fit_report import _selection_note

    accuracy = get_metric("accuracy", "binary")
    note = _selection_note({"chosen": "ensemble", "over": "lightgbm", "lead": 0.0015, "noise": 0.0046}, accuracy)
    assert "lightgbm" in note and "0.0015" in note and "0.0046" in note
    assert _selection_note({"chosen": "lightgbm", "over": "ensemble", "lead": 0.02, "noise": 0.004}, accuracy) == ""
    assert _selection_note(None, accuracy) == ""
