"""The reports in a real headless Chromium: every figure drawn, no errors, no network, nothing executed.

The page unpacks its embedded plotly.js with the browser's DecompressionStream
before drawing; these tests check that this happens with no request at all
besides the report file itself.

Skips with the reason when Chromium or playwright is missing locally; fails in CI
(``CI`` set), where ``tests/browser_setup.py`` installs the browser first.
Set ``AUTOML_UPDATE_DOCS=1`` to refresh the screenshots in ``docs/images``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from browser import open_page, require_browser
from report_cases import EVIL, fitted, report

pytestmark = pytest.mark.browser
DOCS_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
HEADINGS = ["Summary", "Data and column decisions", "Leaderboard", "Search history and hyperparameters",
            "Feature importance", "Models compared", "Notes and settings", "Reproducibility"]


def _offline(seen: dict, path: Path) -> None:
    """Nothing was asked of the network or the disk but the report itself (``data:`` URLs aside)."""
    assert seen["external_requests"] == [] and seen["failed_requests"] == []
    page_url = Path(path).resolve().as_uri()
    others = [url for url in seen["requests"] if url != page_url and not url.startswith("data:")]
    assert others == []
    assert seen["requests"][:1] == [page_url]


@pytest.fixture(autouse=True)
def _browser():
    require_browser()


def _publish(png: Path, name: str) -> None:
    """Copy a screenshot into the docs when asked to (or when the docs lack it)."""
    target = DOCS_IMAGES / name
    if os.environ.get("AUTOML_UPDATE_DOCS") == "1" or not target.exists():
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_report_renders_every_figure(kind, tmp_path):
    shot = tmp_path / f"report_{kind}.png"
    seen = open_page(report(kind), screenshot=shot if kind == "binary" else None)
    assert seen["console_errors"] == []
    _offline(seen, report(kind))
    leading = list(fitted(kind).leaderboard["model"])[:3]
    evaluation = 5 if kind != "regression" else 2
    assert seen["plot_count"] >= 1 + evaluation * len(leading) + 4
    assert seen["rendered_count"] == seen["plot_count"], f"not drawn: {seen['unrendered']}"
    assert seen["svg_count"] >= seen["plot_count"]
    for heading in HEADINGS + [f"Model {rank}: {name}" for rank, name in enumerate(leading, start=1)]:
        assert heading in seen["text"]
    # plotly drew real axes and labels, not empty frames
    assert any("validation" in t for t in seen["svg_text"])
    if kind == "binary":
        assert shot.stat().st_size > 100_000
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        _publish(shot, "report_binary.png")


def test_dark_scheme_screenshot(tmp_path):
    shot = tmp_path / "dark.png"
    seen = open_page(report("binary"), screenshot=shot, color_scheme="dark", full_page=False,
                     scroll_to="#model-1")
    assert seen["console_errors"] == []
    assert seen["rendered_count"] == seen["plot_count"]
    _publish(shot, "report_binary_dark.png")


def test_hostile_names_show_as_text_and_run_nothing():
    seen = open_page(report("evil"))
    assert seen["dialogs"] == []  # no alert() ran
    assert seen["console_errors"] == []
    assert seen["rendered_count"] == seen["plot_count"] > 0
    assert EVIL in seen["text"]  # the column name, shown literally in the tables
    assert "<img src=x onerror=alert(2)>" in seen["text"]
    # the class label appears literally on the confusion-matrix axes
    assert "<img src=x onerror=alert(2)>" in seen["svg_text"]


def test_fifty_thousand_row_report_renders_offline():
    seen = open_page(report("big"))
    assert seen["console_errors"] == []
    _offline(seen, report("big"))
    assert seen["rendered_count"] == seen["plot_count"] >= 3, f"not drawn: {seen['unrendered']}"
