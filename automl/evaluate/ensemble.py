"""Greedy ensemble selection (Caruana et al., 2004) over the validation predictions."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..metrics import get_metric
from ..models.base import Candidate, PreparedData
from .leaderboard import Predictions


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


# Metrics too coarse to steer a greedy search on a few hundred rows: select on a smooth loss instead.
_SMOOTH_FOR = {"accuracy", "balanced_accuracy", "f1", "f1_macro", "precision", "recall", "roc_auc"}


def build_ensemble(candidates: list[Candidate], preds: dict[str, Predictions], data: PreparedData,
                   *, max_members: int = 6, rounds: int = 25) -> Candidate | None:
    """Select, with replacement, the members whose average best improves the validation score.

    Only the ``max_members`` best candidates by validation score are considered.
    For label metrics (accuracy, F1, ...) the steps are chosen on the validation
    log loss of the averaged probabilities: it moves with every row, where
    accuracy moves in steps of one row and would pick members by chance. The
    selection stops as soon as no addition improves the criterion, and the
    weights are the members' shares of the selections (they sum to 1).

    Returns None when the selection settles on a single model. The result is
    scored like any model and is only ranked first when its validation score
    is the best.
    """
    metric = get_metric(data.metric, data.task)
    regression = data.task == "regression"

    def val_outputs(name):
        return preds[name].val_pred if regression else preds[name].val_proba

    def oriented(output):
        if regression:
            return metric.oriented(data.y_val, output, None, data.sample_weight_val)
        return metric.oriented(data.y_val, output.argmax(axis=1), output, data.sample_weight_val)

    if regression or metric.name not in _SMOOTH_FOR:
        criterion = oriented
    else:
        log_loss = get_metric("log_loss", data.task)

        def criterion(output):
            return log_loss.oriented(data.y_val, None, output, data.sample_weight_val)

    scored = [(oriented(val_outputs(c.name)), c) for c in candidates]
    scored = [(v, c) for v, c in scored if np.isfinite(v)]
    pool = [c for _, c in sorted(scored, key=lambda vc: vc[0], reverse=True)[:max_members]]
    if len(pool) < 2:
        return None
    chosen: list[str] = []
    total = None
    best_so_far = -np.inf
    for _ in range(rounds):
        step_best, step_name = -np.inf, None
        for c in pool:
            out = val_outputs(c.name)
            trial = out if total is None else (total * len(chosen) + out) / (len(chosen) + 1)
            value = criterion(trial)
            if value > step_best:
                step_best, step_name = value, c.name
        if step_name is None or (chosen and step_best <= best_so_far):
            break
        out = val_outputs(step_name)
        total = out if total is None else (total * len(chosen) + out) / (len(chosen) + 1)
        chosen.append(step_name)
        best_so_far = step_best
    counts = Counter(chosen)
    if len(counts) < 2:
        return None
    by_name = {c.name: c for c in pool}
    n = sum(counts.values())
    members = [(name, by_name[name].predictor, k / n) for name, k in counts.most_common()]
    params = {name: round(w, 3) for name, _, w in members}
    return Candidate("ensemble", "ensemble", params, EnsemblePredictor(members, data.task),
                     fit_time_s=sum(by_name[name].fit_time_s for name in counts),
                     info={"selected_on": "validation", "members": list(params),
                           "criterion": "log_loss" if criterion is not oriented else metric.name})
