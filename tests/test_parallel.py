"""Trials, fold fits and refits through joblib's backend (automl.parallel), on a local Dask cluster too."""

from __future__ import annotations

import gc
import logging
import os
import time

import joblib
import numpy as np
import pandas as pd
import pytest

import automl
from automl.budget import Budget
from automl.models import PreparedData
from automl.models.classic import GradientBoostingFamily, LinearFamily, RandomForestFamily
from automl.parallel import _nbytes, here, in_process, monotonic_deadline, run_tasks, slots, wall_deadline


class _Quiet:
    def on_trial_end(self, record):
        pass


def _square_and_where(x):
    return x * x, in_process()


def _total(x, i):
    return float(x.sum()) + i, os.getpid()


def _nested(n):
    # a fan-out inside a task stays in the worker that runs it
    return run_tasks(_square_and_where, [(i,) for i in range(n)])


@pytest.fixture(scope="module")
def small_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(scale=0.5, size=400) > 0.5).astype(np.int64)
    return PreparedData(X_train=X[:300], y_train=y[:300], X_val=X[300:], y_val=y[300:], task="binary",
                        metric="accuracy", n_classes=2, feature_names=[f"x{i}" for i in range(6)], seed=1)


def test_default_is_a_plain_loop_in_this_process():
    assert in_process() and slots() == 1
    calls = []
    # a lambda cannot be pickled: only an in-process loop runs it
    assert run_tasks(lambda x: calls.append(x) or x + 1, [(1,), (2,), (3,)]) == [2, 3, 4]
    assert calls == [1, 2, 3]
    assert run_tasks(_square_and_where, []) == []


def test_a_chosen_backend_runs_tasks_in_order_and_nested_fan_outs_stay_in_the_worker():
    with joblib.parallel_config(backend="threading", n_jobs=2):
        assert not in_process() and slots() == 2
        assert run_tasks(_square_and_where, [(i,) for i in range(5)]) == [(i * i, True) for i in range(5)]
        nested = run_tasks(_nested, [(3,), (2,)])
        # local=True keeps work here whatever the backend, and so does here() for the chief's own work
        assert run_tasks(lambda x: -x, [(4,)], local=True) == [-4]
        with here():
            assert in_process() and slots() == 1
        assert not in_process()
    assert nested == [[(0, True), (1, True), (4, True)], [(0, True), (1, True)]]


def test_large_arguments_are_measured_through_dataclasses(small_data):
    expected = sum(a.nbytes for a in (small_data.X_train, small_data.y_train, small_data.X_val, small_data.y_val))
    assert _nbytes(small_data) == expected
    assert _nbytes(np.zeros(10)) == 80 and _nbytes("text") == 0 and _nbytes([np.zeros(3), 1]) == 24


def test_deadlines_travel_as_wall_clock_times():
    deadline = time.monotonic() + 12.5
    assert abs(monotonic_deadline(wall_deadline(deadline)) - deadline) < 1e-3
    assert wall_deadline(float("inf")) == float("inf")


@pytest.mark.parametrize("family_cls, configs", [(GradientBoostingFamily, 4), (LinearFamily, 4)])
def test_batched_trials_match_the_one_at_a_time_loop(small_data, family_cls, configs):
    alone = family_cls(max_configs=configs).fit(small_data, Budget(600.0), _Quiet())
    with joblib.parallel_config(backend="threading", n_jobs=2):
        batched = family_cls(max_configs=configs).fit(small_data, Budget(600.0), _Quiet())
    columns = ["trial", "score", "status", "params"]
    pd.testing.assert_frame_equal(alone.trials[columns], batched.trials[columns], check_exact=True)
    assert len(alone.trials) == configs and (alone.trials["status"] == "ok").all()
    assert [c.name for c in alone.candidates] == [c.name for c in batched.candidates]
    for a, b in zip(alone.candidates, batched.candidates):  # the best and, when searched, the best default
        assert a.params == b.params and a.info["configs_tried"] == b.info["configs_tried"] == configs
        X = small_data.X_val
        np.testing.assert_array_equal(a.predictor.predict_proba(X), b.predictor.predict_proba(X))


def test_batched_trials_keep_to_the_deadline(small_data):
    budget = Budget(0.5)
    with joblib.parallel_config(backend="threading", n_jobs=2):
        result = RandomForestFamily(max_configs=40).fit(small_data, budget, _Quiet())
    # one batch of two forests, each grown tree chunk by chunk until the deadline; none starts after it
    assert budget.elapsed() < 0.5 + 3.0
    assert len(result.trials) == 2 and result.trials["truncated"].all() and result.candidates
    assert (result.trials["n_estimators"] < 300).all()


# -- a local Dask cluster of worker processes -----------------------------------------------------------------------

def _families(with_forest: bool):
    families = [LinearFamily(max_configs=3), GradientBoostingFamily(max_configs=2)]
    return families + [RandomForestFamily(max_configs=1)] if with_forest else families


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        yield client


def _fit(df, with_forest: bool):
    # a budget that never binds: the configurations are capped by max_configs
    return automl.fit(df, "target", families=_families(with_forest), time_budget=900, seed=3, resampling=3,
                      verbose=0)


def _same_result(alone, clustered):
    board = ["model", "family", "params", "validation"]
    scores = ["train_score", "val_score", "test_score"]
    columns = [c for c in board if c in alone.leaderboard]
    pd.testing.assert_frame_equal(alone.leaderboard[columns], clustered.leaderboard[columns], check_exact=True)
    np.testing.assert_allclose(alone.leaderboard[scores].to_numpy(float), clustered.leaderboard[scores].to_numpy(float),
                               rtol=1e-9, atol=1e-12)
    trials = ["family", "trial", "status", "params"]
    pd.testing.assert_frame_equal(alone.trials[trials], clustered.trials[trials], check_exact=True)
    np.testing.assert_allclose(alone.trials["score"].to_numpy(float), clustered.trials["score"].to_numpy(float),
                               rtol=1e-9)
    assert alone.info["refit"]["models"] == clustered.info["refit"]["models"]
    assert alone.info["resampling"].get("bagged") == clustered.info["resampling"].get("bagged")


def _run_on(client, df, with_forest: bool):
    from dask.distributed import get_task_stream

    with get_task_stream(client) as stream, joblib.parallel_config(backend="dask"):
        result = _fit(df, with_forest)
    ours = [t for t in stream.data if str(t["key"]).startswith("batch_of__plain")]
    # the chief prepared the rows itself: no scikit-learn preprocessing task reached the cluster
    assert len(ours) == len(stream.data)
    return result, ours


def test_fit_on_a_dask_cluster_gives_the_single_process_leaderboard(dask_client, breast_cancer_df):
    alone = _fit(breast_cancer_df, with_forest=False)
    clustered, tasks = _run_on(dask_client, breast_cancer_df, with_forest=False)
    _same_result(alone, clustered)
    # the trials, fold fits and refits ran in the worker processes, and both workers took some
    workers = dask_client.run(os.getpid)
    assert os.getpid() not in workers.values()
    trials_folds_refits = len(clustered.trials) + 3 * len(clustered.info["resampling"]["bagged"])
    assert len(tasks) >= trials_folds_refits
    assert {t["worker"] for t in tasks} == set(workers)


def test_large_arguments_go_to_the_cluster_once(dask_client):
    from automl import parallel

    big = np.arange(200_000, dtype=np.float64)
    with joblib.parallel_config(backend="dask"):
        assert slots() == 2
        first = run_tasks(_total, [(big, i) for i in range(4)])
        future = parallel._uploads[id(big)][2]
        # shared by four tasks: on both workers before they start
        assert len(dask_client.who_has(future)[future.key]) == 2
        second = run_tasks(_total, [(big, 10)])
        assert parallel._uploads[id(big)][2] is future  # the next call reuses the upload
    total = float(big.sum())
    assert [v for v, _ in first] == [total + i for i in range(4)] and second[0][0] == total + 10
    assert os.getpid() not in {pid for _, pid in first}
    key = id(big)
    del big, future
    gc.collect()
    assert key not in parallel._uploads  # released with the array


@pytest.mark.slow
def test_fit_with_forests_on_a_dask_cluster_gives_the_single_process_leaderboard(dask_client, breast_cancer_df):
    alone = _fit(breast_cancer_df, with_forest=True)
    clustered, tasks = _run_on(dask_client, breast_cancer_df, with_forest=True)
    _same_result(alone, clustered)
    assert {t["worker"] for t in tasks} == set(dask_client.run(os.getpid))
