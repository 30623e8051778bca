"""Render sections of figures, tables and text into one self-contained HTML file.

Every report (fit results, cluster results) goes through :func:`render_report`:
a jinja2 template with autoescaping, plotly.js embedded once -- compressed, and
unpacked by the browser before the figures are drawn -- (or linked from its
CDN), a table of contents and the page written atomically. Figures are
drawn by :mod:`automl.viz`; this module only lays them out.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import persist
from ..errors import InputError

__all__ = ["Section", "render_report", "table_rows"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"
# Tables longer than this are cut, with a note saying how many rows were left out.
MAX_TABLE_ROWS = 200
# Longer tables scroll inside a box so the page stays easy to skim.
TALL_TABLE = 15
_PLOT_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}


@dataclass
class Section:
    """One titled part of a report.

    Attributes
    ----------
    id : str
        Anchor for the table of contents (letters, digits, ``-`` and ``_``; other
        characters are replaced).
    title : str
        Heading; shown as text (escaped).
    figures : list of plotly.graph_objects.Figure, default=[]
        Drawn in order, each at its layout height (450 px when unset).
    tables : list of DataFrame, default=[]
        Shown after the figures; ``frame.attrs["caption"]`` becomes the caption.
        Cell values are escaped; at most 200 rows are shown.
    text : str, default=""
        A paragraph (or several, separated by blank lines) shown under the title;
        escaped unless it is a ``markupsafe.Markup`` built by trusted code.
    columns : int, default=1
        Figures side by side on wide screens (one per row below 1100 px).

    Examples
    --------
    >>> import pandas as pd
    >>> Section("data", "Data", tables=[pd.DataFrame({"a": [1, 2]})], text="Two rows.")  # doctest: +ELLIPSIS
    Section(id='data', title='Data', ...)
    """

    id: str
    title: str
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    text: str = ""
    columns: int = 1


def render_report(
    path: str | os.PathLike,
    *,
    title: str,
    subtitle: str = "",
    summary: Sequence[tuple[str, str]] = (),
    sections: Sequence[Section],
    offline: bool = True,
) -> Path:
    """Write ``sections`` as one HTML page at ``path`` and return the path.

    Parameters
    ----------
    path : str or PathLike
        File to write (parent folders are created). The file is replaced
        atomically: a failure leaves any earlier report intact.
    title : str
        Page title and main heading.
    subtitle : str, default=""
        One line under the heading.
    summary : sequence of (label, value), default=()
        Key facts shown as a grid at the top.
    sections : sequence of Section
        The body, in order, each listed in the table of contents.
    offline : bool, default=True
        Embed plotly.js once, gzip-compressed (about 1.9 MB; the browser unpacks
        it with ``DecompressionStream``), so the file opens without a network;
        False links plotly's CDN instead for a smaller file.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> fig = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))
    >>> render_report("r.html", title="Demo", sections=[Section("bars", "Bars", [fig])])  # doctest: +SKIP
    PosixPath('r.html')
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(f"`path`={str(target)!r} is a directory; give a file name such as 'report.html'.")
    sections = list(sections)
    for item in sections:
        if not isinstance(item, Section):
            raise InputError(f"`sections` must hold automl.report.Section objects; got {type(item).__name__}.")
    used: set[str] = set()
    rendered = []
    for i, section in enumerate(sections):
        anchor = _unique_anchor(section.id or f"section-{i + 1}", used)
        rendered.append({
            "id": anchor,
            "title": str(section.title),
            "paragraphs": _paragraphs(section.text),
            "figures": [_figure_html(fig, f"{anchor}-fig-{j + 1}") for j, fig in enumerate(section.figures or [])],
            "tables": [_table(frame) for frame in section.tables or []],
            "columns": max(1, min(3, int(section.columns or 1))),
        })
    html = _environment().get_template("report.html.j2").render(
        title=str(title), subtitle=str(subtitle),
        summary=[(str(k), _cell(v)) for k, v in summary],
        sections=rendered,
        css=_css(),
        plotly_packed=_plotly_packed() if offline else None,
        plotly_cdn=None if offline else _plotly_cdn(),
        generated=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        version=_automl_version(),
    )
    with persist.atomic_file(target, "w", encoding="utf-8") as handle:
        handle.write(html)
    _readable(target)
    return target


# -- pieces ----------------------------------------------------------------------------
def _readable(path: Path) -> None:
    """Give the report the usual permissions of a new file (the atomic temp file starts as owner-only)."""
    mask = os.umask(0)
    os.umask(mask)
    try:
        os.chmod(path, 0o666 & ~mask)
    except OSError:  # e.g. a file system without permissions; the report is still there
        pass


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


@lru_cache(maxsize=1)
def _css() -> str:
    return (_TEMPLATES / "report.css").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _plotly_packed() -> str:
    """plotly.min.js gzip-compressed and base64-encoded: about 1.9 MB instead of 4.8 MB.

    The page unpacks it with the browser's own ``DecompressionStream`` (no
    network, no extra library), so every trace type stays available. ``mtime=0``
    keeps the bytes, and so the report, identical from run to run.
    """
    import base64
    import gzip

    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    packed = gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)
    return Markup(base64.b64encode(packed).decode("ascii"))


def _plotly_cdn() -> str:
    from plotly.io._utils import plotly_cdn_url  # the URL of the version installed here

    return plotly_cdn_url()


def _automl_version() -> str:
    from .. import __version__

    return __version__


def _unique_anchor(raw: str, used: set[str]) -> str:
    anchor = re.sub(r"[^A-Za-z0-9_-]+", "-", str(raw)).strip("-") or "section"
    if anchor[0].isdigit():
        anchor = "s-" + anchor
    base, n = anchor, 2
    while anchor in used:
        anchor, n = f"{base}-{n}", n + 1
    used.add(anchor)
    return anchor


def _paragraphs(text) -> list:
    from markupsafe import Markup

    if not text:
        return []
    if isinstance(text, Markup):
        return [text]
    return [p.strip() for p in re.split(r"\n\s*\n", str(text)) if p.strip()]


def _figure_html(fig, div_id: str):
    """The plotly div and the script that draws it once plotly.js is ready.

    plotly's JSON escapes ``<``, ``>`` and ``/``, so data cannot end the script;
    the div id is made of safe characters by :func:`_unique_anchor`.
    """
    import json

    import plotly.io as pio
    from markupsafe import Markup

    height = int(fig.layout.height or 450)
    figure = pio.to_json(fig, validate=False)
    config = json.dumps(_PLOT_CONFIG)
    return Markup(f'<div id="{div_id}" class="plotly-graph-div" style="height:{height}px; width:100%;"></div>'
                  f'<script>automlPlot("{div_id}", {figure}, {config});</script>')


def _table(frame) -> dict:
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    columns, rows = table_rows(frame, MAX_TABLE_ROWS)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    return {"caption": str(frame.attrs.get("caption", "")), "columns": columns, "rows": rows,
            "numeric": numeric, "omitted": max(0, len(frame) - MAX_TABLE_ROWS), "tall": len(rows) > TALL_TABLE}


def table_rows(frame: pd.DataFrame, limit: int | None = None) -> tuple[list[str], list[list[str]]]:
    """Column names and cell text of ``frame`` (numbers rounded for reading, nothing escaped yet).

    Parameters
    ----------
    frame : DataFrame
    limit : int, optional
        Keep at most this many rows.

    Returns
    -------
    columns : list of str
    rows : list of list of str
    """
    shown = frame if limit is None else frame.head(limit)
    columns = [str(c) for c in shown.columns]
    rows = [[_cell(v) for v in record] for record in shown.itertuples(index=False, name=None)]
    return columns, rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "–"
        if value == 0:
            return "0"
        if abs(value) < 1e-12:  # rounding noise of a difference, not a measurement
            return "0"
        if abs(value) >= 1e5:
            return f"{value:.3g}"
        if abs(value) < 1e-4:
            return f"{value:.1e}"
        if value == int(value) and abs(value) < 1e5:
            return str(int(value))
        return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.2f}"
    if isinstance(value, (list, tuple, dict, set)):
        return _shorten(str(value))
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return _shorten(str(value))


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

