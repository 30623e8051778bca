"""The shared look of every automl figure: one template, one palette, safe labels.

Backgrounds are transparent and lines, grids and text use mid-tone colours,
so the same figure reads on a light notebook, a dark JupyterLab theme and
the report in either colour scheme.
"""

from __future__ import annotations

import html
from functools import lru_cache

__all__ = ["PALETTE", "SPLIT_COLORS", "FONT_COLOR", "GRID_COLOR", "template", "styled", "label", "empty_figure",
           "color"]

# Tableau-like colours: distinguishable, and bright enough on dark backgrounds.
PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6",
           "#9D755D", "#8C8C8C"]
SPLIT_COLORS = {"train": "#9DA5B4", "validation": "#4C78A8", "test": "#F58518"}
FONT_COLOR = "#7A828E"
GRID_COLOR = "rgba(128, 128, 128, 0.22)"
LINE_COLOR = "rgba(128, 128, 128, 0.55)"
# Opaque single-hue scale for matrices: plotly picks dark text on the light end and white on the
# dark end, which stays readable whatever the page behind the figure.
SEQUENTIAL = [[0.0, "#DCE6F2"], [0.5, "#7FA3CC"], [1.0, "#2F5F94"]]


def color(i: int) -> str:
    """The ``i``-th palette colour (cycling)."""
    return PALETTE[i % len(PALETTE)]


@lru_cache(maxsize=1)
def template():
    """The plotly template every automl figure uses (a ``go.layout.Template``)."""
    import plotly.graph_objects as go

    axis = dict(gridcolor=GRID_COLOR, zerolinecolor=LINE_COLOR, linecolor=LINE_COLOR, showline=False,
                ticks="outside", tickcolor=LINE_COLOR, automargin=True, title_standoff=8)
    return go.layout.Template(layout=go.Layout(
        colorway=PALETTE,
        font=dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif", size=13,
                  color=FONT_COLOR),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        xaxis=axis, yaxis=axis,
        legend=dict(bgcolor="rgba(0,0,0,0)", borderwidth=0),
        hoverlabel=dict(font_size=12),
        margin=dict(l=60, r=24, t=56, b=50),
        title=dict(x=0.0, xanchor="left", font=dict(size=16)),
    ))


def styled(fig, *, title: str | None = None, height: int = 420, **layout):
    """Apply the automl template, a title and a height to ``fig`` and return it.

    ``title`` is escaped: pass plain text, not plotly markup.
    """
    fig.update_layout(template=template(), height=int(height), **layout)
    if title is not None:
        fig.update_layout(title_text=label(title))
    fig.update_xaxes(gridcolor=GRID_COLOR, zerolinecolor=LINE_COLOR, automargin=True)
    fig.update_yaxes(gridcolor=GRID_COLOR, zerolinecolor=LINE_COLOR, automargin=True)
    return fig


def label(value) -> str:
    """``value`` as text plotly shows literally.

    Plotly reads a subset of HTML in titles, tick labels, legends and hover
    text; escaping ``&``, ``<`` and ``>`` makes a column named
    ``<b>x</b>`` display as typed instead of in bold (or as a link).
    """
    # "%{" would start a placeholder inside hover templates; &#123; shows as "{".
    return html.escape(str(value), quote=False).replace("%{", "%&#123;")


def empty_figure(message: str, *, title: str | None = None, height: int = 260):
    """A figure with no axes that shows ``message`` (escaped), for results that lack the data."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=label(message), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(size=14))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, title=title, height=height)
