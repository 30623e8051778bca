"""Refit the chosen model on every labelled row, after it has been scored.

The search trains each model on the training split only, so that validation
rows can pick the configuration and test rows can score it honestly. The
model a user deploys should not waste those rows: once the leaderboard is
final, the best model (or every member of the best ensemble) is trained again
with the same configuration on train + validation + test rows -- boosting
rounds, trees and epochs fixed at what early stopping found, since no rows are
left to stop on. FLAML (``retrain_full``) and AutoGluon (``refit_full``) do
the same.

The leaderboard keeps the scores of the searched models: a refit model has no
held-out rows left, and its searched twin, trained on fewer rows, gives a
slightly pessimistic estimate of it. Refits run in the time the orchestrator
kept back for them; a refit that would not finish in time is skipped and the
searched model is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .evaluate.ensemble import EnsemblePredictor
from .models.base import Candidate, ModelFamily, PreparedData

__all__ = ["RefitOutcome", "all_rows", "members_of", "refit_best"]

# Try a refit while its estimated time is at most this multiple of the time left.
_OPTIMISM = 1.5


@dataclass
class RefitOutcome:
    """What :func:`refit_best` did.

    Attributes
    ----------
    models : dict of str to Candidate
        Leaderboard name -> the same model refit on every labelled row.
    info : dict
        ``rows`` refit on, ``models`` refit, ``skipped`` (name -> reason), ``time_s``.
    """

    models: dict[str, Candidate] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def members_of(candidate: Candidate) -> list[tuple[str, float]]:
    """``(name, weight)`` of the models ``candidate`` combines (itself alone unless it is an ensemble)."""
    if isinstance(candidate.predictor, EnsemblePredictor):
        return [(name, float(weight)) for name, _, weight in candidate.predictor.members]
    return [(candidate.name, 1.0)]


def refit_best(best: Candidate, candidates: dict[str, Candidate], families: dict[str, ModelFamily],
               data: PreparedData, deadline: float, row_ratio: float) -> RefitOutcome:
    """Refit ``best`` (or the members of an ensemble, heaviest first) on ``data``, within ``deadline``.

    Parameters
    ----------
    best : Candidate
        The top leaderboard model.
    candidates : dict of str to Candidate
        Every searched model, by leaderboard name (ensemble members are looked up here).
    families : dict of str to ModelFamily
        The family objects that ran the search, by name; they know how to refit their models.
    data : PreparedData
        Every labelled row in ``X_train``/``y_train``; the validation arrays are empty.
    deadline : float
        ``time.monotonic()`` time by which the refits must end.
    row_ratio : float
        Rows in ``data`` over the rows the models were searched on (scales the cost estimates).

    Returns
    -------
    RefitOutcome
        An ensemble whose members were refit (some or all) is rebuilt with the
        same weights under ``best.name``.
    """
    started = time.monotonic()
    outcome = RefitOutcome(info={"rows": int(len(data.y_train)), "models": [], "skipped": {}})
    members = sorted(members_of(best), key=lambda nw: -nw[1])
    for name, _ in members:
        candidate = candidates.get(name)
        family = families.get(candidate.family) if candidate is not None else None
        if family is None:
            outcome.info["skipped"][name] = "its family cannot refit"
            continue
        estimate = family.refit_seconds(candidate, row_ratio)
        left = deadline - time.monotonic()
        # estimates are rough; a refit that runs out of time is stopped at the deadline and dropped
        if estimate > _OPTIMISM * left:
            outcome.info["skipped"][name] = f"needs about {estimate:.1f} s, {max(left, 0):.1f} s left"
            continue
        begun = time.monotonic()
        predictor = family.refit(candidate, data, deadline)
        if predictor is None:
            outcome.info["skipped"][name] = "not supported by its family, or cut short by the deadline"
            continue
        outcome.models[name] = Candidate(
            name, candidate.family, dict(candidate.params), predictor, fit_time_s=time.monotonic() - begun,
            history=None, info={"refit_rows": int(len(data.y_train)), "searched_on_rows": int(
                round(len(data.y_train) / row_ratio)), **{k: v for k, v in candidate.info.items() if k != "search"}})
        outcome.info["models"].append(name)
    if isinstance(best.predictor, EnsemblePredictor) and outcome.models:
        rebuilt = [(name, outcome.models[name].predictor if name in outcome.models else predictor, weight)
                   for name, predictor, weight in best.predictor.members]
        outcome.models[best.name] = Candidate(
            best.name, best.family, dict(best.params), EnsemblePredictor(rebuilt, best.predictor.task),
            fit_time_s=float(sum(outcome.models[n].fit_time_s for n, _ in members if n in outcome.models)),
            info={**best.info, "refit_members": [n for n, _ in members if n in outcome.models]})
    outcome.info["time_s"] = round(time.monotonic() - started, 3)
    return outcome


def all_rows(data: PreparedData, X: np.ndarray, y: np.ndarray,
             sample_weight: np.ndarray | None = None) -> PreparedData:
    """``data``'s task with every labelled row ``(X, y)`` as training rows and no validation rows.

    ``X`` is used as it is (no copy): pass the matrix the splits were cut from.
    ``sample_weight`` holds the user's row weights in the same order (the refit uses them as the search did).
    """
    from .models import balanced_class_weight

    return PreparedData(
        X_train=X, y_train=y, X_val=X[:0], y_val=y[:0], task=data.task, metric=data.metric,
        n_classes=data.n_classes, feature_names=data.feature_names, seed=data.seed,
        class_weight=balanced_class_weight(y, data.n_classes) if data.n_classes else None,
        sample_weight=sample_weight, sample_weight_val=None if sample_weight is None else sample_weight[:0])
