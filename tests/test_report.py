"""The HTML report: sections, one embedded plotly.js, no remote resources, escaped user strings."""

from __future__ import annotations

import os
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

import automl
from automl.errors import InputError
from automl.report import Section, render_report, write_fit_report
from report_cases import EVIL, fitted, report, with_network

BUNDLE_MARK = "* plotly.js v"


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


EXPECTED = {
    "binary": {"summary", "data", "leaderboard", "evaluation", "search", "importance", "notes"},
    "multiclass": {"summary", "data", "leaderboard", "evaluation", "search", "importance", "notes"},
    "regression": {"summary", "data", "leaderboard", "evaluation", "search", "importance", "notes"},
}


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_task_report_is_complete_and_offline(kind):
    path = report(kind)
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    result = fitted(kind)
    assert EXPECTED[kind] <= page.ids
    # the table of contents links every section
    assert {link.lstrip("#") for link in page.links if link.startswith("#")} >= EXPECTED[kind]
    assert "Leaderboard" in page.headings and "Feature importance" in page.headings
    # plotly.js exactly once, inline; one script per figure; nothing fetched from elsewhere
    assert text.count(BUNDLE_MARK) == 1
    assert all("src" not in s for s in page.scripts)
    assert _external(page) == []
    evaluation = 5 if kind != "regression" else 2
    assert len(page.plots) >= 1 + evaluation + 1 + 1  # leaderboard, evaluation, search, importance
    assert len(page.plots) == len(set(page.plots))
    assert len(page.scripts) == 2 + len(page.plots)
    assert text.count("</script>") == len(page.scripts)
    # the leaderboard table lists every model; the summary names the best
    for model in result.leaderboard["model"]:
        assert model in page.cells
    assert result.best_model_name in text
    assert f"{result.info['rows']} rows" in text
    titles = {"binary": "Confusion matrix", "multiclass": "ROC curve (one-vs-rest)",
              "regression": "Predicted vs actual"}
    assert titles[kind] in text
    assert 3_000_000 < path.stat().st_size < 12_000_000


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
    assert len(page.scripts) == 2 + len(page.plots)
    assert text.count("</script>") == len(page.scripts)


def test_cdn_report_is_small_and_links_plotly():
    path = report("binary", offline=False)
    text = path.read_text(encoding="utf-8")
    page = Page(text)
    assert BUNDLE_MARK not in text
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

    result = automl.fit(breast_cancer_df, "target", families=["neural_network"], time_budget=30, max_trials=2,
                        max_epochs=6, directory=str(tmp_path / "search"), verbose=0)
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
    assert {"training", "evaluation", "search", "importance"} <= page.ids
    assert "Training curves" in page.headings
