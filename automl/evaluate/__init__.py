"""Stage 4: score candidates on held-out rows, rank them, ensemble the best; the tables figures draw.

:mod:`~automl.evaluate.curves` computes a model's confusion counts, ROC/PR
curves, calibration bins and residuals on the test rows, and
:mod:`~automl.evaluate.importance` its permutation importance; :mod:`automl.viz`
only draws them.
"""

from .curves import Diagnostics, diagnose
from .ensemble import BaggedPredictor, EnsemblePredictor, StackPredictor, build_ensemble, prefer_ensemble
from .leaderboard import LEADERBOARD_COLUMNS, OutOfFold, Predictions, rank, score_candidates

__all__ = ["BaggedPredictor", "Diagnostics", "EnsemblePredictor", "LEADERBOARD_COLUMNS", "OutOfFold", "Predictions",
           "StackPredictor", "build_ensemble", "diagnose", "prefer_ensemble", "rank", "score_candidates"]
