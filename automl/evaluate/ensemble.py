"""Greedy ensemble selection (Caruana et al., 2004) over validation predictions, and the bag of fold models.

The selection runs on whichever validation predictions the candidates carry:
out-of-fold predictions over every development row for bagged models (see
:mod:`automl.resampling`), the validation split otherwise.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from ..metrics import get_metric
from ..models.base import Candidate, PreparedData
from .leaderboard import OutOfFold, Predictions


def _full_proba(member, X: np.ndarray, n_classes: int) -> np.ndarray:
    """``member``'s class probabilities with one column per class, even for classes its fold lacked."""
    proba = np.asarray(member.predict_proba(X), dtype=float)
    if proba.shape[1] == n_classes:
        return proba
    seen = np.asarray(getattr(member, "classes_", np.arange(proba.shape[1])), dtype=int)
    full = np.zeros((len(proba), n_classes))
    full[:, seen] = proba
    return full


class BaggedPredictor:
    """The k fold models of one configuration, predicting together (mean probabilities or values).

    Each member was trained on the development rows outside one fold; their
    average predicts the test rows and new rows (AutoGluon's bagging).

    Parameters
    ----------
    members : list of predictors
    task : str
    n_classes : int
        0 for regression.
    """

    def __init__(self, members: list, task: str, n_classes: int = 0):
        self.fold_models = list(members)
        self.task = task
        self.n_classes = n_classes

    @property
    def members(self) -> list[tuple[str, object, float]]:
        """``(name, predictor, weight)`` of the fold models, equal weights (as :class:`EnsemblePredictor`)."""
        k = len(self.fold_models)
        return [(f"fold_{i}", m, 1.0 / k) for i, m in enumerate(self.fold_models)]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Mean of the fold models' class probabilities."""
        return sum(_full_proba(m, X, self.n_classes) for m in self.fold_models) / len(self.fold_models)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class code, or the mean value for regression."""
        if self.task == "regression":
            return sum(np.asarray(m.predict(X), dtype=float).ravel() for m in self.fold_models) / len(
                self.fold_models)
        return self.predict_proba(X).argmax(axis=1)


class EnsemblePredictor:
    """Weighted average of member predictions (probabilities for classification).

    Parameters
    ----------
    members : list of (name, predictor, weight)
    task : str
    """

    def __init__(self, members: list[tuple[str, object, float]], task: str):
        self.members = members
        self.task = task

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Weighted mean of the members' class probabilities."""
        return sum(w * np.asarray(p.predict_proba(X), dtype=float) for _, p, w in self.members)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class code, or the weighted mean value for regression."""
        if self.task == "regression":
            return sum(w * np.asarray(p.predict(X), dtype=float).ravel() for _, p, w in self.members)
        return self.predict_proba(X).argmax(axis=1)


def stack_features(outputs: list[np.ndarray], task: str) -> np.ndarray:
    """The second level's inputs: each member's values, or the log-odds of its class probabilities.

    Binary tasks keep the positive class only (the other column is its complement).
    """
    if task == "regression":
        return np.column_stack([np.asarray(o, dtype=float).ravel() for o in outputs])
    columns = []
    for proba in outputs:
        proba = np.clip(np.asarray(proba, dtype=float), 1e-6, 1 - 1e-6)
        proba = proba[:, 1:] if proba.shape[1] == 2 else proba
        columns.append(np.log(proba / (1 - proba)))
    return np.hstack(columns)


class StackPredictor:
    """A second-level model (logistic or ridge regression) over the predictions of bagged first-level models.

    Parameters
    ----------
    members : list of (name, predictor)
        First-level models (bags), in the order of the stacker's inputs.
    stacker : fitted scikit-learn estimator
        Trained on the members' out-of-fold predictions (see :func:`stack_features`).
    task : str
    n_classes : int
    """

    def __init__(self, members: list[tuple[str, object]], stacker, task: str, n_classes: int = 0):
        self.members = members
        self.stacker = stacker
        self.task = task
        self.n_classes = n_classes

    def _features(self, X: np.ndarray) -> np.ndarray:
        if self.task == "regression":
            return stack_features([np.asarray(p.predict(X), dtype=float) for _, p in self.members], self.task)
        return stack_features([_full_proba(p, X, self.n_classes) for _, p in self.members], self.task)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """The stacker's class probabilities, one column per class."""
        return _full_proba(self.stacker, self._features(X), self.n_classes)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class codes or values."""
        if self.task == "regression":
            return np.asarray(self.stacker.predict(self._features(X)), dtype=float).ravel()
        return self.predict_proba(X).argmax(axis=1)


# Metrics too coarse to steer a greedy search on a few hundred rows: select on a smooth loss instead.
_SMOOTH_FOR = {"accuracy", "balanced_accuracy", "f1", "f1_macro", "precision", "recall", "roc_auc"}


def _pool_rows(candidates: list[Candidate], preds: dict[str, Predictions]) -> list[Candidate]:
    """The candidates whose validation predictions cover the same rows, so that they can be averaged.

    Bagged models (out-of-fold predictions over every development row) when two or
    more were bagged; otherwise the models validated on the validation split.
    """
    bagged = [c for c in candidates if c.name in preds and preds[c.name].val_y is not None]
    if len(bagged) >= 2:
        return bagged
    return [c for c in candidates if c.name in preds and preds[c.name].val_y is None]


def build_ensemble(candidates: list[Candidate], preds: dict[str, Predictions], data: PreparedData,
                   *, max_members: int = 6, rounds: int = 25) -> Candidate | None:
    """Select, with replacement, the members whose average best improves the validation score.

    The selection runs on out-of-fold predictions (over every development row)
    when at least two candidates were bagged, and considers those only; else on
    the validation split, with the candidates validated there (see
    :func:`_pool_rows`). Only the ``max_members`` best candidates by validation
    score are considered.
    For label metrics (accuracy, F1, ...) the steps are chosen on the validation
    log loss of the averaged probabilities: it moves with every row, where
    accuracy moves in steps of one row and would pick members by chance. All
    ``rounds`` are run and the best-scoring prefix is kept, so weights such as
    3/4 and 1/4 are reachable through a worse 1/2-1/2 step; the weights are the
    members' shares of the kept selections (they sum to 1).

    Returns None when the selection settles on a single model. The result is
    scored like any model and ranked first when its validation score is the
    best, or when the best single model's lead is within the noise
    (:func:`prefer_ensemble`).
    """
    metric = get_metric(data.metric, data.task)
    regression = data.task == "regression"
    candidates = _pool_rows(candidates, preds)
    if len(candidates) < 2:
        return None
    y_val, w_val = preds[candidates[0].name].truth(data)
    validation = preds[candidates[0].name].validation

    def val_outputs(name):
        return preds[name].val_pred if regression else preds[name].val_proba

    def oriented(output):
        if regression:
            return metric.oriented(y_val, output, None, w_val)
        return metric.oriented(y_val, output.argmax(axis=1), output, w_val)

    if regression or metric.name not in _SMOOTH_FOR:
        criterion = oriented
    else:
        log_loss = get_metric("log_loss", data.task)

        def criterion(output):
            return log_loss.oriented(y_val, None, output, w_val)

    scored = [(oriented(val_outputs(c.name)), c) for c in candidates]
    scored = [(v, c) for v, c in scored if np.isfinite(v)]
    pool = [c for _, c in sorted(scored, key=lambda vc: vc[0], reverse=True)[:max_members]]
    if len(pool) < 2:
        return None
    # Caruana et al.'s procedure: every round adds the member whose addition scores best, even when the score
    # dips for a round (a later addition can recover: two models at weights 3/4 and 1/4 are reached through a
    # worse 1/2-1/2 step), and the best prefix of the rounds is kept; an earlier prefix wins ties (fewer members).
    chosen: list[str] = []
    total = None
    best_value, best_length = -np.inf, 0
    for _ in range(rounds):
        step_best, step_name = -np.inf, None
        for c in pool:
            out = val_outputs(c.name)
            trial = out if total is None else (total * len(chosen) + out) / (len(chosen) + 1)
            value = criterion(trial)
            if value > step_best:
                step_best, step_name = value, c.name
        if step_name is None:
            break
        out = val_outputs(step_name)
        total = out if total is None else (total * len(chosen) + out) / (len(chosen) + 1)
        chosen.append(step_name)
        if step_best > best_value + 1e-12:
            best_value, best_length = step_best, len(chosen)
    chosen = chosen[:best_length]
    counts = Counter(chosen)
    if len(counts) < 2:
        return None
    by_name = {c.name: c for c in pool}
    n = sum(counts.values())
    members = [(name, by_name[name].predictor, k / n) for name, k in counts.most_common()]
    params = {name: round(w, 3) for name, _, w in members}
    return Candidate("ensemble", "ensemble", params, EnsemblePredictor(members, data.task),
                     fit_time_s=sum(by_name[name].fit_time_s for name in counts),
                     info={"selected_on": "validation" if validation == "holdout" else f"out-of-fold ({validation})",
                           "members": list(params),
                           "criterion": "log_loss" if criterion is not oriented else metric.name})


def ensemble_validation(candidate: Candidate, preds: dict[str, Predictions]) -> OutOfFold | None:
    """The out-of-fold predictions of an ensemble of bagged models: its members' weighted together.

    None when ``candidate`` is not an ensemble or a member has no out-of-fold
    predictions (it is then validated on the validation split like any model).
    """
    if not isinstance(candidate.predictor, EnsemblePredictor):
        return None
    members = candidate.predictor.members
    records = [preds.get(name) for name, _, _ in members]
    if not records or any(r is None or r.val_y is None for r in records):
        return None
    regression = candidate.predictor.task == "regression"
    if regression:
        pred = sum(w * np.asarray(r.val_pred, dtype=float) for (_, _, w), r in zip(members, records))
        proba = None
    else:
        proba = sum(w * np.asarray(r.val_proba, dtype=float) for (_, _, w), r in zip(members, records))
        pred = proba.argmax(axis=1)
    first = records[0]
    return OutOfFold(pred, proba, first.val_y, first.val_weight, first.validation)


def prefer_ensemble(board: pd.DataFrame, preds: dict[str, Predictions], data: PreparedData, *,
                    resamples: int = 100) -> tuple[pd.DataFrame, dict | None]:
    """Rank the ensemble first when the single model above it leads by less than the noise of that comparison.

    Ranking by validation score picks, among near ties, whichever model the
    validation rows happen to favour; the ensemble averages several models, and
    its score varies less from one draw of rows to the next. The noise is the
    standard deviation of the lead over ``resamples`` bootstrap draws of the
    validation rows (out-of-fold rows for bagged models), paired: both models are
    scored on the same draw. Measured on credit_scoring at 120 s (accuracy on
    2,672 out-of-fold rows): LightGBM led the ensemble by 0.0015 (4 rows) and
    was chosen, 0.803 on the outer test rows against the ensemble's 0.811.

    Parameters
    ----------
    board : DataFrame
        Ranked leaderboard (:func:`rank`) with an ``ensemble`` row.
    preds : dict of str to Predictions
    data : PreparedData
        Task, metric and seed.
    resamples : int, default=100

    Returns
    -------
    board : DataFrame
        ``board``, with the ensemble's row moved to the top when it is preferred.
    info : dict or None
        ``chosen``, ``over`` (the other of the two), ``lead`` (the single model's) and ``noise``;
        None when there was nothing to compare (no ensemble, or it is first already).
    """
    names = list(board["model"])
    if "ensemble" not in names or names[0] == "ensemble":
        return board, None
    top, ens = preds.get(names[0]), preds.get("ensemble")
    if top is None or ens is None:
        return board, None
    y, w = ens.truth(data)
    if not np.array_equal(top.truth(data)[0], y):  # validated on other rows (holdout vs out-of-fold): no pairing
        return board, None
    metric = get_metric(data.metric, data.task)
    rng = np.random.default_rng(data.seed)

    def score(record: Predictions, rows: np.ndarray) -> float:
        proba = None if record.val_proba is None else record.val_proba[rows]
        return metric.oriented(y[rows], record.val_pred[rows], proba, None if w is None else w[rows])

    leads = []
    for _ in range(resamples):
        rows = rng.integers(0, len(y), len(y))
        try:
            leads.append(score(top, rows) - score(ens, rows))
        except ValueError:  # a draw without some class: the metric is undefined there
            continue
    leads = np.asarray(leads, dtype=float)
    leads = leads[np.isfinite(leads)]
    scores = board.set_index("model")["val_score"]
    lead = float(scores[names[0]] - scores["ensemble"])
    if len(leads) < resamples // 2 or not np.isfinite(lead):
        return board, None
    noise = float(leads.std())
    info = {"lead": round(lead, 6), "noise": round(noise, 6)}
    if lead >= noise:
        return board, {"chosen": names[0], "over": "ensemble", **info}
    at = names.index("ensemble")
    order = [at] + [i for i in range(len(names)) if i != at]
    return board.iloc[order].reset_index(drop=True), {"chosen": "ensemble", "over": names[0], **info}
