"""Refit the chosen model on every labelled row, after it has been scored.

The search trains each model on the training split only, so that validation
rows can pick the configuration and test rows can score it honestly. The
model a user deploys should not waste those rows: once the leaderboard is
final, the best model (or every member of the best ensemble) is trained again
with the same configuration on train + validation + test rows -- boosting
rounds, trees and epochs fixed at what early stopping found, since no rows are
left to stop on. FLAML (``retrain_full``) and AutoGluon (``refit_full``) do
the same.

A *bagged* model (see :mod:`automl.resampling`) is already k models, each
trained on (k-1)/k of the train + validation rows. Its refit adds k more: fold
models trained on k folds of every labelled row (the test rows join), when the
time left allows (estimated from the time the bag took, scaled by the rows);
the bag then predicts with all 2k. Replacing the searched fold models instead
was measured at time_budget=120 on seven benchmark tables (outer 25 % test
split, seed 0, the chosen model): better on five (caravan_insurance ROC AUC
+0.012, tate_artworks R² +0.012, hpc_jobs accuracy +0.005, credit_scoring
+0.004, lending_club_bad +0.002), worse on two (telecom_churn ROC AUC -0.009,
ames_housing R² -0.004): +0.003 on average, but a longer budget (which leaves
time for the refit) then made automl worse on those two tables. The searched bag was chosen because its
out-of-fold predictions scored best, which favours fold models that happen to be
good; a fresh draw regresses. Keeping both halves keeps that, adds the rows and
averages twice as many models (see docs/search.md, "Bagging").

The leaderboard keeps the scores of the searched models: a refit model has no
held-out rows left, and its searched twin, trained on fewer rows, gives a
slightly pessimistic estimate of it. Refits run in the time the orchestrator
kept back for them; a refit that would not finish in time is skipped and the
searched model is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .evaluate.ensemble import BaggedPredictor, EnsemblePredictor
from .models.base import Candidate, ModelFamily, PreparedData
from .parallel import monotonic_deadline, run_tasks, slots, wall_deadline
from .resampling import bag_one, fold_indices, rows_data

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
    planned = []
    for name, _ in members:
        candidate = candidates.get(name)
        family = families.get(candidate.family) if candidate is not None else None
        if family is None:
            outcome.info["skipped"][name] = "its family cannot refit"
            continue
        planned.append((name, candidate, family))
    refits: dict[str, tuple[Any, float]] = {}
    for wave, anywhere in _waves(planned):
        left = deadline - time.monotonic()
        chosen = []
        for name, candidate, family in wave:
            bagged = isinstance(candidate.predictor, BaggedPredictor)
            # a bag re-bags once: the time one set of its folds took, scaled by the rows
            estimate = (float(candidate.fit_time_s) / int(candidate.info.get("bag_sets") or 1) * len(data.y_train)
                        / max(int(candidate.info.get("bag_rows", 1)), 1)
                        if bagged else family.refit_seconds(candidate, row_ratio))
            # estimates are rough; a refit that runs out of time is stopped at the deadline and dropped
            if estimate > _OPTIMISM * left:
                outcome.info["skipped"][name] = f"needs about {estimate:.1f} s, {max(left, 0):.1f} s left" + (
                    "; the bag trained on train + validation rows is kept" if bagged else "")
                continue
            chosen.append((name, candidate, family))
        if not chosen:
            continue
        if len(chosen) == 1 and isinstance(chosen[0][1].predictor, BaggedPredictor):
            # its fold fits go through run_tasks themselves (automl.resampling.bag_one)
            results = [_rebag(chosen[0][1], chosen[0][2], data, deadline)]
        else:
            # a task that may leave this process does not carry the searched model: the refit reads its settings
            results = run_tasks(_refit_task, [(family, replace(candidate, predictor=None, history=None) if anywhere
                                               else candidate, data, wall_deadline(deadline))
                                              for _, candidate, family in chosen], local=not anywhere)
        for (name, _, _), result in zip(chosen, results):
            if result[0] is None:
                outcome.info["skipped"][name] = "not supported by its family, or cut short by the deadline"
            else:
                refits[name] = result
    for name, candidate, _ in planned:  # in the members' order, wherever they ran
        if name not in refits:
            continue
        predictor, seconds = refits[name]
        outcome.models[name] = Candidate(
            name, candidate.family, dict(candidate.params), predictor, fit_time_s=seconds,
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


def _waves(planned: list) -> list[tuple[list, bool]]:
    """Groups of ``(name, candidate, family)`` refits started together, and whether they may run elsewhere.

    In-process (joblib's default) every refit is its own group, heaviest
    first, each checked against the time left when it starts. Under a parallel
    joblib backend the refits that can run in another process (a family with
    ``runs_anywhere``, the scikit-learn style ones, refitting a single model)
    start together there; the others (networks, whose builder lives in this
    process, and bags, whose fold fits spread by themselves) follow here, one by one.
    """
    def anywhere(item) -> bool:
        return bool(getattr(item[2], "runs_anywhere", False)) and not isinstance(item[1].predictor, BaggedPredictor)

    if slots() <= 1:
        return [([item], anywhere(item)) for item in planned]
    remote = [item for item in planned if anywhere(item)]
    return ([(remote, True)] if remote else []) + [([item], False) for item in planned if not anywhere(item)]


def _rebag(candidate: Candidate, family: ModelFamily, data: PreparedData, deadline: float):
    """``(BaggedPredictor or None, seconds)``: ``candidate``'s bag and a bag of k fold models on k folds of ``data``.

    The searched fold models stay in the bag: replacing them lost more than the
    extra rows gave where selection had picked a bag whose fold models happened to
    be good (ranking on out-of-fold scores favours them, and a new draw regresses).
    """
    begun = time.monotonic()
    searched = candidate.predictor
    k = int(candidate.info.get("bag_k") or len(searched.fold_models))
    folds = fold_indices(data.y_train, k, data.task, seed=data.seed)
    bag, _, _ = bag_one(candidate, family, data, data.X_train, data.y_train, data.sample_weight, folds, deadline)
    if bag is None:
        return None, time.monotonic() - begun
    # half the weight each, however many sets of folds the search's bag has (resampling._repeat_bags): the
    # measured 50/50 split, and the models that saw every row are not outvoted by the searched sets
    joined = BaggedPredictor([searched, bag], searched.task, searched.n_classes)
    return joined, time.monotonic() - begun


def _refit_task(family: ModelFamily, candidate: Candidate, data: PreparedData, deadline: float):
    """``(predictor or None, seconds)``: ``family.refit`` by a wall-clock ``deadline`` (a :func:`run_tasks` task)."""
    begun = time.monotonic()
    predictor = family.refit(candidate, data, monotonic_deadline(deadline))
    return predictor, time.monotonic() - begun


def all_rows(data: PreparedData, X: np.ndarray, y: np.ndarray,
             sample_weight: np.ndarray | None = None) -> PreparedData:
    """``data``'s task with every labelled row ``(X, y)`` as training rows and no validation rows.

    ``X`` is used as it is (no copy): pass the matrix the splits were cut from.
    ``sample_weight`` holds the user's row weights in the same order (the refit uses them as the search did).
    """
    return rows_data(data, X, y, sample_weight)
