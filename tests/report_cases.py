"""Fit results and reports shared by the report and viz tests (fitted once per test session)."""

from __future__ import annotations

import atexit
import dataclasses
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

CLASSIC = ["linear", "random_forest", "gradient_boosting"]
BUDGET_S = 6
EVIL = "<script>alert(1)</script>"


def _loader(kind):
    from automl import datasets

    return {"binary": datasets.breast_cancer, "multiclass": datasets.wine, "regression": datasets.diabetes}[kind]


@functools.cache
def fitted(kind: str):
    """A real fit of the shipped data set for ``kind`` with the classic families and a small budget."""
    import automl

    return automl.fit(_loader(kind)(), "target", families=CLASSIC, time_budget=BUDGET_S, verbose=0, seed=0)


@functools.cache
def evil_frame() -> pd.DataFrame:
    """Wine with column names and labels that are HTML and script."""
    from automl.datasets import wine

    frame = wine().rename(columns={"alcohol": EVIL, "hue": "</script><b>bold</b>", "ash": 'x" onmouseover="alert(3)'})
    labels = np.array(["<img src=x onerror=alert(2)>", "a&b", "</script>"], dtype=object)
    frame["target"] = labels[frame["target"].to_numpy()]
    return frame


@functools.cache
def evil_fit():
    import automl

    return automl.fit(evil_frame(), "target", families=["linear"], time_budget=3, verbose=0, seed=0)


BIG_ROWS = 50_000


@functools.cache
def big_frame() -> pd.DataFrame:
    """A 50,000-row regression table (numeric and categorical columns), for report sizes at scale."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(BIG_ROWS, 8)), columns=[f"x{i}" for i in range(8)])
    frame["shop"] = rng.choice(["north", "south", "east", "west", "online"], BIG_ROWS)
    frame["target"] = 2 * frame["x0"] - frame["x1"] + (frame["shop"] == "online") + rng.normal(size=BIG_ROWS)
    return frame


@functools.cache
def big_fit():
    """The 50k-row table fitted cheaply (linear models only, a tiny budget)."""
    import automl

    return automl.fit(big_frame(), "target", families=["linear"], time_budget=4, verbose=0, seed=0)


@functools.cache
def _directory() -> Path:
    path = Path(tempfile.mkdtemp(prefix="automl-reports-"))
    atexit.register(shutil.rmtree, path, True)
    return path


@functools.cache
def report(kind: str, offline: bool = True) -> Path:
    """The report file of ``kind`` (``binary``, ``multiclass``, ``regression``, ``evil`` or ``big``)."""
    result = {"evil": evil_fit, "big": big_fit}.get(kind, lambda: fitted(kind))()
    return result.report(_directory() / f"{kind}{'' if offline else '_cdn'}.html", offline=offline)


def with_network(result, *, best_epoch=4, stopped_early=True, epochs=7):
    """A copy of ``result`` with a hand-made network candidate that has a training history.

    The candidate reuses the best model's predictor and test predictions; only
    the history and its leaderboard row are new.
    """
    from automl.models.base import Candidate

    best = result.best_model_name
    loss = [0.9 * 0.8 ** i for i in range(epochs)]
    val_loss = [0.95 * 0.82 ** i if i < best_epoch else 0.95 * 0.82 ** best_epoch + 0.02 * (i - best_epoch + 1)
                for i in range(epochs)]
    metric = result.metric
    history = {"loss": loss, "val_loss": val_loss, metric: [0.7 + 0.04 * i for i in range(epochs)],
               f"val_{metric}": [0.68 + 0.03 * min(i, best_epoch) for i in range(epochs)]}
    net = Candidate("neural_network", "neural_network", {"units": 32, "layers": 2}, result.models[best].predictor,
                    1.5, history=history, info={"best_epoch": best_epoch, "stopped_early": stopped_early,
                                                "epochs": epochs})
    row = result.leaderboard.iloc[[0]].assign(model="neural_network", family="neural_network")
    board = pd.concat([result.leaderboard, row], ignore_index=True)
    test = dict(result.test)
    test["predictions"] = {**result.test["predictions"], "neural_network": result.test["predictions"][best]}
    return dataclasses.replace(result, models={**result.models, "neural_network": net}, leaderboard=board,
                               test=test, _importance=dict(result._importance))
