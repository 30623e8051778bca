"""Helpers the figure modules share: lazy plotly, the metric's units, trial params."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..errors import InputError
from ..metrics import get_metric

# Scatter plots draw at most this many points (a seeded sample) so files and browsers stay light.
MAX_POINTS = 3000


def _go():
    import plotly.graph_objects as go

    return go


def _subplots(**kwargs):
    from plotly.subplots import make_subplots

    return make_subplots(**kwargs)


def _metric(result):
    return get_metric(result.metric, result.task)


def _natural(result, oriented):
    """Oriented scores (higher is better) back in the metric's own units."""
    values = np.asarray(oriented, dtype=float)
    return values if _metric(result).greater_is_better else -values


def _metric_title(result) -> str:
    m = _metric(result)
    return f"{m.name} ({'higher' if m.greater_is_better else 'lower'} is better)"


def _sample(n: int, seed: int = 0) -> np.ndarray:
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_POINTS, replace=False))


def _params(value) -> dict[str, Any]:
    """Trial params as a dict whether stored as a dict or (after loading) as JSON text."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _require_classification(result, what: str) -> None:
    if result.task == "regression":
        raise InputError(f"{what} is drawn for classification results; this result is a regression "
                         "(use predicted_vs_actual_figure or residuals_figure).")


def _require_regression(result, what: str) -> None:
    if result.task != "regression":
        raise InputError(f"{what} is drawn for regression results; this result is {result.task} "
                         "(use confusion_matrix_figure, roc_figure or pr_figure).")
