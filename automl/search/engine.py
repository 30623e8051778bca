"""The one KerasTuner search engine behind every Keras search in automl.

The supervised network search (:mod:`automl.search.family`) and the
autoencoder search (:mod:`automl.clustering.autoencoder_search`) both run
here, so a fix reaches both:

* **strategy**: a KerasTuner oracle (Hyperband, Bayesian optimisation or random
  search) proposes values; :class:`EngineOracle` adds, through the public
  ``populate_space`` / ``create_trial`` / ``end_trial``, a deadline (no trial
  starts that could not do useful work before it), a stop after repeated
  failures and an end when nothing can change (a pending trial no one runs);
  its first trial uses the space's defaults;
* **one trial**: :class:`SearchTuner` (a ``kt.Tuner``) overrides the public
  ``run_trial``; :class:`EngineHyperModel` wraps the user's hypermodel
  (``HyperModel.build/fit``) to seed Keras, continue a promoted Hyperband trial
  from its parent's checkpoint, train with early stopping (best weights
  restored), optional learning-rate reduction, a deadline and a NaN guard
  (:class:`TrainingGuard`), and score the network; a bad trial raises
  ``kt.errors.FailedTrialError`` and the search goes on;
* **records and resume**: each trial writes one JSON record (``automl_trial.json``)
  next to KerasTuner's files *before* the oracle saves its state, so a search
  killed at any moment resumes from its directory without re-running a
  finished trial (:meth:`SearchTuner.load_records`);
* **distribution**: KerasTuner's documented ``KERASTUNER_*`` mode: a worker's
  tuner is built with those variables set, and KerasTuner itself proxies its
  oracle to the chief's (see :mod:`automl.search.distributed`).

What KerasTuner does not offer publicly lives in :mod:`automl.search.kt_adapter`.
Importing this module imports Keras and KerasTuner: import it lazily.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import keras
import keras_tuner as kt
import numpy as np

from ..errors import SearchWarning, warn
from ..persist import atomic_file
from . import kt_adapter
from .distributed import OracleUnavailable, kt_environment, read_announcement

__all__ = ["SearchContext", "TrainingGuard", "EngineOracle", "EngineHyperModel", "SearchTuner", "make_tuner",
           "hook_payload", "trial_params", "TUNERS", "RECORD_FILE"]

TUNERS = ("hyperband", "bayesian", "random")
RECORD_FILE = "automl_trial.json"
_COMPLETED = kt.engine.trial.TrialStatus.COMPLETED
_STOPPED = kt.engine.trial.TrialStatus.STOPPED
_IDLE = kt.engine.trial.TrialStatus.IDLE
_RUNNING = kt.engine.trial.TrialStatus.RUNNING
_FAILED = kt.engine.trial.TrialStatus.FAILED
# KerasTuner's own consecutive-failure check raises a RuntimeError from end_trial; EngineOracle counts instead.
_NEVER = 10 ** 9


@dataclass
class SearchContext:
    """What a trial needs besides its hyperparameters (set by the caller, not saved by KerasTuner).

    Attributes
    ----------
    family : str
        Name given to progress listeners (``neural_network``, ``autoencoder``).
    deadline : float
        ``time.monotonic()`` time at which training must stop.
    seed : int
    patience : int
        Early-stopping patience in epochs (learning-rate patience is about half).
    score : callable
        ``score(kept, best_objective) -> float``, higher is better; ``kept`` is
        what ``wrap`` made of the trained network.
    wrap : callable, optional
        ``wrap(model) -> object`` kept for the best ``top_k`` trials (default: the model).
    objective : str, default='val_loss'
        The validation metric KerasTuner minimises, early stopping watches and
        the checkpoint keeps.
    top_k : int, default=1
        Trained networks kept in memory (the others reload from their checkpoints).
    hooks : object, optional
        Progress listeners (``on_trial_end``).
    batch_size : int, optional
        Used when the trial's hyperparameters have no ``batch_size``.
    reduce_lr : bool, default=True
        Halve the learning rate when the objective plateaus.
    min_delta : float, default=0.0
        Early stopping's smallest improvement.
    finish_first : bool, default=False
        Until one trial has finished, start trials and train them without the
        deadline (a search that must return a network, e.g. the autoencoder's).
    min_trial_s : float, default=1.5
        No trial starts with less time left.
    min_trial_share : float, default=0.3
        Nor with less than this share of the median trial of this session left
        (a trial that cannot get past graph building and a few epochs is wasted
        time); 0 starts a trial whenever ``min_trial_s`` is left.
    role, worker_id, project_dir : str
        Distributed search: ``""`` (one process), ``"chief"`` or ``"worker"``;
        the worker's id; the shared project folder (the chief's announcement).
    feed : automl.search.feed.MatrixFeed, optional
        Serves each trial its training and validation batches from the shared
        matrix (``feed.train(batch_size, seed)``, ``feed.validation(batch_size)``)
        instead of the arrays given to :meth:`SearchTuner.run`, which Keras would
        copy whole into tensors; ``run`` then needs no data arguments.
    """

    family: str
    deadline: float
    seed: int
    patience: int
    score: Callable[[Any, float], float]
    wrap: Callable[[Any], Any] | None = None
    objective: str = "val_loss"
    top_k: int = 1
    hooks: Any = None
    batch_size: int | None = None
    reduce_lr: bool = True
    min_delta: float = 0.0
    finish_first: bool = False
    min_trial_s: float = 1.5
    min_trial_share: float = 0.3
    stop_reason: str = ""
    ran: list[str] = field(default_factory=list)
    role: str = ""
    worker_id: str = ""
    project_dir: str = ""
    feed: Any = None


# -- oracles ---------------------------------------------------------------------------------
class EngineOracle(kt_adapter.OracleInternals):
    """Oracle mixin: deadline, failure limit and "nothing left" stops, through public Oracle methods.

    ``stop_at`` (a ``time.monotonic()`` time) makes the oracle answer "search
    over" to any tuner asking for a trial that could not do useful work before
    it: less than ``min_trial_s`` or ``min_trial_share`` of the median trial so far left. In a
    distributed search the chief's oracle decides this for every worker.
    ``stop_reason`` says why it stopped (``budget``, ``failures``,
    ``exhausted``; empty when KerasTuner stopped at ``max_trials``).
    """

    stop_at: float | None = None
    min_trial_s: float = 1.5
    min_trial_share: float = 0.3
    finish_first: bool = False
    max_failures: int = 5
    stop_reason: str = ""
    failure_note: str = ""

    def _durations(self) -> dict:
        return self.__dict__.setdefault("_automl_durations", {})

    def _begun(self) -> dict:
        return self.__dict__.setdefault("_automl_begun", {})

    def _enough_time(self) -> bool:
        if self.stop_at is None:
            return True
        if self.finish_first and not any(t.status == _COMPLETED for t in self.trials.values()):
            return True
        durations = list(self._durations().values())
        need = self.min_trial_s
        if durations:
            need = max(need, self.min_trial_share * float(np.median(durations)))
        return time.monotonic() + need <= self.stop_at

    def populate_space(self, trial_id):  # noqa: D102
        if self.failure_note:
            self.stop_reason = "failures"
            return {"status": _STOPPED, "values": None}
        if not self._enough_time():
            self.stop_reason = "budget"
            return {"status": _STOPPED, "values": None}
        response = super().populate_space(trial_id)
        status = response.get("status")
        if status == _IDLE and not self.ongoing_trials:
            # waiting for a trial no one runs (one process, or every worker gone): nothing will change
            status = _STOPPED
            response = {"status": _STOPPED, "values": None}
        if status == _STOPPED and not self.stop_reason:
            self.stop_reason = "exhausted"
        return response

    def create_trial(self, tuner_id):  # noqa: D102
        trial = super().create_trial(tuner_id)
        if trial.status == _RUNNING:
            self._begun()[trial.trial_id] = time.monotonic()
        return trial

    def end_trial(self, trial):  # noqa: D102
        begun = self._begun().pop(trial.trial_id, None)
        if begun is not None:
            self._durations()[trial.trial_id] = time.monotonic() - begun
        result = super().end_trial(trial)
        failed = 0
        for trial_id in reversed(self.end_order):
            if self.trials[trial_id].status != _FAILED:
                break
            failed += 1
        if self.max_failures and failed >= self.max_failures:
            self.failure_note = f"{failed} consecutive failed trials"
        return result


class _HyperbandOracle(EngineOracle, kt.oracles.HyperbandOracle):
    """Hyperband whose smallest rung trains ``min_epochs`` (KerasTuner fixes it at 1).

    One-epoch trials tell little about a network on small tables, and each
    trial pays seconds of graph building, so tight budgets want fewer, longer
    rungs.
    """

    def __init__(self, *args, min_epochs: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        kt_adapter.set_hyperband_min_epochs(self, min_epochs)


class _RandomOracle(EngineOracle, kt.oracles.RandomSearchOracle):
    """Random search, defaults first."""


class _BayesianOracle(EngineOracle, kt.oracles.BayesianOptimizationOracle):
    """Gaussian-process Bayesian optimisation, defaults first."""


# -- callbacks -------------------------------------------------------------------------------
class TrainingGuard(keras.callbacks.Callback):
    """Stop training at a monotonic deadline or on a non-finite loss, checked after every step.

    Keras' ``TerminateOnNaN`` does the second part too but prints to stdout.
    ``per_step=False`` checks the deadline at the end of each epoch only (the
    NaN check stays per step).
    """

    def __init__(self, deadline: float, per_step: bool = True):
        super().__init__()
        self.deadline = deadline
        self.per_step = per_step
        self.triggered = False
        self.non_finite = False
        self.epoch_s: list[float] = []
        self._epoch_start = 0.0

    def on_epoch_begin(self, epoch, logs=None):  # noqa: D102
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):  # noqa: D102
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.non_finite = True
            self.model.stop_training = True
        if self.per_step and time.monotonic() >= self.deadline:
            self.triggered = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):  # noqa: D102
        self.epoch_s.append(time.perf_counter() - self._epoch_start)
        if time.monotonic() >= self.deadline:
            self.triggered = True
            self.model.stop_training = True


def _floats(values) -> list[float]:
    return [float(v) for v in values]


def _last_line(message: str | None) -> str:
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return lines[-1][:500] if lines else "trial failed"


def hook_payload(record: dict, family: str) -> dict:
    """What progress listeners receive in ``on_trial_end`` for one trial record."""
    payload = {key: record.get(key) for key in ("trial", "score", "status", "params", "time_s", "epochs",
                                                 "stopped_early", "val_loss", "error")}
    payload["family"] = family
    return payload


def trial_params(values: dict) -> dict:
    """The trial's hyperparameters without KerasTuner's bookkeeping (``tuner/...``)."""
    return {k: v for k, v in values.items() if not str(k).startswith("tuner/")}


# -- the hypermodel wrapper ------------------------------------------------------------------
class EngineHyperModel(kt.HyperModel):
    """The user's hypermodel inside the engine's trial (public ``HyperModel.build`` / ``fit``).

    ``build`` seeds Keras (after KerasTuner has cleared the session, which
    forgets the seed) and, for a promoted Hyperband trial, loads the parent's
    best checkpoint. ``fit`` adds the engine's callbacks, checks the losses
    and scores the network.
    """

    def __init__(self, hypermodel, tuner: "SearchTuner | None" = None):
        super().__init__()
        self.inner = hypermodel if isinstance(hypermodel, kt.HyperModel) else None
        self.build_fn = hypermodel.build if hasattr(hypermodel, "build") else hypermodel
        self.tuner = tuner

    def declare_hyperparameters(self, hp):  # noqa: D102
        if self.inner is not None:
            self.inner.declare_hyperparameters(hp)

    def build(self, hp):  # noqa: D102
        tuner = self.tuner
        seed = tuner._seed if tuner is not None else 0
        keras.utils.set_random_seed(int(seed) % (2 ** 31))
        with warnings.catch_warnings():
            # Hyperband restores a parent's weights into a fresh optimizer: expected, not a problem.
            warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
            model = self.build_fn(hp)
            parent = tuner._promote_from if tuner is not None else None
            if parent is not None and isinstance(model, keras.Model):
                kt_adapter.restore_checkpoint(tuner, model, parent)
        return model

    def fit(self, hp, model, *args, **kwargs):  # noqa: D102
        tuner = self.tuner
        if tuner is None or tuner._trial is None:
            return model.fit(*args, **kwargs) if self.inner is None else self.inner.fit(hp, model, *args, **kwargs)
        return tuner._train(hp, model, self, *args, **kwargs)


# -- the tuner -------------------------------------------------------------------------------
class SearchTuner(kt_adapter.TunerInternals, kt.Tuner):
    """KerasTuner ``Tuner`` that runs one engine trial per ``run_trial`` (see the module docstring).

    Parameters
    ----------
    context : SearchContext
    **kwargs
        ``kt.Tuner`` arguments (``oracle``, ``hypermodel``, ``directory``, ``project_name``, ``overwrite``, ...).
    """

    def __init__(self, context: SearchContext, *, hypermodel, **kwargs):
        # set before KerasTuner's __init__, which builds the hypermodel to learn its space
        self.ctx = context
        self.records: dict[str, dict] = {}
        self.models: dict[str, Any] = {}
        self._pending: dict[str, dict] = {}
        self._trial = None
        self._trial_started = 0.0
        self._seed = context.seed
        self._promote_from = None
        self.distributed = None  # a worker's DistributedConfig (make_tuner sets it)
        wrapped = EngineHyperModel(hypermodel, self)
        super().__init__(hypermodel=wrapped, **kwargs)

    # records --------------------------------------------------------------------------------
    def _record_path(self, trial_id: str) -> Path:
        return Path(self.get_trial_dir(trial_id)) / RECORD_FILE

    def read_record(self, trial_id: str) -> dict | None:
        """The record of ``trial_id`` as written to its trial folder, or None."""
        try:
            return json.loads(self._record_path(trial_id).read_text())
        except (OSError, ValueError):
            return None

    def load_records(self) -> None:
        """Read the records of trials finished in earlier sessions of this project."""
        for trial_id, trial in self.oracle.trials.items():
            if trial.status not in (_COMPLETED, "FAILED", "INVALID"):
                continue
            record = self.read_record(trial_id)
            if record is not None:
                record["resumed"] = True
                self.records[trial_id] = record
                continue
            self.records[trial_id] = self._orphan_record(trial)

    def _orphan_record(self, trial) -> dict:
        """A record for a trial KerasTuner finished but whose own record was lost (killed in between)."""
        record = {"trial": trial.trial_id, "params": trial_params(trial.hyperparameters.values), "time_s": float("nan"),
                  "epochs": 0, "stopped_early": False, "best_epoch": 0, "val_loss": float("nan"),
                  "history": {}, "error": "", "stop_reason": "unknown", "resumed": True,
                  "planned_epochs": trial.hyperparameters.values.get("tuner/epochs")}
        if trial.status == _COMPLETED:
            try:
                kept = self._wrap(self.load_model(trial))
                record.update(status="ok", score=float(self.ctx.score(kept, float(trial.score))),
                              val_loss=float(trial.score))
            except Exception as exc:  # a checkpoint that cannot be read makes the trial unusable
                record.update(status="failed", score=float("nan"), error=f"{type(exc).__name__}: {exc}")
        else:
            record.update(status="failed", score=float("nan"), error=_last_line(trial.message))
        return record

    def _wrap(self, model):
        return self.ctx.wrap(model) if self.ctx.wrap is not None else model

    # the search ------------------------------------------------------------------------------
    @property
    def is_worker(self) -> bool:
        """True when this tuner's oracle is a client of a chief's."""
        return kt_adapter.is_client(self.oracle)

    def run(self, *fit_args, **fit_kwargs) -> str:
        """KerasTuner's ``search`` until the oracle stops it; returns (and sets) ``ctx.stop_reason``.

        A worker whose chief cannot be reached stops with ``oracle_unavailable``
        (and a :class:`~automl.errors.SearchWarning`). ``KeyboardInterrupt``
        propagates: the caller keeps what finished.
        """
        ctx = self.ctx
        fit_kwargs.setdefault("verbose", 0)
        try:
            # KerasTuner's search() reads KERASTUNER_* too (a "chief" id would start its blocking server):
            # they say what automl decided, whatever the process environment holds
            with kt_environment(self.distributed):
                self.search(*fit_args, **fit_kwargs)
        except OracleUnavailable as exc:
            if not self.is_worker:
                raise
            ctx.stop_reason = "oracle_unavailable"
            warn(f"Worker {self.tuner_id} stopped: {exc}. The chief has ended the search or cannot be reached.",
                 SearchWarning)
            return ctx.stop_reason
        if ctx.stop_reason:
            return ctx.stop_reason
        if self.is_worker:
            ctx.stop_reason = "finished"
        else:
            ctx.stop_reason = self.stop_reason()
        if ctx.stop_reason == "failures":
            warn(f"{ctx.family} search stopped after repeated failed trials ({self.oracle.failure_note}); see the "
                 "trials table for each trial's error.", SearchWarning)
        return ctx.stop_reason

    def stop_reason(self) -> str:
        """Why the (local) oracle stopped: ``budget``, ``failures``, ``max_trials`` or ``exhausted``."""
        oracle = self.oracle
        if oracle.stop_reason in ("budget", "failures"):
            return oracle.stop_reason
        if oracle.max_trials and len(oracle.trials) >= oracle.max_trials:
            return "max_trials"
        return oracle.stop_reason or "exhausted"

    def pre_create_trial(self):  # noqa: D102
        if self.ctx.role == "worker":
            self._follow_chief()

    def _follow_chief(self) -> None:
        """A worker re-reads the chief's announcement: the deadline may have moved."""
        ctx = self.ctx
        info = read_announcement(Path(ctx.project_dir))
        if info is not None and not info.get("finished"):
            ctx.deadline = time.monotonic() + (float(info["deadline_unix"]) - time.time())

    def on_trial_begin(self, trial):  # noqa: D102
        self._trial_started = time.perf_counter()
        self.ctx.ran.append(trial.trial_id)
        super().on_trial_begin(trial)

    # one trial -----------------------------------------------------------------------------
    def run_trial(self, trial, *args, **kwargs):
        """Train and score one configuration; KerasTuner keeps its best checkpoint and reports the objective."""
        ctx = self.ctx
        hp = trial.hyperparameters
        try:
            number = int(trial.trial_id)
        except ValueError:
            number = zlib.crc32(str(trial.trial_id).encode()) % 10_000  # stable across processes
        self._seed = ctx.seed * 1000 + number
        if "tuner/epochs" in hp.values:  # Hyperband's rung (as KerasTuner's Hyperband.run_trial)
            kwargs["epochs"] = hp.values["tuner/epochs"]
            kwargs["initial_epoch"] = hp.values["tuner/initial_epoch"]
        self._trial = trial
        self._promote_from = hp.values.get("tuner/trial_id")
        try:
            return super().run_trial(trial, *args, **kwargs)
        finally:
            self._trial = None
            self._promote_from = None

    def _train(self, hp, model, hypermodel: EngineHyperModel, *args, **kwargs):
        """The engine's part of one trial, called from :meth:`EngineHyperModel.fit`."""
        ctx = self.ctx
        trial = self._trial
        self._promote_from = None  # built: later builds (loading a checkpoint) are not promotions
        pending = self._pending.setdefault(trial.trial_id, {})
        first = ctx.finish_first and not any(r.get("status") == "ok" for r in self.records.values())
        guard = TrainingGuard(math.inf if first else ctx.deadline)
        early = keras.callbacks.EarlyStopping(monitor=ctx.objective, patience=ctx.patience, min_delta=ctx.min_delta,
                                              restore_best_weights=True)
        callbacks = [guard, early]
        if ctx.reduce_lr:
            callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=ctx.objective, factor=0.5,
                                                               patience=max(1, ctx.patience // 2), min_lr=1e-6,
                                                               verbose=0))
        kwargs["callbacks"] = list(kwargs.get("callbacks", [])) + callbacks
        if "batch_size" in hp.values or ctx.batch_size:
            batch_size = int(hp.values.get("batch_size", ctx.batch_size))
            kwargs["batch_size"] = batch_size
            kwargs["validation_batch_size"] = max(batch_size, 2048)
        kwargs["verbose"] = 0
        if ctx.feed is not None:
            # batches gathered from the shared matrix (on the device when it was placed there)
            batch_size = int(kwargs.pop("batch_size", None) or 256)
            validation = ctx.feed.validation(int(kwargs.pop("validation_batch_size", None) or max(batch_size, 2048)))
            for key in ("shuffle", "class_weight", "validation_data", "x", "y"):
                kwargs.pop(key, None)  # the feed shuffles and weights its rows itself
            args = (ctx.feed.train(batch_size, seed=self._seed),)
            if validation is not None:
                kwargs["validation_data"] = validation
        initial_epoch = int(kwargs.get("initial_epoch", 0))
        pending["planned_epochs"] = int(kwargs.get("epochs", 1)) - initial_epoch

        if hypermodel.inner is not None:
            results = hypermodel.inner.fit(hp, model, *args, **kwargs)
        else:
            results = model.fit(*args, **kwargs)

        raw = results.history if isinstance(results, keras.callbacks.History) else getattr(
            getattr(model, "history", None), "history", {}) or {}
        history = {str(k): _floats(v) for k, v in raw.items()}
        loss = np.asarray(history.get("loss", []), dtype=float)
        objective = np.asarray(history.get(ctx.objective, []), dtype=float)
        bad = np.flatnonzero(~np.isfinite(loss)) if loss.size else np.array([], dtype=int)
        if guard.non_finite or bad.size or (objective.size and not np.isfinite(objective).any()):
            epoch = int(bad[0]) if bad.size else len(loss)
            pending.update(history=history, epochs=len(loss), stop_reason="nan")
            raise kt.errors.FailedTrialError(
                f"Non-finite training loss (NaN or inf) at epoch {initial_epoch + epoch + 1}; "
                "often a learning rate too high for this network.")

        local_best = int(np.nanargmin(objective)) if objective.size and np.isfinite(objective).any() else len(loss) - 1
        best_value = float(objective[local_best]) if objective.size else float("nan")
        kept = self._wrap(model)
        score = float(ctx.score(kept, best_value))
        if not math.isfinite(score):
            raise kt.errors.FailedTrialError(f"Validation score is not finite ({score}).")

        # Hyperband continues a parent trial from its best checkpoint: prepend the
        # parent's curve up to that epoch so the history shows the whole training.
        prefix: dict[str, list[float]] = {}
        parent = hp.values.get("tuner/trial_id")
        p = self._parent_record(parent)
        if p is not None and p.get("history"):
            cut = int(p.get("best_epoch", 0)) + 1
            prefix = {k: list(v[:cut]) for k, v in p["history"].items()}
        offset = len(prefix.get("loss", []))
        full = {k: prefix.get(k, [float("nan")] * offset if offset else []) + v for k, v in history.items()}
        stopped_early = bool(early.stopped_epoch > 0)
        pending.update(
            score=score, history=full, epochs=len(full.get("loss", [])), epochs_trained=len(loss),
            initial_epoch=offset, best_epoch=offset + max(local_best, 0), stopped_early=stopped_early,
            val_loss=best_value,
            stop_reason="early_stopping" if stopped_early else ("budget" if guard.triggered else "epochs"),
            # the first epoch pays for tracing; later ones show the steady speed
            epoch_s=float(np.median(guard.epoch_s[1:] if len(guard.epoch_s) > 1 else guard.epoch_s or [np.nan])),
            parent_trial=parent,
        )
        self._keep(trial.trial_id, score, kept)
        return results

    def _parent_record(self, parent: str | None) -> dict | None:
        # A distributed worker may promote a trial another worker ran: its record is in the shared directory.
        if parent is None:
            return None
        if parent not in self.records:
            return self.read_record(parent)
        return self.records[parent]

    def _keep(self, trial_id: str, score: float, kept) -> None:
        self.models[trial_id] = kept
        scored = {t: self._pending.get(t, self.records.get(t, {})).get("score", -np.inf) for t in self.models}
        keep = sorted(scored, key=lambda t: scored[t], reverse=True)[: self.ctx.top_k]
        for t in list(self.models):
            if t not in keep:
                del self.models[t]

    def on_trial_end(self, trial):  # noqa: D102
        pending = self._pending.pop(trial.trial_id, {})
        ok = trial.status == _COMPLETED and math.isfinite(pending.get("score", float("nan")))
        record = {
            "trial": trial.trial_id,
            "score": float(pending["score"]) if ok else float("nan"),
            "status": "ok" if ok else "failed",
            "params": trial_params(trial.hyperparameters.values),
            "time_s": round(time.perf_counter() - self._trial_started, 3),
            "epochs": int(pending.get("epochs", 0)),
            "epochs_trained": int(pending.get("epochs_trained", pending.get("epochs", 0))),
            "planned_epochs": pending.get("planned_epochs"),
            "initial_epoch": int(pending.get("initial_epoch", 0)),
            "stopped_early": bool(pending.get("stopped_early", False)),
            "stop_reason": pending.get("stop_reason", "error") if ok else (
                "nan" if pending.get("stop_reason") == "nan" else "error"),
            "best_epoch": int(pending.get("best_epoch", 0)),
            "val_loss": float(pending.get("val_loss", float("nan"))),
            "epoch_s": float(pending.get("epoch_s", float("nan"))),
            "history": pending.get("history", {}),
            "error": "" if ok else _last_line(trial.message),
            "parent_trial": pending.get("parent_trial"),
            "resumed": False,
            "worker": self.tuner_id if self.ctx.role else None,
        }
        if not ok:
            self.models.pop(trial.trial_id, None)
        self.records[trial.trial_id] = record
        with atomic_file(self._record_path(trial.trial_id)) as handle:
            json.dump(record, handle, default=float)  # before the oracle's save: a resume never lacks it
        try:
            super().on_trial_end(trial)  # the oracle records the trial and saves its state
        finally:
            # listeners hear of a trial only once it is safely on disk
            if self.ctx.hooks is not None:
                self.ctx.hooks.on_trial_end(hook_payload(record, self.ctx.family))

    def save(self):  # noqa: D102 - as BaseTuner.save, written atomically; a worker's oracle is the chief's
        if not self.is_worker:
            self.oracle.save()
        kt_adapter.write_tuner_state(self)

    def load_model(self, trial):  # noqa: D102 - KerasTuner's, without the optimizer-state warning
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
            return super().load_model(trial)

    def kept(self, trial_id: str):
        """What ``ctx.wrap`` made of ``trial_id``'s network: kept in memory, or rebuilt from its best checkpoint."""
        if trial_id not in self.models:
            self.models[trial_id] = self._wrap(self.load_model(self.oracle.get_trial(trial_id)))
        return self.models[trial_id]


def make_tuner(kind: str, hypermodel, context: SearchContext, *, directory, project_name: str,
               overwrite: bool, max_trials: int | None, max_epochs: int = 100, factor: int = 3, min_epochs: int = 1,
               seed: int = 0, max_consecutive_failed_trials: int = 5, distributed=None) -> SearchTuner:
    """Build (or reload) the tuner ``kind`` for one project directory.

    Parameters
    ----------
    kind : {'hyperband', 'bayesian', 'random'}
    hypermodel : keras_tuner.HyperModel or callable
        ``build(hp)`` returns a compiled ``keras.Model``.
    context : SearchContext
    distributed : automl.search.distributed.DistributedConfig, optional
        A ``worker`` gets, from KerasTuner itself (``KERASTUNER_*`` variables set
        while the tuner is built), a client of the chief's oracle.

    Returns
    -------
    SearchTuner
        With ``records`` of trials finished in earlier sessions already loaded
        (a worker's records live with the chief).
    """
    objective = kt.Objective(context.objective, "min")
    common = dict(objective=objective, seed=seed + 1, max_consecutive_failed_trials=_NEVER)
    if kind == "hyperband":
        oracle = _HyperbandOracle(max_epochs=max_epochs, factor=factor, hyperband_iterations=1000,
                                  min_epochs=min_epochs, **common)
    elif kind == "bayesian":
        oracle = _BayesianOracle(max_trials=max_trials or 1000, num_initial_points=5, **common)
    elif kind == "random":
        oracle = _RandomOracle(max_trials=max_trials or 1000, **common)
    else:
        raise ValueError(f"unknown tuner {kind!r}; use one of {TUNERS}")
    if max_trials:
        oracle.max_trials = int(max_trials)
    oracle.max_failures = int(max_consecutive_failed_trials)
    oracle.min_trial_s = context.min_trial_s
    oracle.min_trial_share = context.min_trial_share
    oracle.finish_first = context.finish_first
    oracle.stop_at = context.deadline
    worker = context.role == "worker"
    # KerasTuner prints "Reloading Tuner from ..." and trial banners: keep notebooks clean.
    with kt_environment(distributed if worker else None), contextlib.redirect_stdout(io.StringIO()):
        tuner = SearchTuner(context, oracle=oracle, hypermodel=hypermodel, directory=str(directory),
                            project_name=project_name, overwrite=overwrite and not worker,
                            tuner_id=context.worker_id or None)
    if worker:
        if not tuner.is_worker:
            raise RuntimeError("KerasTuner did not connect this worker's tuner to the chief's oracle; "
                               f"keras-tuner {kt.__version__} is not supported ({kt_adapter.SUPPORTED}).")
        kt_adapter.harden_client(tuner.oracle, distributed.address, distributed.rpc_timeout_s)
        tuner.distributed = distributed
        return tuner
    oracle.verbose = 0
    tuner.load_records()
    return tuner
