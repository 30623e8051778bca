"""Every use of KerasTuner that is not its public API, in one place.

automl's search engine (:mod:`automl.search.engine`) is built on KerasTuner's
public extension points (``Tuner.run_trial``, ``HyperModel.build/fit``,
``Oracle.populate_space/create_trial/end_trial``, ``on_trial_*`` hooks,
``FailedTrialError``, the ``KERASTUNER_*`` environment variables). A few
things it needs have no public form in keras-tuner 1.4; they live here, each
with the reason, and ``tests/test_kt_adapter.py`` checks every one of them
against the installed KerasTuner so that an incompatible release fails one
clear test instead of silently breaking a search. pyproject.toml bounds the
dependency (``keras-tuner>=1.4.7,<1.5``).

What is here, and why
---------------------
* :class:`OracleInternals` (an Oracle mixin): the oracle's JSON state written
  atomically (KerasTuner writes in place: a search killed mid-write could not
  resume), and the first trial at the space's defaults for every oracle,
  Hyperband included, whose bracket bookkeeping draws values through the
  private ``_random_values``.
* :class:`TunerInternals` (a Tuner mixin): KerasTuner builds every trial's
  model after ``keras.backend.clear_session()`` *and* a second full
  ``gc.collect()``; with TensorFlow loaded that second collection costs about
  0.6 s per trial (measured on 2 CPUs), a large share of a small-table trial.
  Its ``_try_build`` is replaced by one without the second collection.
* :func:`set_hyperband_min_epochs`: Hyperband's smallest rung trains one epoch,
  fixed in ``HyperbandOracle.__init__``.
* :func:`checkpoint_path`, :func:`build_config_path`, :func:`tuner_state_path`:
  KerasTuner's file names (a promoted Hyperband trial continues from its
  parent's checkpoint; the tuner's state file is written atomically).
* :class:`OracleServer`: KerasTuner's gRPC oracle service without its blocking
  ``start_server`` loop, so the chief fits other families meanwhile and stops
  serving when it decides. The service class is not exported by KerasTuner; it
  is resolved from the package that holds the public ``keras_tuner.Tuner``.
* :func:`harden_client`: the worker's ``OracleClient`` (created by KerasTuner
  itself from ``KERASTUNER_*``) waits an hour per call and spins on "IDLE";
  here its calls time out, raise :class:`OracleUnavailableError` and pause
  between "IDLE" answers.

Importing this module imports KerasTuner (and Keras): import it lazily.
"""

from __future__ import annotations

import importlib
import json
import os
import time

import keras_tuner as kt

from ..persist import atomic_file
from .distributed import OracleUnavailable

__all__ = ["SUPPORTED", "OracleInternals", "TunerInternals", "OracleUnavailableError", "set_hyperband_min_epochs", "checkpoint_path",
           "build_config_path", "tuner_state_path", "restore_checkpoint", "write_tuner_state", "OracleServer",
           "harden_client", "is_client", "internal_module"]

# The KerasTuner releases this module was written and tested against.
SUPPORTED = ">=1.4.7,<1.5"
# Seconds a worker waits before asking again when the oracle answers "IDLE" (other workers' trials pending).
_IDLE_PAUSE_S = 0.5


def internal_module(name: str):
    """KerasTuner's non-exported module ``name`` (e.g. ``"distribute.oracle_chief"``).

    Resolved from the package of the public ``keras_tuner.Tuner`` class, so
    that this adapter is the one place that knows where KerasTuner keeps it.
    """
    package = kt.Tuner.__module__.rsplit(".engine.", 1)[0]
    return importlib.import_module(f"{package}.{name}")


class OracleUnavailableError(OracleUnavailable, kt.errors.FatalError):
    """:class:`~automl.search.distributed.OracleUnavailable` that KerasTuner lets through.

    KerasTuner turns any other exception raised while a trial reports to the
    oracle into a failed trial and goes on; a lost chief must end the worker.
    """


def _write_json(path, obj) -> None:
    with atomic_file(path) as handle:
        json.dump(obj, handle)


class OracleInternals:
    """Oracle mixin: atomic state files and defaults-first values (private hooks of ``kt.Oracle``).

    Put it first in the bases of a ``kt.Oracle`` subclass.
    """

    def save(self):  # noqa: D102 - public method, private file name
        _write_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        _write_json(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"), trial.get_state())

    def _random_values(self):
        # Every KerasTuner oracle (Hyperband's brackets included) draws a new configuration here.
        if not self.trials:
            hps = kt.HyperParameters()
            for hp in self.hyperparameters.space:
                hps.merge([hp])
                if hps.is_active(hp):
                    hps.values[hp.name] = hp.default
            if not self._duplicate(hps.values):
                return hps.values
        return super()._random_values()


class TunerInternals:
    """Tuner mixin: build a trial's model with one garbage collection, not two (see the module docstring).

    Put it first in the bases of a ``kt.Tuner`` subclass. KerasTuner calls
    ``_try_build`` for every trial and for ``load_model``.
    """

    def _try_build(self, hp):
        import keras

        keras.backend.clear_session()  # collects garbage itself (free_memory=True)
        model = self.hypermodel.build(hp)
        if not isinstance(model, keras.Model):
            raise kt.errors.FatalTypeError(
                "The hypermodel's build() must return a keras.Model; "
                f"got {model!r} of type {type(model).__name__}.")
        return model


def set_hyperband_min_epochs(oracle, min_epochs: int) -> None:
    """Make a fresh ``HyperbandOracle``'s smallest rung train ``min_epochs`` epochs (KerasTuner fixes 1)."""
    oracle.min_epochs = max(1, int(min_epochs))
    oracle._current_bracket = oracle._get_num_brackets() - 1
    oracle._brackets = []
    oracle._start_new_bracket()


def checkpoint_path(tuner, trial_id: str) -> str:
    """Where KerasTuner keeps a trial's best-epoch weights."""
    return tuner._get_checkpoint_fname(trial_id)


def build_config_path(tuner, trial_id: str) -> str:
    """Where KerasTuner keeps a trial's model build config (Keras 3)."""
    return tuner._get_build_config_fname(trial_id)


def tuner_state_path(tuner) -> str:
    """The tuner's own state file (its existence makes a new tuner reload the project)."""
    return tuner._get_tuner_fname()


def restore_checkpoint(tuner, model, trial_id: str) -> None:
    """Load ``trial_id``'s best-epoch weights into ``model`` (as KerasTuner's Hyperband does for a promotion)."""
    if not model.built:
        with open(build_config_path(tuner, trial_id)) as handle:
            model.build_from_config(json.load(handle))
    model.load_weights(checkpoint_path(tuner, trial_id))


def write_tuner_state(tuner) -> None:
    """``BaseTuner.save``'s own file, written atomically."""
    _write_json(tuner_state_path(tuner), tuner.get_state())


def is_client(oracle) -> bool:
    """True for KerasTuner's ``OracleClient`` (a worker's proxy of the chief's oracle)."""
    return type(oracle).__name__ == "OracleClient" and hasattr(oracle, "stub")


# -- distribution ------------------------------------------------------------------------------
class OracleServer:
    """KerasTuner's ``OracleServicer`` on a gRPC server that this process can stop.

    KerasTuner's own ``start_server`` (what ``Tuner.search`` runs on the chief)
    blocks the calling thread and polls every 20 s; here the server runs in
    gRPC's threads.

    Parameters
    ----------
    oracle : keras_tuner.Oracle
    address : str
        ``host:port`` to listen on.

    Raises
    ------
    OSError
        When the address cannot be bound (the caller turns it into an InputError).
    """

    def __init__(self, oracle, address: str):
        from concurrent import futures

        import grpc

        protos = internal_module("protos")
        servicer_cls = internal_module("distribute.oracle_chief").OracleServicer
        self.oracle = oracle
        self.servicer = servicer_cls(oracle)
        # one thread, as KerasTuner: the oracle serialises its calls anyway
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        protos.get_service_grpc().add_OracleServicer_to_server(self.servicer, self.server)
        try:
            bound = self.server.add_insecure_port(address)
        except RuntimeError as exc:
            raise OSError(str(exc)) from None
        if not bound:
            raise OSError(f"could not bind {address}")
        self.server.start()
        self.started = time.monotonic()

    @property
    def stop_triggered(self) -> bool:
        """True once the oracle has told a worker that the search is over."""
        return bool(self.servicer.stop_triggered)

    def stop(self, grace: float = 2.0) -> None:
        """Stop serving (calls in flight get ``grace`` seconds)."""
        self.server.stop(grace).wait(grace + 1.0)


class _TimedStub:
    """A gRPC stub whose calls use our timeout and raise :class:`OracleUnavailableError` on any gRPC error."""

    def __init__(self, stub, timeout: float, address: str):
        self._stub = stub
        self._timeout = timeout
        self._address = address

    def __getattr__(self, name):
        import grpc

        method = getattr(self._stub, name)

        def call(request, **kwargs):
            kwargs["timeout"] = self._timeout
            try:
                return method(request, **kwargs)
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else None
                details = exc.details() if hasattr(exc, "details") else str(exc)
                raise OracleUnavailableError(f"the oracle at {self._address} did not answer {name} "
                                             f"({getattr(code, 'name', code)}: {details})") from None
        return call


def harden_client(client, address: str, timeout: float) -> None:
    """Bound every call of KerasTuner's ``OracleClient`` by ``timeout`` and pause between "IDLE" answers."""
    if not is_client(client):
        raise TypeError(f"expected KerasTuner's OracleClient, got {type(client).__name__}")
    client.stub = _TimedStub(client.stub, timeout, address)
    create_trial = client.create_trial

    def create_trial_pausing(tuner_id):
        trial = create_trial(tuner_id)
        if trial.status == kt.engine.trial.TrialStatus.IDLE:
            time.sleep(_IDLE_PAUSE_S)  # other workers' trials are pending: do not hammer the chief
        return trial

    client.create_trial = create_trial_pausing
