"""Model families and the registry the orchestrator picks them from."""

from .base import (Candidate, FamilyResult, ModelFamily, PreparedData, balanced_class_weight, predictions,
                   score_predictor)
from .registry import available_families, get_family, register_family

__all__ = [
    "Candidate", "FamilyResult", "ModelFamily", "PreparedData", "available_families",
    "balanced_class_weight", "get_family", "predictions", "register_family", "score_predictor",
]
