"""Shared test set-up: quiet, seeded, and fast to start."""

from __future__ import annotations

import os
import random
from pathlib import Path

# Set before TensorFlow, Keras or numba are imported anywhere in the session.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".numba_cache"))
os.environ.setdefault("PYTHONHASHSEED", "0")
# Idle OpenMP threads sleep instead of spinning: on shared CI cores spinning made HistGradientBoosting
# 10x slower and broke time-budget tests. Read once when scikit-learn loads libgomp, so set it here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Network searches default to ./automl_runs and resume what they find there: give each test
# session a fresh folder so no test resumes a search left by an earlier run.
import tempfile  # noqa: E402

os.environ.setdefault("AUTOML_RUNS_DIR", tempfile.mkdtemp(prefix="automl_runs_"))

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)
    yield


@pytest.fixture(scope="session")
def breast_cancer_df():
    from automl.datasets import breast_cancer
    return breast_cancer()


@pytest.fixture(scope="session")
def wine_df():
    from automl.datasets import wine
    return wine()


@pytest.fixture(scope="session")
def diabetes_df():
    from automl.datasets import diabetes
    return diabetes()


@pytest.fixture(scope="session")
def messy_df():
    from automl.datasets import messy
    return messy(600)


# Classic families only: fast fits for tests that are not about the network search.
CLASSIC = ["linear", "random_forest", "gradient_boosting"]


@pytest.fixture(scope="session")
def classic_families():
    return list(CLASSIC)
