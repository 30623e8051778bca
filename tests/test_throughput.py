"""Networks fed from the shared matrix (automl.search.feed): no whole-array copies, JAX, the throughput benchmark."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from automl.budget import Budget
from automl.models.base import PreparedData
from automl.progress import Hooks
from automl.search import NeuralNetworkFamily

ROOT = Path(__file__).resolve().parent.parent
HAS_JAX = importlib.util.find_spec("jax") is not None


def _prepared(n: int = 400, d: int = 6, seed: int = 0, class_weight=None) -> PreparedData:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    cut = int(0.75 * n)
    return PreparedData(X[:cut], y[:cut], X[cut:], y[cut:], "binary", "accuracy", 2,
                        [f"f{i}" for i in range(d)], seed=seed, class_weight=class_weight)


def test_row_batches_are_views_or_gathers_of_the_matrix_never_a_copy():
    from automl.search.feed import MatrixFeed

    X = np.arange(70 * 3, dtype=np.float32).reshape(70, 3)
    y = np.arange(70, dtype=np.float32)
    feed = MatrixFeed(X, y, X[50:], y[50:], weights=np.full(70, 2.0, np.float32), device=False)
    assert not feed.on_device
    validation = feed.validation(16)
    xb, yb = validation[0]
    assert np.shares_memory(xb, X) and xb.shape == (16, 3)  # in order: a view of the caller's matrix
    assert len(validation) == 2 and validation[1][0].shape == (4, 3)

    train = feed.train(16, seed=3)
    assert len(train) == 5  # TensorFlow backend: the partial last batch is kept
    seen = []
    for epoch in range(2):
        rows = []
        for i in range(len(train)):
            xb, yb, wb = train[i]
            assert xb.dtype == np.float32 and (xb[:, 0] / 3 == yb).all() and (wb == 2.0).all()
            rows.append(yb.astype(int))
        rows = np.concatenate(rows)
        assert sorted(rows.tolist()) == list(range(70))  # every row once per epoch
        seen.append(rows)
        train.on_epoch_end()
    assert (seen[0] != seen[1]).any()  # a new order every epoch

    dropped = type(train)(X, y, batch_size=16, shuffle=True, drop_last=True)
    assert len(dropped) == 4 and all(dropped[i][0].shape == (16, 3) for i in range(4))


def test_device_data_option_is_checked():
    from automl.errors import InputError

    with pytest.raises(InputError, match="device_data"):
        NeuralNetworkFamily(device_data="gpu")


@pytest.fixture(scope="module")
def spied_fit(tmp_path_factory):
    """A tiny search and a refit on a subset of rows, recording what Keras' fit received."""
    import keras

    seen = []
    original = keras.Model.fit

    def spy(self, *args, **kwargs):
        seen.append((args[0] if args else kwargs.get("x"), kwargs.get("validation_data")))
        return original(self, *args, **kwargs)

    keras.Model.fit = spy
    try:
        data = _prepared(class_weight={0: 1.0, 1: 3.0})
        family = NeuralNetworkFamily(tuner="random", max_trials=1, max_epochs=10,
                                     directory=tmp_path_factory.mktemp("feed"))
        result = family.fit(data, Budget(60), Hooks())
        searched = len(seen)
        fold = np.arange(0, len(data.y_train), 2)  # a fold's rows, as k-fold bagging passes them
        subset = PreparedData(data.X_train[fold], data.y_train[fold], data.X_val, data.y_val, "binary", "accuracy",
                              2, data.feature_names, seed=0, class_weight=data.class_weight)
        refit = family.refit(result.candidates[0], subset, time.monotonic() + 60)
    finally:
        keras.Model.fit = original
    return {"data": data, "subset": subset, "result": result, "seen": seen, "searched": searched, "refit": refit}


def test_search_and_refit_train_on_row_batches_of_the_shared_matrix(spied_fit):
    from automl.search.feed import RowBatches

    data, seen = spied_fit["data"], spied_fit["seen"]
    trial_x, trial_val = seen[0]
    assert isinstance(trial_x, RowBatches) and isinstance(trial_val, RowBatches)
    assert trial_x.X is data.X_train and trial_val.X is data.X_val  # the very arrays, not copies
    assert trial_x.weights is not None and set(np.unique(trial_x.weights)) == {1.0, 3.0}  # class weights kept
    refit_x, _ = seen[spied_fit["searched"]]
    assert isinstance(refit_x, RowBatches) and refit_x.X is spied_fit["subset"].X_train
    assert refit_x.n == len(spied_fit["subset"].y_train)
    result = spied_fit["result"]
    assert result.trials["status"].eq("ok").all()
    assert spied_fit["data"].val_score(result.candidates[0].predictor) > 0.8
    assert spied_fit["refit"] is not None and data.val_score(spied_fit["refit"]) > 0.8


def test_predictor_converts_one_chunk_at_a_time(spied_fit, monkeypatch):
    from automl.search import predictor as module

    model = spied_fit["result"].candidates[0].predictor
    X64 = spied_fit["data"].X_val.astype(np.float64)
    expected = model.predict_proba(spied_fit["data"].X_val)
    monkeypatch.setattr(module, "_CHUNK", 32)
    sizes = []
    original = model.model.predict_on_batch
    monkeypatch.setattr(model.model, "predict_on_batch", lambda X: (sizes.append(X.shape), original(X))[1])
    got = model.predict_proba(X64)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert max(s[0] for s in sizes) == 32 and all(s[1] == X64.shape[1] for s in sizes)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_JAX, reason="jax is not installed (pip install automl[jax])")
def test_jax_backend_search_with_the_matrix_on_the_device(tmp_path):
    """Under KERAS_BACKEND=jax: the public fit, and a search whose rows sit on the (CPU) device."""
    code = textwrap.dedent("""
        import sys, time
        import numpy as np, pandas as pd, keras
        assert keras.backend.backend() == "jax"
        import automl
        from automl.budget import Budget
        from automl.models.base import PreparedData
        from automl.progress import Hooks
        from automl.search import NeuralNetworkFamily
        from automl.search.feed import MatrixFeed
        rng = np.random.default_rng(0)
        X = rng.normal(size=(600, 6)).astype("float32"); y = (X[:, 0] + X[:, 1] > 0).astype("int64")
        data = PreparedData(X[:450], y[:450], X[450:], y[450:], "binary", "accuracy", 2, list("abcdef"))
        family = NeuralNetworkFamily(tuner="random", max_trials=1, max_epochs=4, directory=sys.argv[1] + "/dev",
                                     device_data=True)
        seen = []
        fit = keras.Model.fit
        keras.Model.fit = lambda self, x=None, *a, **k: (seen.append(x), fit(self, x, *a, **k))[1]
        result = family.fit(data, Budget(120), Hooks())
        keras.Model.fit = fit
        import jax
        assert isinstance(seen[0][0][0], jax.Array), type(seen[0][0][0])  # batches cut on the device
        print("DEVICE", data.val_score(result.candidates[0].predictor))
        frame = pd.DataFrame(X, columns=list("abcdef")); frame["target"] = y
        fitted = automl.fit(frame, "target", families=["neural_network"], time_budget=40, verbose=0,
                            network={"tuner": "random", "max_trials": 2, "directory": sys.argv[1] + "/fit"})
        print("FIT", fitted.leaderboard.iloc[0]["test_score"])
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=400, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert float(out.stdout.split("DEVICE")[-1].split()[0]) > 0.8
    assert float(out.stdout.split("FIT")[-1].split()[0]) > 0.8


@pytest.mark.slow
def test_throughput_benchmark_quick_prints_its_table(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "throughput.py"), "--quick",
                          "--search-budget", "15"], capture_output=True, text=True, timeout=400, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [line for line in out.stdout.splitlines() if line.startswith("| ")]
    header, rows = lines[0], lines[1:]
    assert "rows/s (steady)" in header and "ratio" in header
    paths = [row.split(" | ")[2] for row in rows]
    assert paths[:3] == ["keras fit (numpy)", "automl trial (arrays)", "automl trial (host)"]
    assert any(p.startswith("automl search") for p in paths)
    for row in rows:
        cells = row.strip("| ").split(" | ")
        assert float(cells[6].replace(",", "")) > 0  # rows/s (steady)
        assert cells[8].endswith("x")
