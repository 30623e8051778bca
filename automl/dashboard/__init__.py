"""Interactive ipywidgets dashboards for fitted results.

The apps only read a result and draw it with the figure functions of
:mod:`automl.viz` (the same ones the HTML report uses); they never fit a model
for display. Every callback is a plain function of the result and the current
selection, so tests can drive the widgets without a browser.

>>> result = automl.fit(df, "target", time_budget=30)   # doctest: +SKIP
>>> result.dashboard()                                   # doctest: +SKIP
"""

from __future__ import annotations

import sys

from ..progress import register_default_listener

__all__ = ["fit_dashboard", "cluster_dashboard", "FitDashboard", "ClusterDashboard", "NotebookProgress",
           "in_notebook", "notebook_listener"]


def fit_dashboard(result):
    """An ipywidgets app for a :class:`~automl.FitResult`.

    Parameters
    ----------
    result : FitResult

    Returns
    -------
    FitDashboard
        An ``ipywidgets.VBox`` (display it, or make it the last expression of a
        cell) whose tabs are Leaderboard, Evaluation, Training, Search, Data and
        Export. ``app.model_picker`` chooses the model the other tabs show.

    Examples
    --------
    >>> app = fit_dashboard(result)                      # doctest: +SKIP
    >>> app.model_picker.value = "linear"                # doctest: +SKIP
    """
    from .fit_app import FitDashboard
    return FitDashboard(result)


def cluster_dashboard(result):
    """An ipywidgets app for a :class:`~automl.ClusterResult`.

    Parameters
    ----------
    result : ClusterResult

    Returns
    -------
    ClusterDashboard
        An ``ipywidgets.VBox`` with the UMAP map (colour-by dropdown, 2-D/3-D
        toggle), live re-clustering of the stored embedding (method and k) and
        the profile of the selected cluster.
    """
    from .cluster_app import ClusterDashboard
    return ClusterDashboard(result)


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can be displayed)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = shell.get_ipython() if hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def notebook_listener():
    """The progress listener of verbose runs in a notebook: a :class:`NotebookProgress` widget.

    Returns None outside a Jupyter kernel, or when ipywidgets is missing, so
    :func:`automl.progress.default_listener` falls back to text.
    """
    if not in_notebook():
        return None
    try:
        from .progress import NotebookProgress
    except ImportError:  # dashboard extras missing: fall back to text
        return None
    return NotebookProgress()


# The hooks never import widgets: this package offers the notebook listener to them instead
# (automl/__init__.py imports this package, which imports no widget library by itself).
register_default_listener(notebook_listener)


def __getattr__(name: str):
    # The widget classes import ipywidgets and plotly; load them on first use only.
    if name == "FitDashboard":
        from .fit_app import FitDashboard
        return FitDashboard
    if name == "ClusterDashboard":
        from .cluster_app import ClusterDashboard
        return ClusterDashboard
    if name == "NotebookProgress":
        from .progress import NotebookProgress
        return NotebookProgress
    raise AttributeError(f"module 'automl.dashboard' has no attribute {name!r}")
