"""``NeuralNetworkFamily``: the KerasTuner network search as one model family of the leaderboard.

Importing this module is cheap: Keras, TensorFlow and KerasTuner are imported
inside :meth:`NeuralNetworkFamily.fit`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..budget import Budget
from ..data.checks import check_choice, check_number
from ..errors import InputError, SearchWarning, warn
from ..models.base import Candidate, FamilyResult, ModelFamily, PreparedData
from .space import default_search_space, resolve_search_space

__all__ = ["NeuralNetworkFamily", "SearchPlan", "plan_search", "default_directory", "TRIAL_COLUMNS"]

TUNER_NAMES = ("hyperband", "bayesian", "random")
TRIAL_COLUMNS = ["trial", "score", "status", "params", "time_s", "epochs", "epochs_trained", "stopped_early", "best_epoch",
                 "val_loss", "history", "error", "stop_reason", "epoch_s", "planned_epochs", "initial_epoch",
                 "parent_trial", "resumed"]

# Cost model for planning (conservative CPU figures; the deadline corrects any error):
# seconds to build, trace and start a trial, and per epoch a fixed cost plus a cost per step.
_TRIAL_OVERHEAD_S = 2.5
_EPOCH_FIXED_S = 0.08
_STEP_S = 0.012
# The search keeps this much of its budget to load the best networks and return.
_RESERVE_S = 1.5


@dataclass
class SearchPlan:
    """Epoch schedule chosen for the data and the budget.

    Attributes
    ----------
    max_epochs : int
        Most epochs any trial trains (Hyperband's top rung).
    factor : int
        Hyperband's reduction factor.
    min_epochs : int
        Epochs of Hyperband's smallest rung.
    patience : int
        Early-stopping patience in epochs.
    epoch_s : float
        Estimated seconds per epoch.
    """

    max_epochs: int
    factor: int
    min_epochs: int
    patience: int
    epoch_s: float


def epoch_seconds(n_rows: int, batch_size: int) -> float:
    """Estimated seconds for one epoch (training plus a validation pass of a quarter the size)."""
    steps = math.ceil(max(n_rows, 1) / max(batch_size, 1))
    return _EPOCH_FIXED_S + _STEP_S * steps * 1.25


def _hyperband_rounds(max_epochs: int, factor: int, min_epochs: int) -> list[list[tuple[int, int]]]:
    """(trials, epochs) per round of each bracket, most aggressive first, as KerasTuner schedules them."""
    brackets, epochs = 0, float(max_epochs)
    while epochs >= min_epochs:
        epochs /= factor
        brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    out = []
    for b in range(brackets - 1, -1, -1):
        out.append([(math.ceil(end_size / (b + 1) * factor ** (b - r)), math.ceil(max_epochs / factor ** (b - r)))
                    for r in range(b + 1)])
    return out


def _bracket_seconds(rounds: list[tuple[int, int]], epoch_s: float) -> float:
    total, previous = 0.0, 0
    for trials, epochs in rounds:
        # a promoted trial continues from its parent's checkpoint: it trains only the extra epochs
        total += trials * (_TRIAL_OVERHEAD_S + (epochs - previous) * epoch_s)
        previous = epochs
    return total


def _epoch_cap(n_rows: int) -> int:
    # Small tables converge in more (cheap) epochs; large ones in fewer (costly) ones.
    if n_rows < 2_000:
        return 120
    if n_rows < 20_000:
        return 80
    if n_rows < 200_000:
        return 40
    return 20


def plan_search(seconds: float, n_rows: int, batch_size: int, tuner: str, max_epochs: int | None = None) -> SearchPlan:
    """Size the epoch schedule so that the search does useful work within ``seconds``.

    Hyperband: the largest ``max_epochs`` (at most three brackets) whose first,
    most aggressive bracket fits in about 80% of the budget, so at least one
    configuration is trained to the top rung. Random and Bayesian search: the
    largest ``max_epochs`` that leaves room for about six full trials. Early
    stopping ends most trials sooner.

    Parameters
    ----------
    seconds : float
        Time for the search.
    n_rows : int
        Training rows.
    batch_size : int
        Typical batch size of the space.
    tuner : {'hyperband', 'bayesian', 'random'}
    max_epochs : int, optional
        The user's cap; used as is when given.

    Returns
    -------
    SearchPlan

    Examples
    --------
    >>> plan = plan_search(600, 400, 32, "hyperband")
    >>> plan.max_epochs >= plan.min_epochs >= 1
    True
    """
    epoch_s = epoch_seconds(n_rows, batch_size)
    factor = 3
    if max_epochs is not None:
        top = int(max_epochs)
    else:
        cap = _epoch_cap(n_rows)
        top = 4
        for candidate in range(cap, 3, -1):
            if tuner == "hyperband":
                rounds = _hyperband_rounds(candidate, factor, max(1, math.ceil(candidate / factor ** 2)))
                fits = _bracket_seconds(rounds[0], epoch_s) <= 0.8 * seconds
            else:
                fits = 6 * (_TRIAL_OVERHEAD_S + candidate * epoch_s) <= seconds
            if fits:
                top = candidate
                break
    min_epochs = max(1, math.ceil(top / factor ** 2))
    patience = int(min(10, max(3, round(top / 10))))
    return SearchPlan(max_epochs=top, factor=factor, min_epochs=min_epochs, patience=patience, epoch_s=epoch_s)


@contextlib.contextmanager
def _quiet_tensorflow():
    """Silence TensorFlow's retracing advice: every trial is a new network, so retracing is expected."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def default_directory() -> Path:
    """Where searches live unless ``directory=`` says otherwise: ``$AUTOML_RUNS_DIR`` or ``./automl_runs``."""
    return Path(os.environ.get("AUTOML_RUNS_DIR", "automl_runs"))


def _fingerprint(data: PreparedData, tuner: str, space: dict, hypermodel: Any, max_epochs: int | None) -> str:
    """Hash of everything that makes two searches the same search (data, task, seed, space)."""
    digest = hashlib.sha256()
    for array in (data.X_train, data.y_train, data.X_val, data.y_val):
        array = np.ascontiguousarray(array)
        digest.update(str((array.shape, array.dtype.str)).encode())
        digest.update(array.tobytes())
    if hypermodel is None:
        model_id = "builtin"
    else:
        kind = hypermodel if isinstance(hypermodel, type) or callable(hypermodel) and not hasattr(
            hypermodel, "build") else type(hypermodel)
        model_id = f"{getattr(kind, '__module__', '')}.{getattr(kind, '__qualname__', repr(kind))}"
    meta = {"task": data.task, "metric": data.metric, "n_classes": data.n_classes, "seed": data.seed,
            "tuner": tuner, "space": space, "hypermodel": model_id, "max_epochs": max_epochs,
            "class_weight": data.class_weight}
    digest.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]


class NeuralNetworkFamily(ModelFamily):
    """Networks searched with KerasTuner, guarded against overfitting, resumable.

    Every trial trains with early stopping on the validation loss (best weights
    restored), learning-rate reduction on plateaus, a NaN guard, and the
    regularisation the space proposes (dropout, L2, batch normalisation). The
    ``top_k`` best trials by the validation metric become leaderboard
    candidates named ``neural_network``, ``neural_network_2``, ...

    Parameters
    ----------
    tuner : {'hyperband', 'bayesian', 'random'}, default='hyperband'
    max_trials : int, optional
        Cap on trials in the project (finished trials of a resumed search count).
    directory : str or Path, optional
        Folder holding the search; default ``$AUTOML_RUNS_DIR`` or ``./automl_runs``.
        Each distinct data/seed/space/tuner gets its own project folder inside it.
    overwrite : bool, default=False
        Start afresh instead of resuming a search found in ``directory``.
    hypermodel : keras_tuner.HyperModel or callable, optional
        Your own search space; ``build(hp)`` must return a compiled Keras model
        whose output suits the task (see docs/search.md).
    search_space : dict, optional
        Overrides of the built-in space, e.g. ``{"layers": (1, 2), "dropout": [0.0, 0.2]}``.
    max_epochs : int, optional
        Most epochs per trial; sized to the data and budget when omitted.
    top_k : int, default=3
        Best networks offered to the leaderboard.

    Examples
    --------
    >>> family = NeuralNetworkFamily(tuner="random", max_trials=5)
    >>> result = family.fit(prepared, Budget(60), hooks)        # doctest: +SKIP
    >>> result.trials[["trial", "score", "epochs", "stopped_early"]]   # doctest: +SKIP
    """

    name = "neural_network"
    weight = 3.0

    def __init__(self, tuner: str = "hyperband", max_trials: int | None = None, directory=None,
                 overwrite: bool = False, hypermodel=None, search_space: dict | None = None,
                 max_epochs: int | None = None, top_k: int = 3):
        self.tuner = check_choice(tuner, "tuner", TUNER_NAMES)
        self.max_trials = check_number(max_trials, "max_trials", integer=True, low=1, allow_none=True)
        self.directory = directory
        self.overwrite = bool(overwrite)
        if hypermodel is not None and not (callable(hypermodel) or hasattr(hypermodel, "build")):
            raise InputError("`hypermodel` must be a keras_tuner.HyperModel or a function build(hp) -> "
                             f"keras.Model; got {type(hypermodel).__name__}.")
        if hypermodel is not None and search_space is not None:
            raise InputError("Pass either `hypermodel` or `search_space`, not both: `search_space` adjusts the "
                             "built-in space, which your own hypermodel replaces.")
        self.hypermodel = hypermodel
        if search_space is not None:
            resolve_search_space(search_space, default_search_space(1000, 10, "binary"))  # fail fast
        self.search_space = search_space
        self.max_epochs = check_number(max_epochs, "max_epochs", integer=True, low=1, allow_none=True)
        self.top_k = check_number(top_k, "top_k", integer=True, low=1)

    # -- helpers ---------------------------------------------------------------------------------
    def _space(self, data: PreparedData) -> dict:
        n = len(data.y_train)
        return resolve_search_space(self.search_space, default_search_space(n, data.X_train.shape[1], data.task))

    def _targets(self, data: PreparedData):
        if data.task == "regression":
            y = np.asarray(data.y_train, dtype=np.float64)
            mean, std = float(np.mean(y)), float(np.std(y))
            std = std if std > 0 and math.isfinite(std) else 1.0
            scale = lambda v: ((np.asarray(v, dtype=np.float64) - mean) / std).astype(np.float32)  # noqa: E731
            return scale(data.y_train), scale(data.y_val), mean, std
        if data.task == "binary" or data.n_classes <= 2:
            return (np.asarray(data.y_train, dtype=np.float32), np.asarray(data.y_val, dtype=np.float32), 0.0, 1.0)
        return np.asarray(data.y_train, dtype=np.int32), np.asarray(data.y_val, dtype=np.int32), 0.0, 1.0

    # -- the search ------------------------------------------------------------------------------
    def fit(self, data: PreparedData, budget: Budget, hooks) -> FamilyResult:
        """Search networks within ``budget``; resume the project in ``directory`` when there is one.

        Returns
        -------
        FamilyResult
            Up to ``top_k`` candidates and one row per trial (columns :data:`TRIAL_COLUMNS`).
        """
        # heavy (Keras, TensorFlow, KerasTuner): imported only when a search runs
        from .hypermodel import TabularHyperModel
        from .tuner import SearchContext, make_tuner

        space = self._space(data)
        n_rows = len(data.y_train)
        batch_default = int(space["batch_size"].get("default", space["batch_size"].get("value", 32)))
        reserve = min(_RESERVE_S + 0.3 * self.top_k, 0.1 * budget.seconds)
        plan = plan_search(max(budget.remaining() - reserve, 1.0), n_rows, batch_default, self.tuner,
                           self.max_epochs)
        X_train = np.ascontiguousarray(data.X_train, dtype=np.float32)
        X_val = np.ascontiguousarray(data.X_val, dtype=np.float32)
        y_train, y_val, y_mean, y_std = self._targets(data)

        if self.hypermodel is None:
            hypermodel = TabularHyperModel(data.task, X_train.shape[1], data.n_classes, space=space, n_rows=n_rows)
        else:
            hypermodel = self.hypermodel
        directory = Path(self.directory) if self.directory is not None else default_directory()
        if directory.exists() and not directory.is_dir():
            raise InputError(f"`directory`={str(directory)!r} is a file; give a folder path for the network search.")
        project = f"{self.name}_{self.tuner}_{_fingerprint(data, self.tuner, space if self.hypermodel is None else {}, self.hypermodel, self.max_epochs)}"
        context = SearchContext(
            task=data.task, metric=data.metric, n_classes=data.n_classes, X_val=X_val, y_val=data.y_val,
            y_mean=y_mean, y_std=y_std, deadline=budget.deadline - reserve, seed=data.seed,
            batch_size=batch_default, patience=plan.patience, top_k=self.top_k, hooks=hooks, family=self.name)
        tuner = self._make_tuner(make_tuner, hypermodel, context, directory, project, plan, data.seed)

        interrupted = False
        failure = ""
        if not budget.expired():
            try:
                with _quiet_tensorflow():
                        tuner.search(X_train, y_train, validation_data=(X_val, y_val), epochs=plan.max_epochs,
                                 class_weight=data.class_weight if data.is_classification else None, shuffle=True)
            except KeyboardInterrupt:
                interrupted = True
                context.stop_reason = "interrupted"
                warn("Network search interrupted: returning the networks of the trials that finished.",
                     SearchWarning)
            except RuntimeError as exc:
                if "consecutive failures" not in str(exc):
                    raise
                failure = str(exc).splitlines()[0]
                context.stop_reason = "failures"
                warn(f"Network search stopped after repeated failed trials ({failure}); see result.trials "
                     "for each trial's error.", SearchWarning)
        else:
            context.stop_reason = "budget"
        return self._collect(tuner, context, plan, project, directory, interrupted)

    def _make_tuner(self, make_tuner, hypermodel, context, directory, project, plan, seed):
        options = dict(directory=directory, project_name=project, max_trials=self.max_trials,
                       max_epochs=plan.max_epochs, factor=plan.factor, min_epochs=plan.min_epochs, seed=seed)
        try:
            return make_tuner(self.tuner, hypermodel, context, overwrite=self.overwrite, **options)
        except (ValueError, KeyError, RuntimeError, OSError) as exc:
            if self.overwrite:
                raise
            # A search killed while writing its state leaves files KerasTuner cannot read.
            warn(f"Could not resume the network search in {str(directory / project)!r} ({exc}); starting afresh.",
                 SearchWarning)
            return make_tuner(self.tuner, hypermodel, context, overwrite=True, **options)

    def _collect(self, tuner, context, plan: SearchPlan, project: str, directory: Path,
                 interrupted: bool) -> FamilyResult:
        order = [t for t in tuner.oracle.start_order if t in tuner.records]
        order += [t for t in tuner.records if t not in order]
        rows = []
        for trial_id in order:
            record = tuner.records[trial_id]
            rows.append({column: record.get(column) for column in TRIAL_COLUMNS})
        trials = pd.DataFrame(rows, columns=TRIAL_COLUMNS)
        if len(trials):
            trials["score"] = trials["score"].astype(float)
            trials["time_s"] = trials["time_s"].astype(float)
            trials["val_loss"] = trials["val_loss"].astype(float)
            trials["epoch_s"] = trials["epoch_s"].astype(float)
        search = {"tuner": self.tuner, "directory": str(directory / project), "stop_reason": context.stop_reason,
                  "interrupted": interrupted, "max_epochs": plan.max_epochs, "factor": plan.factor,
                  "min_epochs": plan.min_epochs, "patience": plan.patience, "trials": len(trials)}
        trials.attrs.update(search)

        good = [tuner.records[t] for t in order if tuner.records[t]["status"] == "ok"
                and math.isfinite(tuner.records[t]["score"])]
        good.sort(key=lambda r: (-r["score"], r["val_loss"] if math.isfinite(r["val_loss"]) else math.inf))
        candidates = []
        for record in good:
            if len(candidates) >= self.top_k:
                break
            try:
                predictor = tuner.predictor_for(record["trial"])
            except KeyboardInterrupt:
                break
            except Exception as exc:  # a damaged checkpoint costs one candidate, not the search
                warn(f"Could not restore network of trial {record['trial']} ({exc}); skipping it.", SearchWarning)
                continue
            name = self.name if not candidates else f"{self.name}_{len(candidates) + 1}"
            candidates.append(Candidate(
                name=name, family=self.name, params=dict(record["params"]), predictor=predictor,
                fit_time_s=float(record["time_s"]) if math.isfinite(record["time_s"]) else 0.0,
                history=record.get("history") or None,
                info={"trial_id": record["trial"], "best_epoch": int(record["best_epoch"]),
                      "stopped_early": bool(record["stopped_early"]), "epochs": int(record["epochs"]),
                      "stop_reason": record.get("stop_reason"), "val_loss": record["val_loss"],
                      "search": search},
            ))
        return FamilyResult(candidates, trials)
