"""Plotly figures of automl results: each function draws data it is given and returns a ``go.Figure``.

Presentation only: the numbers come from the computation layers (the fit's
leaderboard and trials, :mod:`automl.evaluate` for curves, confusion tables and
importance, :mod:`automl.clustering` for maps and profiles). The notebook
dashboard and the HTML report draw with these same functions, one per plot:

- :mod:`automl.viz.leaderboard`: ``leaderboard_figure``
- :mod:`automl.viz.evaluation`: confusion matrix, ROC, precision-recall,
  calibration, predicted-vs-actual, residuals, importance
- :mod:`automl.viz.search`: training curves, search history, hyperparameters
- :mod:`automl.viz.cluster`: the figures of a cluster result
- :mod:`automl.viz.theme`: the shared look (template, palette, label escaping)

>>> from automl.viz import leaderboard_figure, evaluation_figures
>>> leaderboard_figure(result).show()                     # doctest: +SKIP
>>> evaluation_figures(result)["confusion_matrix"].show()  # doctest: +SKIP
"""

from __future__ import annotations

from .evaluation import (calibration_figure, confusion_matrix_figure, evaluation_figures, importance_figure,
                         pr_figure, predicted_vs_actual_figure, residuals_figure, roc_figure)
from .leaderboard import leaderboard_figure
from .search import hyperparameter_figure, search_history_figure, training_curves_figure
from .theme import empty_figure, label, styled, template

__all__ = [
    "leaderboard_figure", "confusion_matrix_figure", "roc_figure", "pr_figure", "calibration_figure",
    "predicted_vs_actual_figure", "residuals_figure", "training_curves_figure", "search_history_figure",
    "hyperparameter_figure", "importance_figure", "evaluation_figures",
    "template", "styled", "label", "empty_figure",
]
