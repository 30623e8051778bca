"""Distributed network search: a chief oracle and two workers on loopback finish one search together."""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import automl
from automl.search.distributed import (CHIEF_FILE, DistributedConfig, announce_search, check_families, parse_address,
                                read_announcement, resolve_distributed, wait_for_chief)

ROOT = Path(__file__).resolve().parent.parent
MAX_TRIALS = 4
# Every process is killed after this long (the fixture's waits time out), whatever happens.
PROCESS_LIMIT_S = 240


# -- configuration (no processes) ------------------------------------------------------------------
def test_no_distribution_without_arguments_or_environment():
    assert resolve_distributed(None, None, environ={}) is None


def test_arguments_give_the_role_and_address():
    chief = resolve_distributed("chief", "0.0.0.0:9001", environ={})
    assert (chief.role, chief.host, chief.port, chief.address) == ("chief", "0.0.0.0", 9001, "0.0.0.0:9001")
    worker = resolve_distributed("worker", None, environ={})
    assert (worker.role, worker.address) == ("worker", "127.0.0.1:8000")
    assert worker.worker_id.startswith("worker-") and str(os.getpid()) in worker.worker_id


def test_kerastuner_environment_variables_give_the_role():
    env = {"KERASTUNER_TUNER_ID": "tuner3", "KERASTUNER_ORACLE_IP": "10.0.0.5", "KERASTUNER_ORACLE_PORT": "8123"}
    worker = resolve_distributed(None, None, environ=env)
    assert (worker.role, worker.worker_id, worker.address) == ("worker", "tuner3", "10.0.0.5:8123")
    chief = resolve_distributed(None, None, environ={**env, "KERASTUNER_TUNER_ID": "chief"})
    assert chief.role == "chief"
    # an explicit argument wins over the environment
    assert resolve_distributed("chief", "127.0.0.1:7000", environ=env).address == "127.0.0.1:7000"


@pytest.mark.parametrize("args, env, message", [
    (("boss", None), {}, "`distributed` must be 'chief', 'worker' or None"),
    ((None, "127.0.0.1:8000"), {}, "only used by a distributed search"),
    (("worker", "localhost"), {}, "`oracle_address` must look like 'host:port'"),
    (("worker", "host:99999"), {}, "must look like 'host:port'"),
    ((None, None), {"KERASTUNER_ORACLE_IP": "1.2.3.4"}, "KERASTUNER_TUNER_ID is not"),
    ((None, None), {"KERASTUNER_ORACLE_IP": "1.2.3.4", "KERASTUNER_TUNER_ID": "t0"}, "KERASTUNER_ORACLE_PORT"),
])
def test_bad_configuration_is_an_input_error(args, env, message):
    with pytest.raises(automl.InputError, match=message):
        resolve_distributed(*args, environ=env)


def test_parse_address_accepts_ipv6_brackets():
    assert parse_address("[::1]:8000") == ("::1", 8000)


def test_a_distributed_search_needs_the_network_family():
    config = DistributedConfig("chief", "127.0.0.1", 8000)
    with pytest.raises(automl.InputError, match="has no 'neural_network'"):
        check_families(config, ["linear", "gradient_boosting"])
    check_families(config, ["linear", "neural_network"])


def test_worker_ignores_stale_announcements_and_names_other_searches(tmp_path):
    project = tmp_path / "neural_network_random_abc"
    announce_search(project, {"deadline_unix": time.time() + 60, "finished": True, "plan": {}})
    announce_search(tmp_path / "neural_network_random_other", {"deadline_unix": time.time() + 60, "plan": {}})
    config = DistributedConfig("worker", "127.0.0.1", 8000, "w0", wait_s=0.6)
    with pytest.raises(automl.InputError, match=r"No chief announced.*neural_network_random_other"):
        wait_for_chief(project, config)
    announce_search(project, {"deadline_unix": time.time() + 60, "finished": False, "plan": {"max_epochs": 3}})
    assert wait_for_chief(project, config)["plan"] == {"max_epochs": 3}
    assert read_announcement(tmp_path / "missing") is None
    assert (project / CHIEF_FILE).is_file()


# -- one search, three processes -------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_text(path: Path, text: str, procs, limit: float) -> None:
    stop = time.monotonic() + limit
    while time.monotonic() < stop:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"a process ended early (rc {proc.returncode}): "
                                     f"{path.read_text(errors='replace')[-3000:] if path.exists() else ''}")
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {path} after {limit} s")


@pytest.fixture(scope="module")
def distributed_search(tmp_path_factory):
    """Two workers (one configured by arguments, one by KerasTuner's variables) and a chief, via the CLI."""
    tmp = tmp_path_factory.mktemp("distributed")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["y"] = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    frame.to_csv(tmp / "data.csv", index=False)
    port = _free_port()
    common = [sys.executable, "-m", "automl.cli", "fit", str(tmp / "data.csv"), "--target", "y",
              "--directory", str(tmp / "shared"), "--tuner", "random", "--max-trials", str(MAX_TRIALS),
              "--max-epochs", "3", "--families", "linear", "neural_network", "--time-budget", "150", "--quiet"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "AUTOML_WORKER_WAIT_S": "150", "PYTHONPATH": str(ROOT)}
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(key, None)
    logs = {name: tmp / f"{name}.log" for name in ("worker_a", "worker_b", "chief")}
    procs = []
    handles = []
    try:
        def start(name, extra, extra_env=None):
            handle = open(logs[name], "w")
            handles.append(handle)
            # own process group: the finally below kills it with everything it started
            procs.append(subprocess.Popen(common + extra, cwd=tmp, env={**env, **(extra_env or {})}, stdout=handle,
                                          stderr=subprocess.STDOUT, start_new_session=True))
            return procs[-1]

        start("worker_a", ["--distributed", "worker", "--oracle", f"127.0.0.1:{port}"])
        start("worker_b", [], {"KERASTUNER_TUNER_ID": "tuner_b", "KERASTUNER_ORACLE_IP": "127.0.0.1",
                               "KERASTUNER_ORACLE_PORT": str(port)})
        # Both workers are ready before the chief announces the search, so both get a first trial.
        for name in ("worker_a", "worker_b"):
            _wait_for_text(logs[name], "waiting for the chief", procs, 150)
        chief = start("chief", ["--distributed", "chief", "--oracle", f"127.0.0.1:{port}", "--out",
                                str(tmp / "result")])
        started = time.monotonic()
        chief.wait(timeout=PROCESS_LIMIT_S)
        for proc in procs:
            proc.wait(timeout=max(5.0, PROCESS_LIMIT_S - (time.monotonic() - started)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for handle in handles:
            handle.close()
    text = {name: path.read_text(errors="replace") for name, path in logs.items()}
    codes = [proc.returncode for proc in procs]
    assert codes == [0, 0, 0], f"return codes {codes}:\n" + "\n".join(f"--- {k}\n{v[-3000:]}" for k, v in text.items())
    return {"dir": tmp, "logs": text, "result": automl.load(tmp / "result")}


@pytest.mark.slow  # three processes with TensorFlow on 2 cores: 67 s of the default suite's 15 minutes
def test_chief_and_two_workers_share_one_search_without_repeating_a_trial(distributed_search):
    result = distributed_search["result"]
    trials = result.trials[result.trials["family"] == "neural_network"]
    assert len(trials) == MAX_TRIALS
    assert trials["trial"].is_unique
    assert set(trials["status"]) == {"ok"}
    per_worker = trials["worker"].value_counts()
    assert len(per_worker) == 2 and per_worker.min() >= 1, per_worker
    assert "tuner_b" in per_worker.index
    # each worker says which trials it ran: together, every trial exactly once
    ran = []
    for name in ("worker_a", "worker_b"):
        line = [row for row in distributed_search["logs"][name].splitlines() if row.startswith("worker ")][-1]
        assert "stopped (finished)" in line
        ran += ast.literal_eval(line.split("trials ", 2)[-1])
    assert sorted(ran) == sorted(trials["trial"])


@pytest.mark.slow  # three processes with TensorFlow on 2 cores: 67 s of the default suite's 15 minutes
def test_chief_result_ranks_networks_beside_the_classic_models(distributed_search):
    result = distributed_search["result"]
    families = set(result.leaderboard["family"])
    assert {"neural_network", "linear"} <= families
    search = result.models["neural_network"].info["search"]
    assert search["distributed"] == "chief" and search["stop_reason"] == "max_trials"
    assert len(search["workers"]) == 2
    proba = result.predict_proba(pd.read_csv(distributed_search["dir"] / "data.csv").drop(columns="y").head(5),
                                 model="neural_network")
    assert np.allclose(np.asarray(proba).sum(axis=1), 1.0)
    announcement = read_announcement(Path(search["directory"]) if Path(search["directory"]).is_absolute()
                                     else distributed_search["dir"] / search["directory"])
    assert announcement["finished"] is True
