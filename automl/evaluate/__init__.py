"""Stage 4: score candidates on held-out rows, rank them, ensemble the best."""

from .ensemble import EnsemblePredictor, build_ensemble
from .leaderboard import LEADERBOARD_COLUMNS, Predictions, rank, score_candidates

__all__ = ["EnsemblePredictor", "LEADERBOARD_COLUMNS", "Predictions", "build_ensemble", "rank",
           "score_candidates"]
