"""Open pages in headless Chromium for the browser tests (reports, dashboards).

Usage in a test module::

    from browser import open_page, require_browser

    def test_report_renders(tmp_path):
        require_browser()
        page = open_page(tmp_path / "report.html")
        assert page["console_errors"] == []

Policy: locally a missing browser skips the test with the reason; when the
``CI`` environment variable is set the browser must exist (``make test`` runs
``tests/browser_setup.py`` first, which installs it), so the test fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Plotly draws every figure into a div of this class, and its SVG layers carry `.main-svg`.
_PLOT_STATE_JS = """() => {
  const plots = Array.from(document.querySelectorAll('.plotly-graph-div'));
  return {
    plot_count: plots.length,
    rendered: plots.filter(p => p.querySelector('.main-svg') !== null).length,
    svg_count: document.querySelectorAll('.main-svg').length,
    unrendered: plots.filter(p => p.querySelector('.main-svg') === null).map(p => p.id),
  };
}"""


def chromium_path() -> str | None:
    """Path of a Chromium-like browser (``AUTOML_CHROMIUM`` wins), or None when there is none."""
    explicit = os.environ.get("AUTOML_CHROMIUM")
    if explicit and Path(explicit).is_file():
        return explicit
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def playwright_available() -> bool:
    """True when playwright's Python package can be imported."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def require_browser() -> str:
    """Return the browser path, or skip (locally) / fail (in CI) with the reason."""
    problems = []
    path = chromium_path()
    if path is None:
        problems.append("no Chromium found (install Debian `chromium` or run tests/browser_setup.py)")
    if not playwright_available():
        problems.append("the `playwright` package is missing (pip install -e '.[test]')")
    if problems:
        reason = "browser test needs " + "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(reason + " - CI must run the browser tests.")
        pytest.skip(reason)
    return path


def open_page(path_or_url, screenshot=None, wait_for_plots: bool = True, *, timeout_s: float = 60.0,
              color_scheme: str = "light", viewport=(1400, 900), full_page: bool = True,
              block_network: bool = True, scroll_to: str | None = None) -> dict:
    """Load a page in headless Chromium, wait for its plotly figures and report what it saw.

    Parameters
    ----------
    path_or_url : str or Path
        A local file (opened as ``file://``) or an http(s) URL.
    screenshot : str or Path, optional
        Write a PNG of the page here.
    wait_for_plots : bool, default=True
        Wait until every plotly div holds its SVG (or ``timeout_s`` passes).
    timeout_s : float, default=60
    color_scheme : {'light', 'dark'}, default='light'
        The ``prefers-color-scheme`` the page sees.
    viewport : (int, int), default=(1400, 900)
    full_page : bool, default=True
        Screenshot the whole page rather than the viewport.
    block_network : bool, default=True
        Refuse every request to a remote host (localhost stays allowed), so a
        page that needs the network shows up in ``external_requests``.
    scroll_to : str, optional
        CSS selector of an element to bring to the top of the viewport before
        the screenshot (after the plots are drawn).

    Returns
    -------
    dict
        ``console_errors`` (console errors and uncaught exceptions), ``failed_requests``
        (URLs that could not load), ``external_requests`` (remote URLs refused),
        ``requests`` (every URL the page asked for, the page itself first, local
        files and ``data:`` URLs included),
        ``dialogs`` (alert/confirm messages, dismissed), ``plot_count`` (plotly divs),
        ``rendered_count`` (those holding a ``.main-svg``), ``unrendered`` (their ids),
        ``svg_count`` (``.main-svg`` elements in all), ``title``, ``text`` (the
        body's visible text) and ``svg_text`` (text drawn inside the figures).
    """
    from playwright.sync_api import sync_playwright

    executable = require_browser()
    target = str(path_or_url)
    if "://" not in target:
        target = Path(target).resolve().as_uri()
    errors: list[str] = []
    failed: list[str] = []
    external: list[str] = []
    dialogs: list[str] = []
    requests: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if block_network and url.split(":", 1)[0] in ("http", "https", "ws", "wss") \
                and not url.startswith(("http://127.0.0.1", "http://localhost")):
            external.append(url)
            request_route.abort()
        else:
            request_route.continue_()

    def dialog(d):
        dialogs.append(d.message)
        d.dismiss()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]},
                                    color_scheme=color_scheme)
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
            page.on("requestfailed", lambda req: failed.append(req.url))
            page.on("request", lambda req: requests.append(req.url))
            page.on("dialog", dialog)
            page.route("**/*", route)
            page.goto(target, wait_until="load", timeout=timeout_s * 1000)
            if wait_for_plots:
                try:
                    page.wait_for_function(
                        "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
                        ".every(p => p.querySelector('.main-svg') !== null)",
                        timeout=timeout_s * 1000)
                except Exception:  # report what rendered; the caller's asserts say what is missing
                    pass
            state = page.evaluate(_PLOT_STATE_JS)
            title = page.title()
            text = page.inner_text("body")
            svg_text = page.eval_on_selector_all(".main-svg text", "els => els.map(e => e.textContent)")
            if scroll_to is not None:
                page.evaluate("sel => document.querySelector(sel).scrollIntoView({behavior: 'instant'})",
                              scroll_to)
                page.wait_for_timeout(300)
            if screenshot is not None:
                Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=full_page)
        finally:
            browser.close()
    return {"console_errors": errors, "failed_requests": failed, "external_requests": external,
            "requests": requests, "dialogs": dialogs, "plot_count": state["plot_count"],
            "rendered_count": state["rendered"],
            "unrendered": state["unrendered"], "svg_count": state["svg_count"], "title": title,
            "text": text, "svg_text": svg_text}
