"""Real-browser check: notebooks served by Voila render the dashboards in Chromium.

The fit notebook fits a small model; the page must show the dashboard's tab
labels, the leaderboard table and a drawn plotly plot; screenshots go to a
temporary folder, or to ``docs/images/`` with ``AUTOML_UPDATE_DOCS=1``. Skipped (with the reason) where Chromium or Playwright is
missing locally; in CI (``CI`` set) a missing browser fails the test.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from browser import CHROMIUM_ARGS, require_browser

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
# screenshots refresh the docs only when asked (AUTOML_UPDATE_DOCS=1), as in test_report_browser: a test run
# must not change tracked files
IMAGES = (ROOT / "docs" / "images" if os.environ.get("AUTOML_UPDATE_DOCS") == "1"
          else Path(tempfile.mkdtemp(prefix="automl_screens_")))
# anywidget rejects a model that takes over 2 s to start (plotly.js is a large bundle and loaded
# machines are slow); the plots still render, which the tests check directly.
KNOWN_NOISE = "[anywidget] Failed to initialize model"

FIT_CELLS = [
    "import automl\n"
    "from automl.datasets import breast_cancer\n"
    "result = automl.fit(breast_cancer(), 'target', families=['linear', 'gradient_boosting'],\n"
    "                    time_budget=5, verbose=0, seed=0)",
    "app = result.dashboard()\napp",
]
CLUSTER_CELLS = [
    "import automl\n"
    "clusters = automl.cluster(automl.datasets.wine(), labels='target', autoencoder=False, k_max=6,\n"
    "                          verbose=0, seed=0)",
    "app = clusters.dashboard()\napp.color_by.value = 'label'\napp",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"voila did not answer on {url} within {timeout}s")


@contextlib.contextmanager
def voila(cells: list[str], folder: Path):
    """Serve a notebook of ``cells`` with Voila on a free loopback port; yield ``(url, log path)``."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "dashboard.ipynb")
    port = _free_port()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0",
           "NUMBA_CACHE_DIR": str(ROOT / ".numba_cache")}
    log_path = folder / "voila.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voila", "dashboard.ipynb", "--no-browser", f"--port={port}",
             "--Voila.ip=127.0.0.1", "--show_tracebacks=True"],
            cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            url = f"http://127.0.0.1:{port}/"
            _wait_for_http(url, proc, timeout=60)
            yield url, log_path
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@contextlib.contextmanager
def browser_page(chromium: str):
    """A fresh headless Chromium page; yields ``(page, page errors)``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, errors
        finally:
            browser.close()


def _open_dashboard(page, errors, url: str, log_path: Path, first_tab: str) -> None:
    page.goto(url, timeout=90_000, wait_until="domcontentloaded")
    try:
        # The kernel runs the cells first; the widgets appear once the last one ends.
        page.get_by_text(first_tab, exact=True).first.wait_for(timeout=120_000)
        page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    except Exception:  # noqa: BLE001 - fail with the server's log, which has the kernel's traceback
        page.screenshot(path=str(log_path.with_suffix(".png")))
        pytest.fail(f"dashboard did not render; page errors {errors}; "
                    f"voila log:\n{log_path.read_text(errors='replace')[-4000:]}")
    page.wait_for_timeout(1500)  # let plotly finish its first layout pass


def _visible_plots(page) -> int:
    return page.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                         ".filter(e => e.offsetParent !== null && e.querySelector('.main-svg')).length")


def _assert_png(path: Path) -> None:
    assert path.exists() and path.stat().st_size > 20_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_dashboard_renders_in_chromium(tmp_path):
    chromium = require_browser()  # skips locally without Chromium; fails in CI
    pytest.importorskip("voila")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with voila(FIT_CELLS, tmp_path) as (url, log_path), browser_page(chromium) as (page, errors):
        _open_dashboard(page, errors, url, log_path, "Leaderboard")
        for title in ("Leaderboard", "Evaluation", "Training", "Search", "Data", "Export", "Explain"):
            assert page.get_by_text(title, exact=True).first.is_visible(), title
        table = page.locator("table").first  # the leaderboard lists both fitted models
        assert "linear" in table.inner_text() and "gradient_boosting" in table.inner_text()
        box = page.locator(".js-plotly-plot").first.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 150
        assert _visible_plots(page) >= 1
        page.screenshot(path=str(IMAGES / "dashboard_fit.png"), full_page=True)

        # Another tab: the selected model's evaluation figures, drawn by the browser.
        page.get_by_text("Evaluation", exact=True).first.click()
        page.wait_for_function("n => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                               ".filter(e => e.offsetParent !== null && e.querySelector('.main-svg')).length >= n",
                               arg=4, timeout=30_000)
        assert page.get_by_text("Confusion matrix", exact=False).first.is_visible()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(IMAGES / "dashboard_evaluation.png"), full_page=True)

        # Choosing another model in the page goes through the kernel and redraws the figures.
        page.locator("select").first.select_option(index=1)
        page.wait_for_function("() => Array.from(document.querySelectorAll('.gtitle'))"
                               ".some(t => t.textContent.includes('Confusion matrix: gradient_boosting'))",
                               timeout=30_000)

        # The Explain tab: a test row's contributions, partial dependence and the threshold view.
        page.get_by_text("Explain", exact=True).first.click()
        page.wait_for_function("() => ['Row 0:', 'Partial dependence on', 'Metrics by decision threshold'].every("
                               "s => Array.from(document.querySelectorAll('.gtitle')).some("
                               "t => t.textContent.includes(s) && t.closest('.js-plotly-plot').offsetParent !== null))",
                               timeout=120_000)
        assert page.get_by_text("gradient_boosting: predicted", exact=False).first.is_visible()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(IMAGES / "dashboard_explain.png"), full_page=True)
        serious = [e for e in errors if KNOWN_NOISE not in e]
        assert not serious, f"JavaScript errors on the page: {serious}"
    _assert_png(IMAGES / "dashboard_fit.png")
    _assert_png(IMAGES / "dashboard_evaluation.png")
    _assert_png(IMAGES / "dashboard_explain.png")


@pytest.mark.slow
def test_cluster_dashboard_renders_in_chromium(tmp_path):
    chromium = require_browser()
    pytest.importorskip("voila")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with voila(CLUSTER_CELLS, tmp_path) as (url, log_path), browser_page(chromium) as (page, errors):
        _open_dashboard(page, errors, url, log_path, "Map")
        for title in ("Map", "Profiles", "Choice of k"):
            assert page.get_by_text(title, exact=True).first.is_visible(), title
        assert page.get_by_text("UMAP 2-D map coloured by target").first.is_visible()
        assert _visible_plots(page) >= 1
        page.screenshot(path=str(IMAGES / "dashboard_cluster.png"), full_page=True)
        serious = [e for e in errors if KNOWN_NOISE not in e]
        assert not serious, f"JavaScript errors on the page: {serious}"
    _assert_png(IMAGES / "dashboard_cluster.png")
