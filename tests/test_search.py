"""The KerasTuner network search: quality, overfitting guards, budget, failures, resume, persistence."""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import automl
from automl.budget import Budget
from automl.errors import InputError, SearchWarning
from automl.models.base import PreparedData
from automl.progress import Hooks
from automl.search import NeuralNetworkFamily, default_search_space, plan_search, resolve_search_space
from automl.search.family import _bracket_seconds, _hyperband_rounds

ROOT = Path(__file__).resolve().parent.parent


class Recorder:
    """A progress listener that keeps every trial event."""

    def __init__(self):
        self.trials = []

    def on_trial_end(self, record):
        self.trials.append(dict(record))


def _regression_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(12)])
    frame["group"] = rng.choice(list("abcd"), n)
    frame["target"] = (100 + 20 * X[:, 0] + 10 * np.sin(2 * X[:, 1]) + 8 * X[:, 2] * X[:, 3]
                       + 15 * (frame["group"] == "a") + rng.normal(0, 3, n))
    return frame


def _prepared(n: int = 300, n_features: int = 8, seed: int = 0, task: str = "binary") -> PreparedData:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    if task == "multiclass":
        y = (X[:, 0] > 0.5).astype(np.int64) + (X[:, 1] > 0).astype(np.int64)
        n_classes = 3
    else:
        y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(np.int64)
        n_classes = 2
    cut = int(0.75 * n)
    return PreparedData(X[:cut], y[:cut], X[cut:], y[cut:], task=task, metric="accuracy", n_classes=n_classes,
                        feature_names=[f"f{i}" for i in range(n_features)], seed=seed)


# -- no Keras needed ----------------------------------------------------------------------------
def test_import_automl_does_not_import_keras():
    code = ("import sys, automl, automl.search\n"
            "from automl.models import get_family\n"
            "family = get_family('neural_network', tuner='bayesian', max_trials=3)\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'keras_tuner', 'jax')]\n"
            "print(len(heavy), heavy[:3])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("0 "), out.stdout


def test_import_then_keras_prints_no_tensorflow_start_up_lines():
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "AUTOML_TF_LOGS")}
    code = "import automl, keras, numpy as np; keras.ops.convert_to_tensor(np.zeros(2)); print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
    assert "absl" not in out.stderr and "oneDNN" not in out.stderr and "I0000" not in out.stderr, out.stderr[-2000:]


def test_network_options_are_grouped_and_old_keywords_deprecated(breast_cancer_df):
    from automl.search.options import resolve_network

    assert automl.NetworkSearch(tuner="random", max_trials=4) == resolve_network({"tuner": "random", "max_trials": 4})
    with pytest.raises(InputError, match="network.tuner"):
        automl.NetworkSearch(tuner="grid")
    with pytest.raises(InputError, match=r"Unknown `network` key\(s\) \['tunr'\]"):
        resolve_network({"tunr": "random"})
    with pytest.raises(InputError, match="given both as keywords of fit and in `network`"):
        resolve_network({"tuner": "random"}, {"tuner": "bayesian"})
    with pytest.warns(DeprecationWarning, match=r"network=automl.NetworkSearch\(max_trials=2\)"):
        result = automl.fit(breast_cancer_df, "target", families=["linear"], time_budget=3, verbose=0, max_trials=2)
    assert result.info["settings"]["max_trials"] == 2
    # a worker has its own entry point and return type: fit always returns a FitResult
    with pytest.raises(InputError, match="call automl.run_worker"):
        automl.fit(breast_cancer_df, "target", network={"distributed": "worker", "oracle_address": "127.0.0.1:9"})


def test_search_space_overrides_and_errors():
    defaults = default_search_space(20_000, 30, "binary")
    assert defaults["batch_size"]["values"] == [128, 256, 512]
    space = resolve_search_space({"layers": (1, 2), "dropout": [0.0, 0.3], "activation": "gelu",
                                  "learning_rate": {"min": 1e-3, "max": 1e-2, "sampling": "log"}}, defaults)
    assert space["layers"] == {"type": "int", "min": 1, "max": 2, "step": 1, "sampling": "linear", "default": 2}
    assert space["dropout"]["values"] == [0.0, 0.3]
    assert space["activation"] == {"type": "fixed", "value": "gelu"}
    assert space["learning_rate"]["sampling"] == "log" and space["learning_rate"]["default"] == 1e-3
    with pytest.raises(InputError, match="unknown key 'dropuot'.*Did you mean 'dropout'"):
        resolve_search_space({"dropuot": 0.2}, defaults)
    with pytest.raises(InputError, match=r"search_space\['dropout'\].*\[0, 1\)"):
        resolve_search_space({"dropout": [0.2, 1.5]}, defaults)
    with pytest.raises(InputError, match=r"search_space\['activation'\].*did you mean 'relu'"):
        resolve_search_space({"activation": ["relux"]}, defaults)
    with pytest.raises(InputError, match="either `hypermodel` or `search_space`"):
        NeuralNetworkFamily(hypermodel=lambda hp: None, search_space={"layers": 2})
    with pytest.raises(InputError, match="`tuner` must be one of"):
        NeuralNetworkFamily(tuner="grid")


def test_plan_fits_the_budget_and_grows_with_it():
    small = plan_search(20, 400, 32, "hyperband")
    large = plan_search(600, 400, 32, "hyperband")
    assert 4 <= small.max_epochs < large.max_epochs <= 120
    for plan, seconds in ((small, 20), (large, 600)):
        first = _hyperband_rounds(plan.max_epochs, plan.factor, plan.min_epochs)[0]
        assert len(first) <= 3  # at most three rungs
        if plan.max_epochs > 4:
            assert _bracket_seconds(first, plan.epoch_s) <= 0.8 * seconds
    assert plan_search(5, 400, 32, "random", max_epochs=77).max_epochs == 77
    assert plan_search(60, 100_000, 1024, "random").max_epochs < plan_search(60, 500, 32, "random").max_epochs


# -- searches ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cancer_fit(breast_cancer_df, tmp_path_factory):
    directory = tmp_path_factory.mktemp("nn_cancer")
    recorder = Recorder()
    network = automl.NetworkSearch(tuner="random", max_trials=3, max_epochs=30, directory=str(directory))
    result = automl.fit(breast_cancer_df, "target", families=["neural_network"], network=network,
                        time_budget=150, seed=0, verbose=0, resampling="holdout",  # single networks: no bags
                        ensemble=False, callbacks=[recorder])
    return result, recorder, directory


def test_breast_cancer_network_accuracy_and_early_stopping(cancer_fit):
    result, recorder, _ = cancer_fit
    board = result.leaderboard
    networks = board[board["family"] == "neural_network"]
    assert len(networks) >= 1
    assert networks["test_score"].max() >= 0.94
    trials = result.trials
    assert len(trials) == 3 and (trials["status"] == "ok").all()
    cut = trials[trials["stopped_early"]]
    assert len(cut) >= 1, trials[["trial", "epochs", "planned_epochs", "stop_reason"]]
    assert (cut["epochs"] < cut["planned_epochs"]).all()
    assert (cut["stop_reason"] == "early_stopping").all()
    # per-epoch curves for every trial; best epoch is where validation loss bottoms out
    for _, row in trials.iterrows():
        history = row["history"]
        assert len(history["loss"]) == len(history["val_loss"]) == row["epochs"]
        assert row["best_epoch"] == int(np.argmin(history["val_loss"]))
        assert row["val_loss"] == pytest.approx(min(history["val_loss"]))
    # the hook saw every trial, with the contract's fields
    assert [r["trial"] for r in recorder.trials] == list(trials["trial"])
    assert {"family", "trial", "score", "status", "params", "time_s"} <= set(recorder.trials[0])
    assert recorder.trials[0]["family"] == "neural_network"
    # first trial is the space's defaults
    first = trials.iloc[0]["params"]
    assert (first["layers"], first["optimizer"], first["learning_rate"]) == (2, "adam", 1e-3)
    best = result.models[networks.iloc[0]["model"]]
    assert set(best.info) >= {"best_epoch", "stopped_early", "epochs", "trial_id"}
    assert json.loads(json.dumps(best.params)) == best.params


def test_best_network_is_refit_for_its_best_epoch_count(cancer_fit, breast_cancer_df):
    result, _, _ = cancer_fit
    best = result.best_model_name
    info = result.info["refit"]
    assert info["models"] == [best] and info["rows"] == len(breast_cancer_df), info
    refit, searched = result.refitted[best].predictor, result.models[best].predictor
    assert type(refit).__name__ == "KerasPredictor" and refit.model is not searched.model
    assert refit.model.count_params() == searched.model.count_params()
    rows = breast_cancer_df.drop(columns=["target"])
    accuracy = np.mean(result.predict(rows) == breast_cancer_df["target"].to_numpy())
    assert accuracy >= 0.95
    assert np.mean(result.predict(rows) == result.model(refit=False).predict(rows)) >= 0.95


def test_network_save_load_gives_identical_predictions(cancer_fit, breast_cancer_df, tmp_path):
    result, _, _ = cancer_fit
    rows = breast_cancer_df.drop(columns=["target"]).iloc[:120]
    path = result.save(tmp_path / "saved")
    assert any(p.suffix == ".keras" for p in (path / "models").iterdir())
    loaded = automl.load(path)
    for name in result.leaderboard["model"]:
        assert np.array_equal(result.predict(rows, model=name), loaded.predict(rows, model=name))
        np.testing.assert_array_equal(result.predict_proba(rows, model=name).to_numpy(),
                                      loaded.predict_proba(rows, model=name).to_numpy())
    predictor = result.models[result.best_model_name].predictor
    clone = pickle.loads(pickle.dumps(predictor))
    X = result.preprocessor.transform(rows)
    np.testing.assert_array_equal(predictor.predict_proba(X), clone.predict_proba(X))
    assert predictor.predict_proba(X).shape == (120, 2)


def test_budget_honoured_on_20k_rows(tmp_path):
    frame = _regression_frame(20_000)
    started = time.monotonic()
    result = automl.fit(frame, "target", families=["neural_network"], time_budget=20, verbose=0, ensemble=False,
                        network={"directory": str(tmp_path)})
    elapsed = time.monotonic() - started
    assert elapsed <= 26, elapsed
    assert result.trials.attrs["stop_reason"] == "budget"
    assert (result.leaderboard["family"] == "neural_network").any()
    # regression targets are standardised for training, predictions come back in original units
    pred = result.predict(frame.iloc[:2000])
    assert abs(pred.mean() - frame["target"].mean()) < frame["target"].std()


@pytest.mark.slow
def test_budget_60s_on_20k_rows(tmp_path):
    frame = _regression_frame(20_000, seed=1)
    started = time.monotonic()
    result = automl.fit(frame, "target", families=["neural_network"], time_budget=60, verbose=0, ensemble=False,
                        network={"directory": str(tmp_path)})
    assert time.monotonic() - started <= 66
    assert result.leaderboard.iloc[0]["test_score"] > 0.8


def test_failed_trials_are_recorded_and_search_goes_on(tmp_path):
    import keras

    data = _prepared(240)

    def build(hp):
        mode = hp.Choice("mode", ["ok", "nan", "raise"])
        units = hp.Choice("units", [8, 16])
        if mode == "raise":
            raise MemoryError("simulated out of memory while building")
        inputs = keras.Input((data.X_train.shape[1],))
        x = keras.layers.Dense(units, activation="relu")(inputs)
        if mode == "nan":
            x = keras.layers.Rescaling(float("nan"))(x)
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model

    # six distinct configurations: the random oracle stops once it has tried them all
    family = NeuralNetworkFamily(tuner="random", max_trials=10, hypermodel=build, directory=tmp_path, max_epochs=3)
    recorder = Recorder()
    result = family.fit(data, Budget(120), Hooks([recorder]))
    trials = result.trials
    modes = trials["params"].map(lambda p: p["mode"])
    assert len(trials) == 6 and set(modes) == {"ok", "nan", "raise"}, modes.tolist()
    assert trials.attrs["stop_reason"] == "exhausted"
    failed = trials[trials["status"] == "failed"]
    assert (modes[failed.index] != "ok").all() and (trials.loc[modes == "ok", "status"] == "ok").all()
    assert failed["score"].isna().all()
    assert failed.loc[modes[failed.index] == "nan", "error"].str.contains("Non-finite training loss").all()
    assert failed.loc[modes[failed.index] == "raise", "error"].str.contains("simulated out of memory").all()
    assert [r["status"] for r in recorder.trials] == list(trials["status"])
    assert result.candidates and all(c.params["mode"] == "ok" for c in result.candidates)


def test_multiclass_probabilities(tmp_path):
    data = _prepared(400, task="multiclass", seed=1)
    result = NeuralNetworkFamily(tuner="bayesian", max_trials=2, max_epochs=15, directory=tmp_path,
                                 top_k=2).fit(data, Budget(120), Hooks())
    assert [c.name for c in result.candidates] == ["neural_network", "neural_network_2"]
    proba = result.candidates[0].predictor.predict_proba(data.X_val)
    assert proba.shape == (len(data.y_val), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert data.val_score(result.candidates[0].predictor) == pytest.approx(result.trials["score"].max())
    assert result.trials["score"].max() >= 0.75


def test_directory_must_be_a_folder(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(InputError, match="`directory`=.*is a file"):
        NeuralNetworkFamily(directory=blocker).fit(_prepared(60), Budget(30), Hooks())


def test_keyboard_interrupt_returns_finished_trials(breast_cancer_df, tmp_path):
    class Interrupt(Recorder):
        def on_trial_end(self, record):
            super().on_trial_end(record)
            if len(self.trials) == 2:
                raise KeyboardInterrupt

    listener = Interrupt()
    with pytest.warns(SearchWarning, match="interrupted"):
        result = automl.fit(breast_cancer_df, "target", families=["neural_network"], time_budget=120, verbose=0,
                            network={"tuner": "random", "max_trials": 6, "max_epochs": 3, "directory": str(tmp_path)},
                            ensemble=False,
                            callbacks=[listener])
    assert len(result.trials) == 2 and (result.trials["status"] == "ok").all()
    assert set(result.leaderboard["model"]) == {"neural_network", "neural_network_2"}


_RESUME_SCRIPT = """
import json, sys
import automl
from automl.datasets import breast_cancer

class Mark:
    def on_trial_end(self, record):
        with open(sys.argv[2], "a") as handle:
            handle.write(json.dumps({"trial": record["trial"], "score": record["score"]}) + "\\n")

automl.fit(breast_cancer(), "target", families=["neural_network"], time_budget=600, verbose=0, ensemble=False,
           network={"max_trials": 6, "max_epochs": 4, "directory": sys.argv[1]}, callbacks=[Mark()])
"""


@pytest.mark.slow  # 70-85 s; resume stays covered by default on the same engine (test_killed_autoencoder_search_resumes_on_the_shared_engine)
def test_killed_search_resumes_without_rerunning_finished_trials(breast_cancer_df, tmp_path):
    script = tmp_path / "search.py"
    script.write_text(textwrap.dedent(_RESUME_SCRIPT))
    marks = tmp_path / "marks.jsonl"
    directory = tmp_path / "runs"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, str(script), str(directory), str(marks)], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if marks.exists() and len(marks.read_text().splitlines()) >= 2:
                break
            time.sleep(0.2)
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert marks.exists(), "the search did not finish two trials in time"
        process.send_signal(signal.SIGKILL)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    finished = [json.loads(line) for line in marks.read_text().splitlines()]
    assert 2 <= len(finished) < 6

    recorder = Recorder()
    result = automl.fit(breast_cancer_df, "target", families=["neural_network"], time_budget=300, verbose=0,
                        network={"max_trials": 6, "max_epochs": 4, "directory": str(directory)}, ensemble=False,
                        callbacks=[recorder])
    trials = result.trials.set_index("trial")
    done_before = {m["trial"] for m in finished}
    rerun = {r["trial"] for r in recorder.trials}
    assert not done_before & rerun, "finished trials were run again"
    assert len(trials) == 6 and set(trials.index) == done_before | rerun
    assert trials.loc[sorted(done_before), "resumed"].all() and not trials.loc[sorted(rerun), "resumed"].any()
    for mark in finished:
        assert trials.loc[mark["trial"], "score"] == pytest.approx(mark["score"])
    # Hyperband promoted the best first-rung trial and continued it from its checkpoint
    promoted = trials[trials["parent_trial"].notna()]
    assert len(promoted) >= 1
    row = promoted.iloc[0]
    assert row["initial_epoch"] >= 1 and len(row["history"]["loss"]) == row["epochs"]
    assert (result.leaderboard["family"] == "neural_network").any()


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_search_runs_on_jax_backend(tmp_path):
    code = textwrap.dedent("""
        import numpy as np, keras, sys
        assert keras.backend.backend() == "jax"
        from automl.budget import Budget
        from automl.models.base import PreparedData
        from automl.progress import Hooks
        from automl.search import NeuralNetworkFamily
        rng = np.random.default_rng(0)
        X = rng.normal(size=(200, 6)).astype("float32"); y = (X[:, 0] > 0).astype("int64")
        data = PreparedData(X[:150], y[:150], X[150:], y[150:], "binary", "accuracy", 2, list("abcdef"))
        result = NeuralNetworkFamily(max_trials=2, max_epochs=3, directory=sys.argv[1]).fit(data, Budget(120), Hooks())
        print("SCORE", result.trials["score"].max())
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    score = float(out.stdout.split("SCORE")[-1])
    assert score > 0.6


# -- the autoencoder search runs on the same engine ------------------------------------------------
_AE_SCRIPT = """
import os, signal, sys
import numpy as np
from automl.budget import Budget
from automl.clustering import search_autoencoder

class KillAfterTwo:
    seen = 0
    def on_trial_end(self, record):
        self.seen += 1
        if self.seen == 2:
            os.kill(os.getpid(), signal.SIGKILL)

X = np.random.default_rng(0).normal(size=(240, 8)).astype("float32")
search_autoencoder(X, budget=Budget(300), max_trials=4, epochs=3, patience=2, directory=sys.argv[1],
                   overwrite=False, hooks=KillAfterTwo())
"""


def test_killed_autoencoder_search_resumes_on_the_shared_engine(tmp_path):
    from automl.clustering import search_autoencoder

    script = tmp_path / "ae.py"
    script.write_text(_AE_SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    killed = subprocess.run([sys.executable, str(script), str(tmp_path / "ae")], env=env, capture_output=True,
                            text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    records = sorted((tmp_path / "ae").glob("autoencoder/trial_*/automl_trial.json"))
    assert len(records) == 2

    recorder = Recorder()
    X = np.random.default_rng(0).normal(size=(240, 8)).astype("float32")
    best, trials = search_autoencoder(X, budget=Budget(300), max_trials=3, epochs=3, patience=2,
                                      directory=tmp_path / "ae", overwrite=False, hooks=recorder)
    assert list(trials["trial"]) == [0, 1, 2]
    assert list(trials["resumed"]) == [True, True, False]
    assert [r["trial"] for r in recorder.trials] == [2] and recorder.trials[0]["family"] == "autoencoder"
    # the engine's records: the first trial is the defaults, scores are -val_loss, the best is kept
    assert trials.loc[0, "params"] == {"hidden": [256, 128], "code_size": 8, "dropout": 0.0, "noise": 0.1,
                                       "l2": 0.0, "activation": "relu", "learning_rate": 1e-3}
    np.testing.assert_allclose(trials["score"], -trials["val_loss"])
    assert trials.loc[trials["best"], "val_loss"].item() == pytest.approx(trials["val_loss"].min())
    assert best.val_loss_ == pytest.approx(trials["val_loss"].min(), rel=1e-6)
    assert best.transform(X).shape == (240, best.code_size)

