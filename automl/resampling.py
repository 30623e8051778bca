"""Resampling: k-fold bagging of the searched models, between the search and the evaluation.

The families search on a holdout (train rows to fit, validation rows to choose a
configuration and stop boosting rounds or epochs early): cheap, and the only way
to get early stopping. With few rows the validation split is a few hundred rows
and choosing models on it overfits it. So, once the families have searched, the
best candidates are *bagged*: each is trained again with its fixed settings on
k-1 of k folds of the development rows (train + validation), k times. Every
development row then has an out-of-fold prediction from the fold model that did
not see it; ranking, ensemble selection and the decisions (calibration,
threshold) use those, k / val_share times more rows than the validation split.
The k fold models predict together (:class:`~automl.evaluate.ensemble.BaggedPredictor`,
their mean), as AutoGluon's bagged models do. The test rows are never touched.

Fold fits go through :func:`automl.parallel.run_tasks`, so a joblib backend
(Dask, ...) can run them elsewhere.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import InputError
from .evaluate.ensemble import BaggedPredictor, StackPredictor, stack_features
from .evaluate.leaderboard import OutOfFold, Predictions
from .metrics import get_metric
from .models.base import Candidate, PreparedData, balanced_class_weight, predictions
from .parallel import monotonic_deadline, run_tasks, wall_deadline

__all__ = ["ResamplingPlan", "BagOutcome", "check_resampling", "plan_resampling", "fold_indices", "rows_data",
           "bag_candidates", "bagging_rounds", "bag_one", "searched_twin", "build_stack"]

# k-fold bagging is chosen up to this many development rows (train + validation), see plan_resampling.
KFOLD_MAX_ROWS = 20_000
DEFAULT_K = 5
# Below this budget the k fold fits would leave the search too little time: holdout.
KFOLD_MIN_BUDGET_S = 10.0
# Start a candidate's bag only while its estimated time, divided by this, fits in the time left.
_OPTIMISM = 1.2
# In the first pass a bag estimated to take more than this share of the time left waits for the cheaper ones.
DEFER_SHARE = 0.5
# A bag is stopped once it has run this many times its estimate (plus a second).
_OVERRUN = 2.0
# At most this many candidates are bagged: each family's best, then the second ones (a family's best default
# configuration beside its searched best, further networks) while time lasts.
MAX_BAGGED = 10
# With time left after the first k folds, a bag gets further sets of k fold models on other folds, up to this many.
# Two: the second set's round fits the allowance (the first sets' time plus a second) whatever the timings, so a
# fit with the same seed and a budget that does not bind gives the same leaderboard; a third would be cut by the
# allowance at a point that depends on measured times (the benchmark's final runs used up to four).
MAX_BAG_SETS = 2
# Further sets keep time for refitting this many of the best bags (the chosen model or the ensemble's members).
_REFIT_MEMBERS = 3


@dataclass
class ResamplingPlan:
    """How the models are validated.

    Attributes
    ----------
    kind : {'kfold', 'holdout'}
    k : int
        Folds (0 for holdout).
    reason : str
        Why, in words (shown in ``result.info["resampling"]``).
    """

    kind: str
    k: int
    reason: str

    @property
    def label(self) -> str:
        """The leaderboard's ``validation`` value of a model bagged this way: ``"5-fold"`` or ``"holdout"``."""
        return f"{self.k}-fold" if self.kind == "kfold" else "holdout"

    def describe(self) -> dict[str, Any]:
        """Plain data for ``result.info["resampling"]``."""
        return {"kind": self.kind, "k": self.k, "reason": self.reason}


def check_resampling(resampling: Any) -> Any:
    """Validate ``fit(resampling=...)``: ``'auto'``, ``'holdout'`` or an int k of folds (2 to 20)."""
    if isinstance(resampling, str) and resampling in ("auto", "holdout"):
        return resampling
    if isinstance(resampling, (int, np.integer)) and not isinstance(resampling, bool) and 2 <= resampling <= 20:
        return int(resampling)
    raise InputError(f"`resampling` must be 'auto', 'holdout' or a number of folds from 2 to 20; got "
                     f"{resampling!r}. Use resampling=5 for 5-fold bagging or 'holdout' to validate on the "
                     "validation split only.")


def plan_resampling(resampling: Any, n_dev: int, time_budget: float, *, y_dev: np.ndarray | None = None,
                    task: str = "regression") -> ResamplingPlan:
    """Choose k-fold bagging or a holdout for ``n_dev`` development rows and a ``time_budget``.

    'auto' bags with k=5 up to :data:`KFOLD_MAX_ROWS` development rows when the
    budget is at least :data:`KFOLD_MIN_BUDGET_S`. Why: below ~20k rows the
    validation split holds at most ~4-5k rows (a few hundred on small tables),
    where the standard error of an accuracy is 0.01-0.03, as large as the
    differences between the best models, so selection on it picks by chance;
    out-of-fold predictions cover every development row (5x the rows for k=5
    with a 20% validation split). Above that the validation split is large
    enough (standard error < 0.007) and k fits of models trained on many rows
    would take the time the search needs. k=5 is AutoGluon's and FLAML's
    default: each fold model trains on 80% of the development rows, about the
    rows the search trained on (75%), so the boosting rounds and epochs early
    stopping found carry over.

    Parameters
    ----------
    resampling : 'auto', 'holdout' or int
        As checked by :func:`check_resampling`.
    n_dev : int
        Development rows (train + validation).
    time_budget : float
        Seconds of the whole fit.
    y_dev : ndarray, optional
        Class codes of the development rows: k is lowered to the smallest class
        count when a class has fewer rows than folds (stratified folds need one
        row per fold).
    task : str

    Returns
    -------
    ResamplingPlan

    Examples
    --------
    >>> plan_resampling("auto", 3_000, 30).label
    '5-fold'
    >>> plan_resampling("auto", 50_000, 30).kind
    'holdout'
    """
    resampling = check_resampling(resampling)
    if resampling == "holdout":
        return ResamplingPlan("holdout", 0, "resampling='holdout'")
    if resampling == "auto":
        if n_dev > KFOLD_MAX_ROWS:
            return ResamplingPlan("holdout", 0, f"{n_dev} development rows > {KFOLD_MAX_ROWS}: the validation split "
                                  "is large enough to choose on, and k fold fits would cost the search its time")
        if time_budget < KFOLD_MIN_BUDGET_S:
            return ResamplingPlan("holdout", 0, f"time_budget={time_budget:g} s < {KFOLD_MIN_BUDGET_S:g} s: "
                                  "no time for k fold fits")
        k, reason = DEFAULT_K, (f"{n_dev} development rows <= {KFOLD_MAX_ROWS}: out-of-fold predictions over every "
                                "row choose better than a small validation split")
    else:
        k, reason = resampling, f"resampling={resampling}"
    if y_dev is not None and task != "regression":
        counts = np.bincount(np.asarray(y_dev, dtype=int))
        smallest = int(counts[counts > 0].min()) if len(counts) else 0
        if smallest < k:
            if smallest < 2:
                return ResamplingPlan("holdout", 0, f"a class has {smallest} development row: no stratified folds")
            reason += f"; k lowered from {k} to {smallest}, the rows of the smallest class"
            k = smallest
    if n_dev < 2 * k:
        return ResamplingPlan("holdout", 0, f"{n_dev} development rows are too few for {k} folds")
    return ResamplingPlan("kfold", int(k), reason)


def fold_indices(y: np.ndarray, k: int, task: str, seed: int = 0) -> list[np.ndarray]:
    """Row positions of each of ``k`` validation folds (stratified by class for classification), seeded."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = (StratifiedKFold(k, shuffle=True, random_state=seed) if task != "regression"
                else KFold(k, shuffle=True, random_state=seed))
    return [val for _, val in splitter.split(np.zeros(len(y)), y)]


def rows_data(data: PreparedData, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None) -> PreparedData:
    """``data``'s task with ``(X, y)`` as training rows and no validation rows (what ``family.refit`` takes)."""
    return replace(
        data, X_train=X, y_train=y, X_val=X[:0], y_val=y[:0],
        class_weight=balanced_class_weight(y, data.n_classes) if data.n_classes else None,
        sample_weight=sample_weight, sample_weight_val=None if sample_weight is None else sample_weight[:0])


def fit_fold(family, candidate: Candidate, data: PreparedData, X: np.ndarray, y: np.ndarray, weights,
             train_rows: np.ndarray, val_rows: np.ndarray, deadline_wall: float):
    """One fold model: ``family.fit_fold(candidate, ...)`` on ``train_rows`` of ``(X, y)``; None when cut short.

    ``val_rows`` are the rows the fold leaves out: families that stop early stop on
    them (:meth:`~automl.models.base.ModelFamily.fit_fold`). A module-level function
    over plain data, so :func:`automl.parallel.run_tasks` can run it in another
    process; the deadline travels as wall-clock time.
    """
    fold = rows_data(data, X[train_rows], y[train_rows], None if weights is None else weights[train_rows])
    fold = replace(fold, X_val=X[val_rows], y_val=y[val_rows],
                   sample_weight_val=None if weights is None else weights[val_rows])
    try:
        return family.fit_fold(candidate, fold, monotonic_deadline(deadline_wall))
    except (ValueError, MemoryError, FloatingPointError):
        return None


@dataclass
class BagOutcome:
    """What :func:`bag_candidates` did.

    Attributes
    ----------
    candidates : list of Candidate
        Every candidate, the bagged ones replaced by their bag (same name).
    oof : dict of str to OutOfFold
        Out-of-fold predictions of the bagged candidates.
    info : dict
        ``bagged`` (names), ``skipped`` (name -> reason), ``time_s``.
    """

    candidates: list[Candidate]
    oof: dict[str, OutOfFold] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def searched_twin(candidate: Candidate) -> Candidate:
    """A bagged ``candidate`` as its family's ``refit`` expects it: one fold model stands for the searched one.

    ``refit`` reads the configuration (params, rounds, epochs) and the kind of
    predictor; a fold model carries both (a network's target scaling too).
    """
    if not isinstance(candidate.predictor, BaggedPredictor):
        return candidate
    return Candidate(candidate.name, candidate.family, candidate.params, candidate.predictor.fold_models[0],
                     fit_time_s=float(candidate.info.get("searched_fit_time_s", candidate.fit_time_s)),
                     history=candidate.history, info=candidate.info)


def bag_one(candidate: Candidate, family, data: PreparedData, X: np.ndarray, y: np.ndarray, weights,
            folds: list[np.ndarray], deadline: float) -> tuple[BaggedPredictor | None, OutOfFold | None, str]:
    """Train ``candidate``'s configuration once per fold; return the bag, its out-of-fold predictions and why not.

    Parameters
    ----------
    candidate : Candidate
    family : ModelFamily
        Refits the candidate's fixed configuration (:meth:`ModelFamily.refit`).
    data : PreparedData
        Task, metric and seed.
    X, y, weights : ndarray
        The rows to bag over (development rows, or every labelled row for a refit).
    folds : list of ndarray
        Validation positions of each fold (see :func:`fold_indices`).
    deadline : float
        ``time.monotonic()`` time by which every fold must end.

    Returns
    -------
    bag : BaggedPredictor or None
    oof : OutOfFold or None
    reason : str
        Why there is no bag (empty when there is one).
    """
    everything = np.arange(len(y))
    wall = wall_deadline(deadline)
    candidate = searched_twin(candidate)
    tasks = [(family, candidate, data, X, y, weights, np.setdiff1d(everything, val, assume_unique=True), val, wall)
             for val in folds]
    # a network's builder lives in this process: only families that say so (runs_anywhere) leave it
    members = run_tasks(fit_fold, tasks, local=not getattr(family, "runs_anywhere", False))
    if any(m is None for m in members):
        return None, None, "a fold fit failed or was cut short by the deadline"
    regression = data.task == "regression"
    pred = np.zeros(len(y)) if regression else np.zeros(len(y), dtype=np.int64)
    proba = None if regression else np.zeros((len(y), data.n_classes))
    bag = BaggedPredictor(members, data.task, data.n_classes)
    for member, val in zip(members, folds):
        one = BaggedPredictor([member], data.task, data.n_classes)
        p, pr = predictions(one, X[val], data.task)
        pred[val] = p
        if proba is not None:
            proba[val] = pr
    oof = OutOfFold(pred, proba, y, weights, f"{len(folds)}-fold")
    return bag, oof, ""


def bagging_rounds(scored: list[tuple[float, int, Candidate]]) -> list[list[tuple[float, int, Candidate]]]:
    """``(holdout score, position, candidate)`` in rounds: every family's best, then every second best, ...

    Best score first within a round. The ensemble gains most from models that err
    differently, and the time for bagging is short: ordered by score alone, three
    configurations of one family (or one slow family) could use it up while a
    family with the top holdout score waits (measured on telecom_churn at 30 s:
    CatBoost, the best model on the outer test rows, was left unbagged and so could
    not rank first).
    """
    by_score = sorted(scored, key=lambda t: (-t[0], t[1]))
    seen: dict[str, int] = {}
    rounds: list[list[tuple[float, int, Candidate]]] = []
    for item in by_score:
        family = item[2].family
        position = seen.get(family, 0)
        seen[family] = position + 1
        while len(rounds) <= position:
            rounds.append([])
        rounds[position].append(item)
    return rounds


def bag_candidates(candidates: list[Candidate], families: dict[str, Any], data: PreparedData, X_dev: np.ndarray,
                   y_dev: np.ndarray, w_dev: np.ndarray | None, plan: ResamplingPlan, deadline: float,
                   row_ratio: float, reserve_share: float = 2.0, max_sets: int = MAX_BAG_SETS) -> BagOutcome:
    """Bag the best candidates (each family's best first, see :func:`bagging_rounds`) until ``deadline``.

    A bag estimated to need more than :data:`DEFER_SHARE` of the time left is
    deferred until the cheaper ones have been made.

    Parameters
    ----------
    candidates : list of Candidate
        The searched models.
    families : dict of str to ModelFamily
        The families that made them (they refit a fixed configuration).
    data : PreparedData
        The search's data: validation scores order the candidates.
    X_dev, y_dev, w_dev : ndarray
        Development rows (train then validation), their truth and the user's row weights.
    plan : ResamplingPlan
        ``plan.k`` folds.
    deadline : float
        ``time.monotonic()`` time by which bagging must end; a candidate whose
        estimated k fold fits do not fit in the time left keeps its holdout scores.
    row_ratio : float
        Rows of one fold's training set over the rows the candidates were searched on.
    reserve_share : float, default=2.0
        Further bag sets (:func:`_repeat_bags`) leave this many times the first
        sets' seconds of the three best bags before ``deadline`` for the refit that follows.
    max_sets : int, default=MAX_BAG_SETS
        Most sets of k fold models per bag (1: no further sets).

    Returns
    -------
    BagOutcome
    """
    started = time.monotonic()
    info: dict[str, Any] = {"bagged": [], "skipped": {}, "k": plan.k}
    outcome = BagOutcome(list(candidates), info=info)
    folds = fold_indices(y_dev, plan.k, data.task, seed=data.seed)
    scored = []
    for i, c in enumerate(candidates):
        try:
            value = data.val_score(c.predictor)
        except Exception:  # noqa: BLE001 -- a model that cannot score is not worth bagging
            value = float("nan")
        scored.append((value if math.isfinite(value) else -math.inf, i, c))
    # Within each round (every family's best, then the second ones), two passes: the first defers a bag that
    # would take more than DEFER_SHARE of the time left, so that the cheaper ones behind it are made first; the
    # second tries the deferred ones with what is left. A bag that took most of the time and was then cut short
    # left nothing bagged at all (tate_artworks at 30 s). A deferred family's best still comes before any second
    # one: with the second ones in the same pass, a family's best default configuration was bagged ahead of
    # CatBoost's deferred best on telecom_churn at 30 s, and CatBoost was left out.
    for round_ in bagging_rounds(scored):
        deferred: list[tuple[float, int, Candidate]] = []
        for pass_, queue in ((0, round_), (1, deferred)):  # the deferred list is read after pass 0 fills it
            for value, i, candidate in queue:
                family = families.get(candidate.family)
                if family is None:
                    info["skipped"][candidate.name] = "its family cannot refit a fixed configuration"
                    continue
                if len(info["bagged"]) >= MAX_BAGGED or not math.isfinite(value):
                    info["skipped"][candidate.name] = f"at most {MAX_BAGGED} models are bagged"
                    continue
                estimate = plan.k * family.fold_seconds(candidate, row_ratio)
                left = deadline - time.monotonic()
                if pass_ == 0 and estimate > DEFER_SHARE * left:
                    deferred.append((value, i, candidate))
                    continue
                if estimate > _OPTIMISM * left:
                    info["skipped"][candidate.name] = f"needs about {estimate:.1f} s, {max(left, 0.0):.1f} s left"
                    continue
                begun = time.monotonic()
                # one bag that runs far past its estimate must not use up the time of the others
                own_deadline = min(deadline, begun + _OVERRUN * estimate + 1.0)
                bag, oof, why = bag_one(candidate, family, data, X_dev, y_dev, w_dev, folds, own_deadline)
                if bag is None:
                    info["skipped"][candidate.name] = why + (f" (estimated {estimate:.1f} s)" if own_deadline < deadline
                                                             else "")
                    continue
                outcome.candidates[i] = Candidate(
                    candidate.name, candidate.family, dict(candidate.params), bag, fit_time_s=time.monotonic() - begun,
                    history=candidate.history, info={**candidate.info, "validation": oof.validation,
                                                     "bag_rows": int(len(y_dev)), "bag_k": plan.k, "bag_sets": 1,
                                                     "searched_fit_time_s": candidate.fit_time_s})
                outcome.oof[candidate.name] = oof
                info["bagged"].append(candidate.name)
    _repeat_bags(outcome, families, data, X_dev, y_dev, w_dev, plan, deadline, reserve_share, max_sets)
    info["time_s"] = round(time.monotonic() - started, 3)
    return outcome


def _repeat_bags(outcome: BagOutcome, families: dict[str, Any], data: PreparedData, X_dev: np.ndarray,
                 y_dev: np.ndarray, w_dev: np.ndarray | None, plan: ResamplingPlan, deadline: float,
                 reserve_share: float, max_sets: int) -> None:
    """With time left, bag the bagged candidates again on other folds (AutoGluon's bag sets), best first.

    Each further set trains k fold models on folds drawn with another seed; they
    join the bag, and each row's out-of-fold prediction becomes the mean over the
    sets. More fold models average out more of their variance, and the
    out-of-fold scores that rank the models and weigh the ensemble become less
    noisy: the time a longer budget has left over after the search buys steadier
    choices instead of being unused. ``reserve_share`` times the first sets' time
    of the best :data:`_REFIT_MEMBERS` stays free for the refit; at most ``max_sets`` sets, and
    no longer in all than the first sets took (plus a second).
    """
    position = {c.name: i for i, c in enumerate(outcome.candidates)}
    metric = get_metric(data.metric, data.task)
    names = list(outcome.info["bagged"])
    if not names:
        return
    # best out-of-fold score first: those are the models the ranking and the ensemble lean on
    names.sort(key=lambda n: -_finite(metric.oriented(outcome.oof[n].y, outcome.oof[n].pred, outcome.oof[n].proba,
                                                       outcome.oof[n].weight)))
    # the refit re-bags the chosen model or the ensemble's members, nearly always among the best few
    reserve = reserve_share * sum(outcome.candidates[position[n]].fit_time_s for n in names[:_REFIT_MEMBERS])
    # further sets take at most the time the first ones took: steadier scores, not a fit that always runs to
    # its deadline (small tables finished in a fraction of their budget before)
    allowance = time.monotonic() + sum(outcome.candidates[position[n]].fit_time_s for n in names) + 1.0
    repeated: dict[str, int] = {}
    for set_ in range(1, max_sets):
        folds = fold_indices(y_dev, plan.k, data.task, seed=data.seed + set_)
        progressed = False
        for name in names:
            candidate = outcome.candidates[position[name]]
            if candidate.info.get("bag_sets") != set_:  # a set failed or did not fit in time before
                continue
            estimate = candidate.fit_time_s / set_
            now = time.monotonic()
            if estimate * _OPTIMISM > deadline - reserve - now or estimate > allowance - now:
                continue
            begun = time.monotonic()
            own_deadline = min(deadline, begun + _OVERRUN * estimate + 1.0)
            family = families[candidate.family]
            bag, oof, _ = bag_one(candidate, family, data, X_dev, y_dev, w_dev, folds, own_deadline)
            if bag is None:
                continue
            before = outcome.oof[name]
            sets = set_ + 1
            joined = BaggedPredictor(candidate.predictor.fold_models + bag.fold_models, data.task, data.n_classes)
            if oof.proba is None:
                mean_pred, mean_proba = (before.pred * set_ + oof.pred) / sets, None
            else:
                mean_proba = (before.proba * set_ + oof.proba) / sets
                mean_pred = mean_proba.argmax(axis=1)
            label = f"{plan.k}-fold x{sets}"
            outcome.oof[name] = OutOfFold(mean_pred, mean_proba, before.y, before.weight, label)
            outcome.candidates[position[name]] = replace(
                candidate, predictor=joined, fit_time_s=candidate.fit_time_s + time.monotonic() - begun,
                info={**candidate.info, "bag_sets": sets, "validation": label})
            repeated[name] = sets
            progressed = True
        if not progressed:
            break
    outcome.info["bag_sets"] = repeated


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def build_stack(candidates: list[Candidate], preds: dict[str, Predictions], data: PreparedData,
                *, max_members: int = 6) -> tuple[Candidate, OutOfFold] | None:
    """A second level over the bagged models' out-of-fold predictions, with its own out-of-fold score.

    Logistic regression (classification) or ridge regression (regression) on the
    log-odds (or values) the bagged models predicted out of fold for every
    development row. Its own out-of-fold predictions come from fitting it again
    on k folds of those rows (other folds than the first level's, seeded by
    ``data.seed + 1``), so its leaderboard score is as honest as the first level's.
    The stacker finally fitted on every development row predicts new rows from
    the bags' predictions.

    Returns
    -------
    (Candidate, OutOfFold) or None
        None when fewer than two models were bagged.
    """
    from sklearn.linear_model import LogisticRegression, Ridge

    bagged = [c for c in candidates if c.name in preds and preds[c.name].val_y is not None
              and isinstance(c.predictor, BaggedPredictor)]
    if len(bagged) < 2:
        return None
    metric_scores = []
    for c in bagged:
        record = preds[c.name]
        y, w = record.truth(data)
        metric_scores.append(get_metric(data.metric, data.task).oriented(y, record.val_pred, record.val_proba, w))
    order = np.argsort(-np.nan_to_num(np.asarray(metric_scores, dtype=float), nan=-np.inf), kind="stable")
    members = [bagged[i] for i in order[:max_members]]
    regression = data.task == "regression"
    first = preds[members[0].name]
    y, w = first.truth(data)
    features = stack_features([preds[c.name].val_pred if regression else preds[c.name].val_proba for c in members],
                              data.task)

    def make():
        return Ridge(alpha=1.0) if regression else LogisticRegression(C=1.0, max_iter=1000)

    def fit(rows):
        model = make()
        model.fit(features[rows], y[rows], **({} if w is None else {"sample_weight": w[rows]}))
        return model

    k = int(members[0].info.get("bag_k") or len(members[0].predictor.fold_models))
    try:
        folds = fold_indices(y, k, data.task, seed=data.seed + 1)
    except ValueError:
        return None
    everything = np.arange(len(y))
    pred = np.zeros(len(y)) if regression else np.zeros(len(y), dtype=np.int64)
    proba = None if regression else np.zeros((len(y), data.n_classes))
    for rows in folds:
        model = fit(np.setdiff1d(everything, rows, assume_unique=True))
        if regression:
            pred[rows] = model.predict(features[rows])
        else:
            part = np.zeros((len(rows), data.n_classes))
            part[:, model.classes_.astype(int)] = model.predict_proba(features[rows])
            proba[rows], pred[rows] = part, part.argmax(axis=1)
    stacker = fit(everything)
    predictor = StackPredictor([(c.name, c.predictor) for c in members], stacker, data.task, data.n_classes)
    candidate = Candidate("stack", "stack", {"members": [c.name for c in members],
                                             "stacker": type(stacker).__name__},
                          predictor, fit_time_s=float(sum(c.fit_time_s for c in members)),
                          info={"validation": first.validation, "selected_on": f"out-of-fold ({first.validation})"})
    return candidate, OutOfFold(pred, proba, y, w, first.validation)
