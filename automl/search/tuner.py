"""KerasTuner tuners that respect a deadline, guard every trial against overfitting and keep records.

The Oracle (Hyperband, Bayesian optimisation or random search) proposes the
hyperparameters; :class:`SearchTunerMixin` runs one trial: it seeds Keras,
builds the network, trains it with early stopping (best weights restored),
learning-rate reduction on plateaus, a NaN guard and a deadline, scores it on
the validation rows by the task's metric, and writes one JSON record per trial
next to KerasTuner's own files so that a resumed search knows every finished
trial without re-running it.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import time
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from ..errors import SearchWarning, warn
from ..models.base import score_predictor
from ..persist import atomic_file
from .predictor import KerasPredictor

__all__ = ["SearchContext", "TrainingGuard", "make_tuner", "hook_payload", "TUNERS", "RECORD_FILE"]

TUNERS = ("hyperband", "bayesian", "random")
RECORD_FILE = "automl_trial.json"
_COMPLETED = kt.engine.trial.TrialStatus.COMPLETED
_STOPPED = kt.engine.trial.TrialStatus.STOPPED
_IDLE = kt.engine.trial.TrialStatus.IDLE
_RUNNING = kt.engine.trial.TrialStatus.RUNNING


@dataclass
class SearchContext:
    """What a trial needs besides its hyperparameters (set by the family, not saved by KerasTuner).

    Attributes
    ----------
    task, metric : str
    n_classes : int
    X_val : ndarray, float32
    y_val : ndarray
        Validation targets in original units (for the metric).
    y_mean, y_std : float
        Regression target scaling used for training.
    deadline : float
        ``time.monotonic()`` time at which training must stop.
    seed : int
    batch_size : int
        Used when the trial's hyperparameters have no ``batch_size``.
    patience : int
        Early-stopping patience in epochs (learning-rate patience is about half).
    top_k : int
        Networks kept in memory (the others are reloaded from checkpoints if needed).
    hooks : object
        Progress listeners (``on_trial_end``).
    family : str
    """

    task: str
    metric: str
    n_classes: int
    X_val: np.ndarray
    y_val: np.ndarray
    y_mean: float
    y_std: float
    deadline: float
    seed: int
    batch_size: int
    patience: int
    top_k: int
    hooks: Any
    family: str = "neural_network"
    min_trial_s: float = 1.5
    stop_reason: str = ""
    ran: list[str] = field(default_factory=list)
    # distributed search (automl.distributed): "" (one process), "chief" or "worker"
    role: str = ""
    worker_id: str = ""
    # a worker's view of the chief's announcement (deadline, finished flag), re-read before each trial
    project_dir: str = ""


# -- oracles ---------------------------------------------------------------------------------
def _write_json(path, obj) -> None:
    """Write JSON atomically: a search killed mid-save must leave the previous state readable."""
    with atomic_file(path) as handle:
        json.dump(obj, handle)


class _DefaultsFirst:
    """Oracle mixin: defaults first, state files written atomically, an optional deadline.

    The very first trial uses the space's defaults, a proven warm start. KerasTuner
    writes its JSON state in place; a search killed at that moment could not be
    resumed, so every write here goes through a temporary file and a rename.

    ``stop_at`` (a ``time.monotonic()`` time, set by a distributed chief) makes
    the oracle answer "search over" to workers asking for a trial that could not
    do useful work before it: less than ``min_trial_s`` or 30% of the median
    trial so far left. A single-process search checks its deadline itself.
    """

    stop_at: float | None = None
    min_trial_s: float = 1.5

    def populate_space(self, trial_id):  # noqa: D102
        if self.stop_at is not None:
            durations = list(getattr(self, "_durations", {}).values())
            need = max(self.min_trial_s, 0.3 * float(np.median(durations))) if durations else self.min_trial_s
            if time.monotonic() + need > self.stop_at:
                return {"status": _STOPPED, "values": None}
        return super().populate_space(trial_id)

    def create_trial(self, tuner_id):  # noqa: D102
        trial = super().create_trial(tuner_id)
        if trial.status == _RUNNING:
            self.__dict__.setdefault("_begun", {})[trial.trial_id] = time.monotonic()
        return trial

    def end_trial(self, trial):  # noqa: D102
        begun = self.__dict__.get("_begun", {}).pop(trial.trial_id, None)
        if begun is not None:
            self.__dict__.setdefault("_durations", {})[trial.trial_id] = time.monotonic() - begun
        return super().end_trial(trial)

    def save(self):  # noqa: D102
        _write_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        _write_json(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"), trial.get_state())

    def _random_values(self):
        if not self.trials:
            hps = kt.HyperParameters()
            for hp in self.hyperparameters.space:
                hps.merge([hp])
                if hps.is_active(hp):
                    hps.values[hp.name] = hp.default
            if not self._duplicate(hps.values):
                return hps.values
        return super()._random_values()


class _HyperbandOracle(_DefaultsFirst, kt.oracles.HyperbandOracle):
    """Hyperband whose smallest rung trains ``min_epochs`` (KerasTuner fixes it at 1).

    One-epoch trials tell little about a network on small tables, and each
    trial pays seconds of graph building, so tight budgets want fewer, longer
    rungs.
    """

    def __init__(self, *args, min_epochs: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.min_epochs = max(1, int(min_epochs))
        self._current_bracket = self._get_num_brackets() - 1
        self._brackets = []
        self._start_new_bracket()


class _RandomOracle(_DefaultsFirst, kt.oracles.RandomSearchOracle):
    """Random search, defaults first."""


class _BayesianOracle(_DefaultsFirst, kt.oracles.BayesianOptimizationOracle):
    """Gaussian-process Bayesian optimisation, defaults first."""


# -- callbacks -------------------------------------------------------------------------------
class TrainingGuard(keras.callbacks.Callback):
    """Stop training at a monotonic deadline or on a non-finite loss, checked after every step.

    Keras' ``TerminateOnNaN`` does the second part too but prints to stdout.
    """

    def __init__(self, deadline: float):
        super().__init__()
        self.deadline = deadline
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
        if time.monotonic() >= self.deadline:
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


# -- the tuner -------------------------------------------------------------------------------
class SearchTunerMixin:
    """Shared trial logic for the three tuners (see the module docstring)."""

    def _setup(self, context: SearchContext) -> None:
        self.ctx = context
        self.records: dict[str, dict] = {}
        self.models: dict[str, KerasPredictor] = {}
        self._pending: dict[str, dict] = {}
        self._trial_started = 0.0
        self._seed = context.seed

    # records --------------------------------------------------------------------------------
    def _record_path(self, trial_id: str) -> Path:
        return Path(self.get_trial_dir(trial_id)) / RECORD_FILE

    def load_records(self) -> None:
        """Read the records of trials finished in earlier sessions of this project."""
        for trial_id, trial in self.oracle.trials.items():
            if trial.status not in (_COMPLETED, "FAILED", "INVALID"):
                continue
            path = self._record_path(trial_id)
            if path.is_file():
                try:
                    record = json.loads(path.read_text())
                except ValueError:
                    record = None
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
                predictor = self._predictor(self.load_model(trial))
                record.update(status="ok", score=self._score(predictor), val_loss=float(trial.score))
            except Exception as exc:  # a checkpoint that cannot be read makes the trial unusable
                record.update(status="failed", score=float("nan"), error=f"{type(exc).__name__}: {exc}")
        else:
            record.update(status="failed", score=float("nan"), error=_last_line(trial.message))
        return record

    def _predictor(self, model) -> KerasPredictor:
        ctx = self.ctx
        return KerasPredictor(model, ctx.task, ctx.n_classes, ctx.y_mean, ctx.y_std)

    def _score(self, predictor: KerasPredictor) -> float:
        ctx = self.ctx
        return float(score_predictor(predictor, ctx.X_val, ctx.y_val, ctx.task, ctx.metric))

    # search loop ----------------------------------------------------------------------------
    def _is_worker(self):
        # KerasTuner asks its environment variables; automl's role may come from arguments instead.
        ctx = getattr(self, "ctx", None)
        return ctx is not None and ctx.role == "worker"

    def _follow_chief(self) -> bool:
        """A worker re-reads the chief's announcement: the deadline may move, the search may be over."""
        from ..distributed import read_announcement

        ctx = self.ctx
        info = read_announcement(Path(ctx.project_dir))
        if info is None:
            return True  # being rewritten, or a shared filesystem hiccup: the oracle still decides
        if info.get("finished"):
            ctx.stop_reason = "finished"
            return False
        ctx.deadline = time.monotonic() + (float(info["deadline_unix"]) - time.time())
        return True

    def _may_start_trial(self) -> bool:
        ctx = self.ctx
        if ctx.role == "worker":
            # The chief's oracle knows the deadline and answers "stop"; asking it also tells it
            # that this worker is done, which the chief waits for before it collects.
            return self._follow_chief()
        left = ctx.deadline - time.monotonic()
        done = [self.records[t]["time_s"] for t in ctx.ran if t in self.records
                and self.records[t]["status"] == "ok"]
        # A trial cut by the deadline still yields its best epoch, but one that
        # cannot get past graph building and a few epochs is wasted time.
        need = max(ctx.min_trial_s, 0.3 * float(np.median(done))) if done else ctx.min_trial_s
        if left < need:
            ctx.stop_reason = "budget"
            return False
        return True

    def search(self, *fit_args, **fit_kwargs):
        """Run trials until the oracle stops, ``max_trials`` is reached or the deadline nears.

        Mirrors :meth:`keras_tuner.engine.base_tuner.BaseTuner.search` with a
        budget check before each new trial. A distributed worker asks the
        chief's oracle for trials and stops when it answers that the search is
        over (or cannot be reached: ``stop_reason == "oracle_unavailable"``).
        """
        from ..distributed import OracleUnavailable

        worker = self.ctx.role == "worker"
        if not worker:
            self.oracle.verbose = 0
        self.on_search_begin()
        idle = 0
        try:
            while self._may_start_trial():
                trial = self.oracle.create_trial(self.tuner_id)
                if trial.status == _STOPPED:
                    if worker:
                        self.ctx.stop_reason = "finished"
                        break
                    limit = self.oracle.max_trials
                    self.ctx.stop_reason = "max_trials" if limit and len(self.oracle.trials) >= limit else "exhausted"
                    break
                if trial.status == _IDLE:
                    if worker:  # other workers still run the trials the oracle waits for
                        time.sleep(0.5)
                        continue
                    idle += 1
                    if idle > 3:  # single worker: nothing else will finish a pending trial
                        self.ctx.stop_reason = "exhausted"
                        break
                    continue
                idle = 0
                self.on_trial_begin(trial)
                self._try_run_and_update_trial(trial, *fit_args, **fit_kwargs)
                self.on_trial_end(trial)
        except OracleUnavailable as exc:
            if not worker:
                raise
            self.ctx.stop_reason = "oracle_unavailable"
            warn(f"Worker {self.tuner_id} stopped: {exc}. The chief has ended the search or cannot be reached.",
                 SearchWarning)
        self.on_search_end()

    def on_trial_begin(self, trial):  # noqa: D102
        self._trial_started = time.perf_counter()
        self.ctx.ran.append(trial.trial_id)
        super().on_trial_begin(trial)

    # one trial -----------------------------------------------------------------------------
    def _try_run_and_update_trial(self, trial, *fit_args, **fit_kwargs):
        # As KerasTuner's, minus printing every traceback: the message is kept in the record.
        try:
            self._run_and_update_trial(trial, *fit_args, **fit_kwargs)
            trial.status = _COMPLETED
        except Exception as exc:  # noqa: BLE001 - one failed trial must not end the search
            from ..distributed import OracleUnavailable

            if isinstance(exc, (kt.errors.FatalError, OracleUnavailable)):
                raise
            trial.status = "FAILED" if isinstance(exc, kt.errors.FailedTrialError) else "INVALID"
            trial.message = traceback.format_exc()

    def _try_build(self, hp):
        # KerasTuner clears the session here too; seeding must come after it,
        # because clearing also forgets the global Keras seed.
        keras.backend.clear_session()
        keras.utils.set_random_seed(int(self._seed) % (2 ** 31))
        with warnings.catch_warnings():
            # Hyperband restores a parent's weights into a fresh optimizer: expected, not a problem.
            warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
            model = self._build_hypermodel(hp)
        if not isinstance(model, keras.Model):
            raise kt.errors.FatalTypeError(
                f"The hypermodel's build() must return a keras.Model; got {type(model).__name__}.")
        return model

    def _build_and_fit_model(self, trial, *args, **kwargs):
        ctx = self.ctx
        hp = trial.hyperparameters
        try:
            number = int(trial.trial_id)
        except ValueError:
            number = zlib.crc32(str(trial.trial_id).encode()) % 10_000  # stable across processes
        self._seed = ctx.seed * 1000 + number
        pending = self._pending.setdefault(trial.trial_id, {})
        model = self._try_build(hp)

        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=ctx.patience, restore_best_weights=True)
        plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5,
                                                    patience=max(1, ctx.patience // 2), min_lr=1e-6, verbose=0)
        guard = TrainingGuard(ctx.deadline)
        kwargs["callbacks"] = list(kwargs.get("callbacks", [])) + [guard, early, plateau]
        batch_size = int(hp.values.get("batch_size", ctx.batch_size))
        kwargs["batch_size"] = batch_size
        kwargs["validation_batch_size"] = max(batch_size, 2048)
        kwargs["verbose"] = 0
        initial_epoch = int(kwargs.get("initial_epoch", 0))
        planned = int(kwargs.get("epochs", 1)) - initial_epoch
        pending["planned_epochs"] = planned

        results = self.hypermodel.fit(hp, model, *args, **kwargs)
        # Hyperband rebuilds promoted trials from this (KerasTuner's own method does the same).
        _write_json(self._get_build_config_fname(trial.trial_id), model.get_build_config())

        raw = results.history if isinstance(results, keras.callbacks.History) else getattr(
            getattr(model, "history", None), "history", {}) or {}
        history = {str(k): _floats(v) for k, v in raw.items()}
        loss = np.asarray(history.get("loss", []), dtype=float)
        val_loss = np.asarray(history.get("val_loss", []), dtype=float)
        bad = np.flatnonzero(~np.isfinite(loss)) if loss.size else np.array([], dtype=int)
        if guard.non_finite or bad.size or (val_loss.size and not np.isfinite(val_loss).any()):
            epoch = int(bad[0]) if bad.size else len(loss)
            pending.update(history=history, epochs=len(loss), stop_reason="nan")
            raise kt.errors.FailedTrialError(
                f"Non-finite training loss (NaN or inf) at epoch {initial_epoch + epoch + 1}; "
                "often a learning rate too high for this network.")

        predictor = self._predictor(model)
        score = self._score(predictor)
        if not math.isfinite(score):
            raise kt.errors.FailedTrialError(f"Validation {ctx.metric} is not finite ({score}).")

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
        local_best = int(np.nanargmin(val_loss)) if val_loss.size and np.isfinite(val_loss).any() else len(loss) - 1
        stopped_early = bool(early.stopped_epoch > 0)
        pending.update(
            score=score, history=full, epochs=len(full.get("loss", [])), epochs_trained=len(loss),
            initial_epoch=offset, best_epoch=offset + max(local_best, 0), stopped_early=stopped_early,
            val_loss=float(val_loss[local_best]) if val_loss.size else float("nan"),
            stop_reason="early_stopping" if stopped_early else ("budget" if guard.triggered else "epochs"),
            # the first epoch pays for tracing; later ones show the steady speed
            epoch_s=float(np.median(guard.epoch_s[1:] if len(guard.epoch_s) > 1 else guard.epoch_s or [np.nan])),
            parent_trial=parent,
        )
        self._keep(trial.trial_id, score, predictor)
        return results

    def _parent_record(self, parent: str | None) -> dict | None:
        # A distributed worker may promote a trial another worker ran: its record is in the shared directory.
        if parent is None:
            return None
        if parent not in self.records:
            try:
                return json.loads(self._record_path(parent).read_text())
            except (OSError, ValueError):
                return None
        return self.records[parent]

    def _keep(self, trial_id: str, score: float, predictor: KerasPredictor) -> None:
        self.models[trial_id] = predictor
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
            self.ctx.hooks.on_trial_end(hook_payload(record, self.ctx.family))

    def save(self):  # noqa: D102 - as BaseTuner.save, written atomically
        if not self._is_worker():  # a worker's oracle is the chief's, saved there
            self.oracle.save()
        _write_json(self._get_tuner_fname(), self.get_state())

    def load_model(self, trial):  # noqa: D102 - KerasTuner's, without the optimizer-state warning
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Skipping variable loading for optimizer.*")
            return super().load_model(trial)

    def predictor_for(self, trial_id: str) -> KerasPredictor:
        """The trained network of ``trial_id``: kept in memory, or rebuilt from its best checkpoint."""
        if trial_id not in self.models:
            self.models[trial_id] = self._predictor(self.load_model(self.oracle.get_trial(trial_id)))
        return self.models[trial_id]


class HyperbandSearch(SearchTunerMixin, kt.Hyperband):
    """Hyperband (successive halving over epochs) with automl's trial logic."""


class BayesianSearch(SearchTunerMixin, kt.BayesianOptimization):
    """Bayesian optimisation with automl's trial logic."""


class RandomSearch(SearchTunerMixin, kt.RandomSearch):
    """Random search with automl's trial logic."""


def make_tuner(kind: str, hypermodel, context: SearchContext, *, directory: Path, project_name: str,
               overwrite: bool, max_trials: int | None, max_epochs: int, factor: int = 3, min_epochs: int = 1,
               seed: int = 0, max_consecutive_failed_trials: int = 5, distributed=None):
    """Build (or reload) the tuner ``kind`` for one project directory.

    ``distributed`` (a :class:`automl.distributed.DistributedConfig`) with role
    ``worker`` gives the tuner a client of the chief's oracle instead of its own.

    Returns
    -------
    SearchTunerMixin
        With ``records`` of trials finished in earlier sessions already loaded.
    """
    common = dict(objective=kt.Objective("val_loss", "min"), seed=seed + 1,
                  max_consecutive_failed_trials=max_consecutive_failed_trials)
    if kind == "hyperband":
        oracle = _HyperbandOracle(max_epochs=max_epochs, factor=factor, hyperband_iterations=1000,
                                  min_epochs=min_epochs, **common)
        cls = HyperbandSearch
    elif kind == "bayesian":
        oracle = _BayesianOracle(max_trials=max_trials or 1000, num_initial_points=5, **common)
        cls = BayesianSearch
    else:
        oracle = _RandomOracle(max_trials=max_trials or 1000, **common)
        cls = RandomSearch
    if max_trials:
        oracle.max_trials = int(max_trials)
    tuner = cls.__new__(cls)
    tuner._setup(context)
    # KerasTuner prints "Reloading Tuner from ..." and trial banners: keep notebooks clean.
    with contextlib.redirect_stdout(io.StringIO()):
        kt.Tuner.__init__(tuner, oracle=oracle, hypermodel=hypermodel, directory=str(directory),
                          project_name=project_name, overwrite=overwrite and context.role != "worker",
                          tuner_id=context.worker_id or None)
    # KerasTuner wraps the oracle in its gRPC client when KERASTUNER_* variables are set;
    # automl decides the role itself (automl.distributed) and makes its own client.
    oracle = getattr(tuner.oracle, "_oracle", tuner.oracle)
    tuner.oracle = oracle
    oracle.verbose = 0
    if context.role == "worker":
        from ..distributed import oracle_client

        tuner.oracle = oracle_client(oracle, distributed)
        return tuner  # the records live with the chief's oracle
    tuner.load_records()
    return tuner
