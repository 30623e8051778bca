"""Families by name. Heavy families are imported only when used."""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import InputError
from .base import ModelFamily

# XGBoost and CatBoost are optional (``pip install automl[boost]``): when they are missing, fit skips them with a
# note in result.info["notes"] (and a SearchWarning only when you named them in `families`).
DEFAULT_FAMILIES = ("linear", "random_forest", "gradient_boosting", "lightgbm", "xgboost", "catboost",
                    "neural_network")
# Families whose library is an optional extra: missing from a default run, they are noted rather than warned about.
OPTIONAL_FAMILIES = ("xgboost", "catboost")

# name -> "module:Class" (imported lazily) or a ModelFamily subclass
_REGISTRY: dict[str, Any] = {
    "linear": "automl.models.classic:LinearFamily",
    "random_forest": "automl.models.classic:RandomForestFamily",
    "gradient_boosting": "automl.models.classic:GradientBoostingFamily",
    "lightgbm": "automl.models.boosting:LightGBMFamily",
    "xgboost": "automl.models.boosting:XGBoostFamily",
    "catboost": "automl.models.boosting:CatBoostFamily",
    "neural_network": "automl.search.family:NeuralNetworkFamily",
}


def register_family(family: type[ModelFamily], name: str | None = None) -> None:
    """Make ``family`` available to ``automl.fit(..., families=[name])``."""
    _REGISTRY[name or family.name] = family


def available_families() -> list[str]:
    """Names that ``families=`` accepts."""
    return list(_REGISTRY)


def get_family(name: str | ModelFamily, **options) -> ModelFamily:
    """An instance of the family ``name`` (instances pass through).

    Raises ImportError, with the ``pip install`` line, when the family's library is not installed.
    """
    if isinstance(name, ModelFamily):
        return name
    if name not in _REGISTRY:
        raise InputError(f"Unknown model family {name!r} in `families`; choose from {available_families()}.")
    spec = _REGISTRY[name]
    if isinstance(spec, str):
        module, _, cls = spec.partition(":")
        spec = getattr(importlib.import_module(module), cls)
    return spec(**options)
