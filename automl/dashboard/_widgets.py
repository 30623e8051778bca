"""Small helpers shared by the dashboards: figures as widgets, frames as HTML."""

from __future__ import annotations

import copy
import html
import traceback
from typing import Any, Callable

import numpy as np
import pandas as pd


def json_safe(figure):
    """``figure`` with NaN and infinities in trace arrays replaced by None (plotly's gaps), in place.

    Figures for HTML go through plotly's JSON encoder, which does this; widget state
    goes through Jupyter's, which rejects non-finite floats and drops the message.
    """
    for trace in figure.data:
        patch = _finite_patch(trace.to_plotly_json())
        if patch:
            trace.update(patch)
    return figure


def _finite_patch(props: dict) -> dict:
    patch = {}
    for key, value in props.items():
        if isinstance(value, dict):
            inner = _finite_patch(value)
            if inner:
                patch[key] = inner
        elif isinstance(value, (list, tuple, np.ndarray)) and len(value):
            try:
                array = np.asarray(value, dtype=float)
            except (TypeError, ValueError):  # text, dates, ragged lists: nothing to clean
                continue
            if not np.isfinite(array).all():
                patch[key] = np.where(np.isfinite(array), array, None).tolist()
        elif isinstance(value, float) and not np.isfinite(value):
            patch[key] = None
    return patch


def figure_widget(figure):
    """Wrap a ``go.Figure`` in a ``go.FigureWidget`` (plotly >= 6 needs ``anywidget``)."""
    import plotly.graph_objects as go
    try:
        return go.FigureWidget(json_safe(figure))
    except ImportError as exc:  # plotly's stub raises this when anywidget is missing
        raise ImportError(f"{exc} (pip install anywidget, or pip install automl[dashboard])") from exc


def replace_figure(widget, figure) -> None:
    """Show ``figure`` in an existing ``FigureWidget`` in place, so the page does not re-mount it."""
    # Traces are removed and re-added rather than patched: the new figure may have
    # a different number or kind of traces than the old one.
    json_safe(figure)
    widget.data = ()
    stale = set(widget.layout.to_plotly_json()) - set(figure.layout.to_plotly_json()) - {"template"}
    if stale:  # the browser merges layouts: first clear what the new figure lacks (extra axes, a 3-D scene)
        widget.plotly_relayout({key: None for key in stale})
    widget.layout = figure.layout
    if len(figure.data):
        widget.add_traces(list(figure.data))
    # plotly streams the edits above as one-off messages and refreshes the widget's state
    # only when the FigureWidget itself is displayed; inside a VBox or Tab, a page that
    # connects later (Voila, a re-opened notebook) would get the first figure. Keep it current.
    widget._widget_layout = copy.deepcopy(widget._layout_obj._props)
    widget._widget_data = copy.deepcopy(widget._data)


def safe(build: Callable[[], Any]) -> tuple[Any, str]:
    """Run ``build``; return ``(value, "")`` or ``(None, message)`` so one broken view spares the rest."""
    try:
        return build(), ""
    except Exception as exc:  # noqa: BLE001 - shown to the user in place of the view
        last = traceback.extract_tb(exc.__traceback__)[-1]
        return None, f"{type(exc).__name__}: {exc} (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno})"


def message_html(text: str, kind: str = "info") -> str:
    """A short boxed message; ``kind`` is 'info' or 'error'."""
    colour = {"info": "#31708f", "error": "#a94442"}.get(kind, "#31708f")
    background = {"info": "#eef6fb", "error": "#fbeeee"}.get(kind, "#eef6fb")
    return (f'<div style="padding:8px 12px;margin:6px 0;border-left:4px solid {colour};'
            f'background:{background};color:#222">{html.escape(text)}</div>')


def frame_html(frame: pd.DataFrame, *, highlight: Callable[[pd.Series], bool] | None = None,
               max_rows: int = 200, digits: int = 4) -> str:
    """An HTML table of ``frame`` (escaped), highlighting rows where ``highlight(row)`` is true."""
    shown = frame.head(max_rows)
    head = "".join(f'<th style="text-align:left;padding:3px 8px;border-bottom:1px solid #999">'
                   f'{html.escape(str(c))}</th>' for c in shown.columns)
    rows = []
    for _, row in shown.iterrows():
        style = "background:#fff3c4;font-weight:600" if highlight is not None and highlight(row) else ""
        cells = "".join(f'<td style="padding:3px 8px;border-bottom:1px solid #eee">{html.escape(_cell(v, digits))}</td>'
                        for v in row)
        rows.append(f'<tr style="{style}">{cells}</tr>')
    more = (f'<div style="color:#666">... {len(frame) - max_rows} more rows</div>'
            if len(frame) > max_rows else "")
    return (f'<table style="border-collapse:collapse;font-size:13px"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{more}')


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.{digits}f}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."
