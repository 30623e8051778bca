"""Stage 4: score candidates on held-out rows, rank them, ensemble the best; the tables figures draw.

:mod:`~automl.evaluate.curves` computes a model's confusion counts, ROC/PR
curves, calibration bins and residuals on the test rows, and
:mod:`~automl.evaluate.importance` its permutation importance; :mod:`automl.viz`
only draws them.
"""

from .curves import Diagnostics, diagnose
from .ensemble import EnsemblePredictor, build_ensemble
from .leaderboard import LEADERBOARD_COLUMNS, Predictions, rank, score_candidates

__all__ = ["Diagnostics", "EnsemblePredictor", "LEADERBOARD_COLUMNS", "Predictions", "build_ensemble", "diagnose",
           "rank", "score_candidates"]
