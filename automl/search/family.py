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
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
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
                 "parent_trial", "resumed", "worker"]

# Cost model for planning (conservative CPU figures; the deadline corrects any error):
# seconds to build, trace and start a trial, and per epoch a fixed cost plus a cost per step.
_TRIAL_OVERHEAD_S = 2.5
_EPOCH_FIXED_S = 0.08
_STEP_S = 0.012
# The search keeps this much of its budget to load the best networks and return.
_RESERVE_S = 1.5
# A distributed chief waits at least this long after the deadline for workers to report their last trials.
_GRACE_S = 30.0


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
        try:
            digest.update(memoryview(array).cast("B"))  # the buffer itself: tobytes() would copy the matrix
        except (TypeError, ValueError):  # object arrays have no plain buffer
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


def _training_target(y, data: PreparedData, mean: float, std: float) -> np.ndarray:
    """Targets as the networks train on them: standardised floats, 0/1 floats, or class codes."""
    if data.task == "regression":
        return ((np.asarray(y, dtype=np.float64) - mean) / std).astype(np.float32)
    if data.task == "binary" or data.n_classes <= 2:
        return np.asarray(y, dtype=np.float32)
    return np.asarray(y, dtype=np.int32)


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
    distributed : automl.search.distributed.DistributedConfig, optional
        Run the search across processes: a ``chief`` serves KerasTuner's oracle
        and collects the networks, ``worker`` processes run the trials (see
        docs/distributed.md). All of them need the same data, options and ``directory``.
    device_data : bool or 'auto', default='auto'
        Where trials read their batches: the built-in networks (and your own
        hypermodel unless it overrides ``fit``) are fed batches gathered from
        the shared prepared matrix (:mod:`automl.search.feed`), never a
        whole-array tensor copy. ``'auto'`` also places the matrix on the
        accelerator once per search when the JAX backend has one and the rows
        fit; ``True`` forces the device copy (JAX only), ``False`` keeps the
        batches on the host.

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
                 max_epochs: int | None = None, top_k: int = 3, distributed=None, device_data: bool | str = "auto"):
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
        if distributed is not None and getattr(distributed, "role", None) not in ("chief", "worker"):
            raise InputError("`distributed` must be an automl.search.distributed.DistributedConfig (see "
                             f"automl.search.distributed.resolve_distributed); got {distributed!r}.")
        self.distributed = distributed
        if device_data not in (True, False, "auto"):
            raise InputError(f"`device_data` must be True, False or 'auto'; got {device_data!r}.")
        self.device_data = device_data
        self._chief: dict | None = None

    # -- helpers ---------------------------------------------------------------------------------
    def _space(self, data: PreparedData, accelerator: bool = False) -> dict:
        n = len(data.y_train)
        return resolve_search_space(self.search_space, default_search_space(n, data.X_train.shape[1], data.task,
                                                                             accelerator=accelerator))

    def _feeds(self) -> bool:
        """True when the networks take a :class:`~automl.search.feed.RowBatches` instead of arrays.

        A user's hypermodel with its own ``fit`` may expect arrays: it gets them.
        """
        import keras_tuner as kt

        hypermodel = self.hypermodel
        return not (isinstance(hypermodel, kt.HyperModel) and type(hypermodel).fit is not kt.HyperModel.fit)

    def _feed(self, data: PreparedData, X_train, y_train, X_val=None, y_val=None, device: bool | str = False):
        from .feed import MatrixFeed

        weights = None
        if data.is_classification and data.class_weight:
            lookup = np.array([data.class_weight.get(k, 1.0) for k in range(max(data.n_classes, 2))],
                              dtype=np.float32)
            weights = lookup[np.asarray(data.y_train, dtype=np.int64)]
        return MatrixFeed(X_train, y_train, X_val, y_val, weights=weights, device=device)

    def _targets(self, data: PreparedData):
        mean, std = 0.0, 1.0
        if data.task == "regression":
            y = np.asarray(data.y_train, dtype=np.float64)
            mean, std = float(np.mean(y)), float(np.std(y))
            std = std if std > 0 and math.isfinite(std) else 1.0
        return (_training_target(data.y_train, data, mean, std), _training_target(data.y_val, data, mean, std),
                mean, std)

    # -- the search ------------------------------------------------------------------------------
    def _setup(self, data: PreparedData) -> SimpleNamespace:
        """Arrays, space, hypermodel and project folder: identical in every process of a search."""
        from .feed import accelerator
        from .hypermodel import TabularHyperModel

        on_accelerator = bool(accelerator())
        space = self._space(data, on_accelerator)
        n_rows = len(data.y_train)
        batch_default = int(space["batch_size"].get("default", space["batch_size"].get("value", 32)))
        # converted once per search; every trial trains on these very arrays
        X_train = np.ascontiguousarray(data.X_train, dtype=np.float32)
        X_val = np.ascontiguousarray(data.X_val, dtype=np.float32)
        y_train, y_val, y_mean, y_std = self._targets(data)
        if self.hypermodel is None:
            hypermodel = TabularHyperModel(data.task, X_train.shape[1], data.n_classes, space=space, n_rows=n_rows,
                                           accelerator=on_accelerator)
        else:
            hypermodel = self.hypermodel
        directory = Path(self.directory) if self.directory is not None else default_directory()
        if directory.exists() and not directory.is_dir():
            raise InputError(f"`directory`={str(directory)!r} is a file; give a folder path for the network search.")
        project = f"{self.name}_{self.tuner}_{_fingerprint(data, self.tuner, space if self.hypermodel is None else {}, self.hypermodel, self.max_epochs)}"
        self._built_by = hypermodel  # refit() rebuilds the chosen networks with it
        feed = self._feed(data, X_train, y_train, X_val, y_val, self.device_data) if self._feeds() else None
        return SimpleNamespace(space=space, n_rows=n_rows, batch_default=batch_default, X_train=X_train, X_val=X_val,
                               y_train=y_train, y_val=y_val, y_mean=y_mean, y_std=y_std, hypermodel=hypermodel,
                               directory=directory, project=project, feed=feed)

    def _context(self, data: PreparedData, s: SimpleNamespace, plan: SearchPlan, deadline: float, hooks,
                 role: str = "", project_dir: str = ""):
        from ..models.base import score_predictor
        from .engine import SearchContext
        from .predictor import KerasPredictor

        def wrap(model):
            return KerasPredictor(model, data.task, data.n_classes, s.y_mean, s.y_std)

        def score(predictor, best_val_loss):
            # networks are ranked by the task's metric on the validation rows, like every family
            return float(score_predictor(predictor, s.X_val, data.y_val, data.task, data.metric))

        return SearchContext(
            family=self.name, deadline=deadline, seed=data.seed, patience=plan.patience, score=score, wrap=wrap,
            objective="val_loss", top_k=self.top_k, hooks=hooks, batch_size=s.batch_default, reduce_lr=True,
            role=role, worker_id=self.distributed.worker_id if self.distributed is not None else "",
            project_dir=project_dir, feed=s.feed)

    def _reserve(self, budget: Budget) -> float:
        return min(_RESERVE_S + 0.3 * self.top_k, 0.1 * budget.seconds)

    def _search(self, tuner, context, data: PreparedData, s: SimpleNamespace, plan: SearchPlan) -> bool:
        """Run the engine's search loop; True when interrupted (Ctrl-C)."""
        try:
            with _quiet_tensorflow():
                if s.feed is not None:  # each trial takes its batches from the feed (see SearchContext.feed)
                    tuner.run(epochs=plan.max_epochs)
                else:
                    tuner.run(s.X_train, s.y_train, validation_data=(s.X_val, s.y_val), epochs=plan.max_epochs,
                              class_weight=data.class_weight if data.is_classification else None, shuffle=True)
        except KeyboardInterrupt:
            context.stop_reason = "interrupted"
            warn("Network search interrupted: returning the networks of the trials that finished.", SearchWarning)
            return True
        return False

    def fit(self, data: PreparedData, budget: Budget, hooks) -> FamilyResult:
        """Search networks within ``budget``; resume the project in ``directory`` when there is one.

        With ``distributed`` set, a chief serves the search to the workers (see
        :meth:`begin`) and collects their networks; a worker runs the trials
        the chief's oracle hands out until it says the search is over, and
        returns its trials without candidates.

        Returns
        -------
        FamilyResult
            Up to ``top_k`` candidates and one row per trial (columns :data:`TRIAL_COLUMNS`).
        """
        # heavy (Keras, TensorFlow, KerasTuner): imported only when a search runs
        from .engine import make_tuner

        role = self.distributed.role if self.distributed is not None else ""
        if role == "chief":
            if self._chief is None:
                self.begin(data, budget, hooks)
            return self._finish_chief(hooks)
        if role == "worker":
            return self._work(data, hooks)

        s = self._setup(data)
        reserve = self._reserve(budget)
        plan = plan_search(max(budget.remaining() - reserve, 1.0), s.n_rows, s.batch_default, self.tuner,
                           self.max_epochs)
        context = self._context(data, s, plan, budget.deadline - reserve, hooks)
        tuner = self._make_tuner(make_tuner, s.hypermodel, context, s.directory, s.project, plan, data.seed)
        # the oracle starts no trial that cannot do useful work before the deadline
        interrupted = self._search(tuner, context, data, s, plan)
        return self._collect(tuner, context, plan, s.project, s.directory, interrupted)

    # -- refit on every labelled row (automl.refit) -----------------------------------------------
    def refit_seconds(self, candidate: Candidate, row_ratio: float) -> float:  # noqa: D102
        epochs = int(candidate.info.get("best_epoch", 0)) + 1
        epoch_s = candidate.info.get("epoch_s")
        if epoch_s is None or not math.isfinite(float(epoch_s)):
            trained = max(int(candidate.info.get("epochs", epochs)), 1)
            epoch_s = float(candidate.fit_time_s) / trained
        return _TRIAL_OVERHEAD_S + epochs * float(epoch_s) * row_ratio * 1.2

    def refit(self, candidate: Candidate, data: PreparedData, deadline: float):
        """Train the candidate's network afresh on ``data`` for as many epochs as its best checkpoint had.

        The learning rate follows the schedule the search recorded (plateau
        reductions, a promoted Hyperband trial's restart), epoch by epoch.
        Returns None when the deadline or a non-finite loss cuts it short.
        """
        import keras
        import keras_tuner as kt

        from .engine import TrainingGuard
        from .predictor import KerasPredictor

        hypermodel = getattr(self, "_built_by", None)
        searched = candidate.predictor
        if isinstance(searched, KerasPredictor):
            y_mean, y_std = searched.y_mean, searched.y_std
        elif "y_mean" in candidate.info:  # a bag of this configuration, or a candidate sent without its network
            y_mean, y_std = float(candidate.info["y_mean"]), float(candidate.info["y_std"])
        else:
            return None
        if hypermodel is None:
            return None
        epochs = int(candidate.info.get("best_epoch", 0)) + 1
        rates = [float(v) for v in (candidate.history or {}).get("learning_rate", [])[:epochs]]
        hp = kt.HyperParameters()
        hp.values.update(candidate.params)
        keras.backend.clear_session()
        keras.utils.set_random_seed(int(data.seed) % (2 ** 31))
        with _quiet_tensorflow():
            model = hypermodel.build(hp)
            guard = TrainingGuard(deadline)
            callbacks = [guard]
            if len(rates) == epochs and all(math.isfinite(r) and r > 0 for r in rates):
                callbacks.append(keras.callbacks.LearningRateScheduler(lambda epoch, lr: rates[epoch]))
            y = _training_target(data.y_train, data, y_mean, y_std)
            batch_size = int(candidate.params.get("batch_size", 256))
            if self._feeds():
                # batches gathered from data.X_train as it is (any rows: all, or one fold's), no whole copy
                feed = self._feed(data, data.X_train, y, device=self.device_data)
                hypermodel.fit(hp, model, feed.train(batch_size, seed=data.seed), epochs=epochs, verbose=0,
                               callbacks=callbacks)
                feed.release()
            else:
                hypermodel.fit(hp, model, np.ascontiguousarray(data.X_train, dtype=np.float32), y, epochs=epochs,
                               batch_size=batch_size, shuffle=True, verbose=0,
                               class_weight=data.class_weight if data.is_classification else None,
                               callbacks=callbacks)
        if guard.triggered or guard.non_finite:
            return None
        return KerasPredictor(model, data.task, data.n_classes, y_mean, y_std)

    # -- distributed search (automl.search.distributed) --------------------------------------------
    def begin(self, data: PreparedData, budget: Budget, hooks) -> None:
        """Chief only: start serving the search to the workers now; :meth:`fit` later waits for its end.

        The orchestrator calls this before fitting the other families, so the
        workers train networks while the chief fits the classic models. The
        search ends at ``budget``'s deadline (less a small reserve to collect
        the networks), or earlier when the oracle is done.
        """
        from .distributed import CHIEF_FILE, announce_search
        from .engine import make_tuner
        from .kt_adapter import OracleServer

        if self.distributed is None or self.distributed.role != "chief":
            raise InputError("`begin` serves a distributed search: create the family with a chief's "
                             "`distributed` configuration (automl.search.distributed.resolve_distributed('chief')).")
        s = self._setup(data)
        project_dir = s.directory / s.project
        # a stale announcement (finished or not) must not send workers into this new search early
        (project_dir / CHIEF_FILE).unlink(missing_ok=True)
        reserve = self._reserve(budget)
        plan = plan_search(max(budget.remaining() - reserve, 1.0), s.n_rows, s.batch_default, self.tuner,
                           self.max_epochs)
        context = self._context(data, s, plan, budget.deadline - reserve, hooks, role="chief",
                                project_dir=str(project_dir))
        tuner = self._make_tuner(make_tuner, s.hypermodel, context, s.directory, s.project, plan, data.seed)
        try:
            server = OracleServer(tuner.oracle, self.distributed.address)
        except OSError as exc:
            raise InputError(f"The chief cannot listen on {self.distributed.address!r} (port in use, or not an "
                             f"address of this machine: {exc}); pass another `oracle_address`.") from None
        announcement = {
            "deadline_unix": time.time() + (context.deadline - time.monotonic()),
            "plan": {"max_epochs": plan.max_epochs, "factor": plan.factor, "min_epochs": plan.min_epochs,
                     "patience": plan.patience, "epoch_s": plan.epoch_s},
            "tuner": self.tuner, "max_trials": self.max_trials, "address": self.distributed.address,
            "host": socket.gethostname(), "pid": os.getpid(), "started_unix": time.time(), "finished": False,
        }
        announce_search(project_dir, announcement)
        self._chief = {"tuner": tuner, "context": context, "plan": plan, "setup": s, "server": server,
                       "known": set(tuner.oracle.trials), "announcement": announcement,
                       "started": time.monotonic()}

    def _report_ended(self, tuner, reported: set, hooks) -> None:
        """Tell listeners about trials the workers have finished since the last look."""
        from .engine import hook_payload

        for trial_id in list(tuner.oracle.end_order):
            if trial_id in reported:
                continue
            record = tuner.read_record(trial_id)
            if record is None:
                continue  # not on the shared filesystem yet: next look
            reported.add(trial_id)
            hooks.on_trial_end(hook_payload(record, self.name))

    def _finish_chief(self, hooks) -> FamilyResult:
        """Wait until the workers have finished (or the deadline and a grace period passed), then collect."""
        from .distributed import announce_search

        state, self._chief = self._chief, None
        tuner, context, plan, s, server = (state[k] for k in ("tuner", "context", "plan", "setup", "server"))
        oracle = tuner.oracle
        deadline = context.deadline
        # workers stop training at the deadline after their current step; give them time to report back
        grace = max(_GRACE_S, 0.25 * (deadline - state["started"]))
        reported = set(state["known"])
        interrupted = False
        try:
            while True:
                self._report_ended(tuner, reported, hooks)
                now = time.monotonic()
                over = server.stop_triggered or now >= deadline
                if over and not oracle.ongoing_trials and not oracle.tuner_ids:
                    break
                if now >= deadline + grace:
                    running = sorted(t.trial_id for t in dict(oracle.ongoing_trials).values())
                    warn(f"Stopped waiting for the workers {sorted(oracle.tuner_ids)} {grace:.0f} s after the deadline"
                         f"{'; unfinished trials ' + str(running) if running else ''} (a worker died or its "
                         "steps are slower than the grace period).", SearchWarning)
                    break
                if oracle.failure_note:
                    context.stop_reason = "failures"
                    warn(f"Network search stopped after repeated failed trials ({oracle.failure_note}); "
                         "see result.trials for each trial's error.", SearchWarning)
                    break
                time.sleep(0.25)
        except KeyboardInterrupt:
            interrupted = True
            context.stop_reason = "interrupted"
            warn("Network search interrupted: returning the networks of the trials that finished.", SearchWarning)
        finally:
            server.stop()
            announce_search(Path(context.project_dir), {**state["announcement"], "finished": True})
        if not context.stop_reason:
            limit = self.max_trials
            if limit and len(oracle.trials) >= limit:
                context.stop_reason = "max_trials"
            elif server.stop_triggered and time.monotonic() < deadline:
                context.stop_reason = "exhausted"
            else:
                context.stop_reason = "budget"
        tuner.load_records()
        for trial_id, record in tuner.records.items():
            if trial_id not in state["known"]:
                record["resumed"] = False
        self._report_ended(tuner, reported, hooks)
        with _quiet_tensorflow():
            return self._collect(tuner, context, plan, s.project, s.directory, interrupted)

    def _work(self, data: PreparedData, hooks) -> FamilyResult:
        """Worker: wait for the chief's announcement, then run the trials its oracle hands out."""
        from .distributed import wait_for_chief
        from .engine import make_tuner

        s = self._setup(data)
        project_dir = s.directory / s.project
        info = wait_for_chief(project_dir, self.distributed,
                              say=lambda text: print(text, file=sys.stderr, flush=True))
        plan = SearchPlan(**info["plan"])
        deadline = time.monotonic() + (float(info["deadline_unix"]) - time.time())
        context = self._context(data, s, plan, deadline, hooks, role="worker", project_dir=str(project_dir))
        tuner = self._make_tuner(make_tuner, s.hypermodel, context, s.directory, s.project, plan, data.seed)
        interrupted = self._search(tuner, context, data, s, plan)
        return self._collect(tuner, context, plan, s.project, s.directory, interrupted, candidates=False)

    def _make_tuner(self, make_tuner, hypermodel, context, directory, project, plan, seed):
        options = dict(directory=directory, project_name=project, max_trials=self.max_trials,
                       max_epochs=plan.max_epochs, factor=plan.factor, min_epochs=plan.min_epochs, seed=seed,
                       distributed=self.distributed)
        try:
            return make_tuner(self.tuner, hypermodel, context, overwrite=self.overwrite, **options)
        except (ValueError, KeyError, RuntimeError, OSError) as exc:
            if self.overwrite or (self.distributed is not None and self.distributed.role == "worker"):
                raise
            # A search killed while writing its state leaves files KerasTuner cannot read.
            warn(f"Could not resume the network search in {str(directory / project)!r} ({exc}); starting afresh.",
                 SearchWarning)
            return make_tuner(self.tuner, hypermodel, context, overwrite=True, **options)

    def _collect(self, tuner, context, plan: SearchPlan, project: str, directory: Path,
                 interrupted: bool, candidates: bool = True) -> FamilyResult:
        # a worker's oracle is the chief's: its own trials, in the order it ran them
        started = context.ran if context.role == "worker" else tuner.oracle.start_order
        order = [t for t in started if t in tuner.records]
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
        if context.role:
            search["distributed"] = context.role
            search["workers"] = sorted({str(w) for w in trials["worker"].dropna()}) if len(trials) else []
        trials.attrs.update(search)
        if not candidates:  # a worker: the chief ranks the networks
            return FamilyResult([], trials)

        good = [tuner.records[t] for t in order if tuner.records[t]["status"] == "ok"
                and math.isfinite(tuner.records[t]["score"])]
        good.sort(key=lambda r: (-r["score"], r["val_loss"] if math.isfinite(r["val_loss"]) else math.inf))
        candidates = []
        for record in good:
            if len(candidates) >= self.top_k:
                break
            try:
                predictor = tuner.kept(record["trial"])
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
                      "epoch_s": record.get("epoch_s"), "search": search,
                      # the target scaling travels with the settings: refit() needs no searched network
                      "y_mean": float(getattr(predictor, "y_mean", 0.0)),
                      "y_std": float(getattr(predictor, "y_std", 1.0))},
            ))
        return FamilyResult(candidates, trials)


def work(prepared: PreparedData, hooks, network_options: dict, started: float | None = None):
    """Run one worker of a distributed network search on the prepared data.

    Parameters
    ----------
    prepared : automl.models.PreparedData
        The same splits and preprocessing as on the chief.
    hooks : progress hooks
    network_options : dict
        :class:`NeuralNetworkFamily` options (``tuner``, ``max_trials``,
        ``directory``, ..., ``distributed`` with role ``worker``); equal to the chief's.
    started : float, optional
        ``time.monotonic()`` when the caller started.

    Returns
    -------
    automl.search.distributed.WorkerResult
    """
    from .distributed import WorkerResult

    started = time.monotonic() if started is None else started
    options = {k: v for k, v in network_options.items() if v is not None}
    family = NeuralNetworkFamily(**options)
    config = family.distributed
    if config is None or config.role != "worker":
        raise InputError("`work` runs a distributed worker: pass `distributed` with role 'worker' "
                         "(automl.search.distributed.resolve_distributed('worker', 'host:port')).")
    outcome = family.fit(prepared, None, hooks)  # the chief's deadline, not this process's budget, bounds it
    trials = outcome.trials if outcome.trials is not None else pd.DataFrame()
    return WorkerResult(worker_id=config.worker_id, trials=trials,
                        stop_reason=str(trials.attrs.get("stop_reason", "")),
                        directory=str(trials.attrs.get("directory", "")),
                        elapsed_s=round(time.monotonic() - started, 3), info=dict(trials.attrs))
