"""Plotly figures of automl results: each function reads a result and returns a ``go.Figure``.

The notebook dashboard and the HTML report draw with these same functions;
the shared look (template, palette, label escaping) lives in
:mod:`automl.viz.theme`.

>>> from automl.viz import leaderboard_figure, evaluation_figures
>>> leaderboard_figure(result).show()                     # doctest: +SKIP
>>> evaluation_figures(result)["confusion_matrix"].show()  # doctest: +SKIP
"""

from __future__ import annotations

from .fit import (calibration_figure, confusion_matrix_figure, evaluation_figures, hyperparameter_figure,
                  importance_figure, leaderboard_figure, pr_figure, predicted_vs_actual_figure, residuals_figure,
                  roc_figure, search_history_figure, training_curves_figure)
from .theme import empty_figure, label, styled, template

__all__ = [
    "leaderboard_figure", "confusion_matrix_figure", "roc_figure", "pr_figure", "calibration_figure",
    "predicted_vs_actual_figure", "residuals_figure", "training_curves_figure", "search_history_figure",
    "hyperparameter_figure", "importance_figure", "evaluation_figures",
    "template", "styled", "label", "empty_figure",
]
