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
