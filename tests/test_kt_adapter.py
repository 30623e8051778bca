"""Compatibility of automl.search.kt_adapter with the installed KerasTuner.

Every private KerasTuner name automl relies on is checked here: a KerasTuner
release that renames or changes one fails these tests, loudly and by name,
instead of silently breaking a search. Nothing here trains a network.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

kt = pytest.importorskip("keras_tuner")

from automl.search import kt_adapter  # noqa: E402
from automl.search.distributed import OracleUnavailable  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def test_installed_kerastuner_is_within_the_supported_range():
    assert (1, 4, 7) <= _version(kt.__version__) < (1, 5, 0), kt.__version__
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"keras-tuner>=1.4.7,<1.5"' in pyproject


@pytest.mark.parametrize("owner, names", [
    (kt.Oracle, ["_get_oracle_fname", "_get_trial_dir", "_save_trial", "_random_values", "_duplicate"]),
    (kt.oracles.HyperbandOracle, ["_get_num_brackets", "_start_new_bracket"]),
    (kt.Tuner, ["_get_checkpoint_fname", "_get_build_config_fname", "_get_tuner_fname"]),
])
def test_private_methods_the_adapter_uses_exist(owner, names):
    missing = [n for n in names if not callable(getattr(owner, n, None))]
    assert not missing, f"KerasTuner {kt.__version__} lacks {owner.__name__}.{missing}: update automl/search/kt_adapter.py"


def test_private_signatures_are_the_expected_ones():
    assert list(inspect.signature(kt.Oracle._save_trial).parameters) == ["self", "trial"]
    assert list(inspect.signature(kt.Oracle._random_values).parameters) == ["self"]
    assert list(inspect.signature(kt.Tuner._get_checkpoint_fname).parameters) == ["self", "trial_id"]


def test_tuner_builds_every_trial_through_try_build():
    # TunerInternals replaces _try_build; KerasTuner must still build trials and reload models through it
    assert list(inspect.signature(kt.Tuner._try_build).parameters) == ["self", "hp"]
    assert "self._try_build(" in inspect.getsource(kt.Tuner._build_and_fit_model)
    assert "self._try_build(" in inspect.getsource(kt.Tuner.load_model)
    import keras

    assert "free_memory" in inspect.signature(keras.backend.clear_session).parameters


def test_internal_modules_hold_the_distribution_pieces():
    chief = kt_adapter.internal_module("distribute.oracle_chief")
    assert hasattr(chief, "OracleServicer") and hasattr(chief.OracleServicer(None), "stop_triggered")
    protos = kt_adapter.internal_module("protos")
    grpc_service = protos.get_service_grpc()
    assert hasattr(grpc_service, "add_OracleServicer_to_server") and hasattr(grpc_service, "OracleStub")
    client = kt_adapter.internal_module("distribute.oracle_client")
    assert client.OracleClient.__name__ == "OracleClient"


def test_hyperband_min_epochs_changes_the_first_rung(tmp_path):
    oracle = kt.oracles.HyperbandOracle(objective=kt.Objective("val_loss", "min"), max_epochs=27, factor=3,
                                        hyperband_iterations=1)
    kt_adapter.set_hyperband_min_epochs(oracle, 3)
    assert oracle.min_epochs == 3
    # brackets with first rungs of 3, 9 and 27 epochs: the most aggressive one first
    assert oracle._current_bracket == oracle._get_num_brackets() - 1 == 2
    assert oracle.get_state()["min_epochs"] == 3


def test_oracle_state_is_written_atomically_and_first_trial_uses_defaults(tmp_path):
    class Oracle(kt_adapter.OracleInternals, kt.oracles.RandomSearchOracle):
        pass

    oracle = Oracle(objective=kt.Objective("val_loss", "min"), max_trials=3, seed=1)
    oracle._set_project_dir(str(tmp_path), "p")
    hp = kt.HyperParameters()
    hp.Int("units", 8, 64, step=8, default=24)
    hp.Choice("act", ["relu", "tanh"], default="tanh")
    oracle.update_space(hp)
    trial = oracle.create_trial("tuner0")
    assert trial.hyperparameters.values == {"units": 24, "act": "tanh"}
    state = json.loads((tmp_path / "p" / "oracle.json").read_text())
    assert state["ongoing_trials"] == {"tuner0": trial.trial_id}
    assert json.loads((tmp_path / "p" / f"trial_{trial.trial_id}" / "trial.json").read_text())["trial_id"] == "0"
    assert not list((tmp_path / "p").glob("*.tmp*"))


def test_oracle_unavailable_passes_through_kerastuner():
    error = kt_adapter.OracleUnavailableError("gone")
    assert isinstance(error, OracleUnavailable) and isinstance(error, kt.errors.FatalError)


def test_kerastuner_builds_its_own_client_from_the_environment_and_the_adapter_bounds_it(tmp_path):
    # A port nothing listens on: the hardened client must give up within its timeout, not KerasTuner's hour.
    code = f"""
import time, keras_tuner as kt
from automl.search import kt_adapter
from automl.search.distributed import DistributedConfig, OracleUnavailable, kt_environment
config = DistributedConfig(role="worker", host="127.0.0.1", port=9, worker_id="w1", rpc_timeout_s=1.0)
oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("val_loss", "min"), max_trials=2)
def build(hp):
    hp.Int("u", 1, 4)
    import keras
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
with kt_environment(config):
    tuner = kt.Tuner(oracle=oracle, hypermodel=build, directory={str(tmp_path)!r}, project_name="p")
assert kt_adapter.is_client(tuner.oracle), type(tuner.oracle)
assert tuner.tuner_id == "w1"
kt_adapter.harden_client(tuner.oracle, config.address, 1.0)
started = time.monotonic()
try:
    tuner.oracle.create_trial("w1")
except OracleUnavailable as exc:
    print("unavailable", round(time.monotonic() - started, 1))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    seconds = float(out.stdout.split("unavailable")[1])
    assert seconds < 10
