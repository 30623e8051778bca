"""Benchmark data sets: scikit-learn's shipped ones plus generated frames.

The generated frames look like business tables rather than textbook matrices:
numeric columns with heavy tails and missing values, categorical columns of
low and high cardinality (some levels rare), and targets that depend on the
columns through interactions, thresholds and periodic terms, so that neither a
linear model nor a single tree shape fits them well. Nothing needs a download.

Every loader returns ``(frame, target, task)`` with ``task`` in
``{"binary", "multiclass", "regression"}``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["DATASETS", "QUICK", "load", "classification_frame", "housing_frame"]


def _shipped(name: str) -> Callable[[], tuple[pd.DataFrame, str, str]]:
    def loader():
        from automl.datasets import load as load_shipped
        frame, target = load_shipped(name)
        task = {"breast_cancer": "binary", "wine": "multiclass", "diabetes": "regression",
                "digits": "multiclass"}[name]
        return frame, target, task
    return loader


def _with_missing(frame: pd.DataFrame, rng: np.random.Generator, shares: dict[str, float]) -> pd.DataFrame:
    for column, share in shares.items():
        frame.loc[rng.random(len(frame)) < share, column] = None if frame[column].dtype == object else np.nan
    return frame


def classification_frame(n_rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, str, str]:
    """A binary task with 8 numeric and 4 categorical columns, missing values and a non-linear target.

    Parameters
    ----------
    n_rows : int
    seed : int, default=0

    Returns
    -------
    frame : DataFrame
        Columns ``x0..x7`` (float, ``x3`` log-normal, 5-15 % missing in four of
        them), ``region`` (8 levels), ``product`` (40 levels, Zipf-like
        frequencies), ``channel`` (3 levels), ``tier`` (ordered strings) and
        ``label`` (``"churn"``/``"stay"``, about 40/60).
    target : str
    task : str
    """
    rng = np.random.default_rng(seed)
    n = n_rows
    x = rng.normal(size=(n, 8))
    x[:, 3] = np.exp(0.8 * x[:, 3])  # heavy right tail, like an amount
    regions = np.array([f"region_{i}" for i in range(8)])
    region = rng.choice(regions, n)
    product_p = 1.0 / np.arange(1, 41) ** 1.1
    product = rng.choice([f"p{i:02d}" for i in range(40)], n, p=product_p / product_p.sum())
    channel = rng.choice(["web", "store", "phone"], n, p=[0.5, 0.35, 0.15])
    tier = rng.choice(["bronze", "silver", "gold", "platinum"], n, p=[0.4, 0.3, 0.2, 0.1])
    # Fixed effects per level, drawn from a separate stream so every size shares the same concept.
    effects = np.random.default_rng(1234)
    region_effect = dict(zip(regions, effects.normal(0, 0.7, 8)))
    product_effect = dict(zip([f"p{i:02d}" for i in range(40)], effects.normal(0, 0.8, 40)))
    logit = (
        1.2 * np.sin(2.0 * x[:, 0])
        + 0.9 * x[:, 1] * x[:, 2]
        + 0.8 * np.log1p(x[:, 3]) * (channel == "web")
        - 0.7 * (np.abs(x[:, 4]) > 1.0)
        + 0.5 * np.maximum(x[:, 5], 0) ** 2
        + np.vectorize(region_effect.get)(region)
        + np.vectorize(product_effect.get)(product) * (1 + 0.5 * (x[:, 6] > 0))
        + 0.4 * pd.Series(tier).map({"bronze": 0, "silver": 1, "gold": 2, "platinum": 3}).to_numpy()
        - 0.4 * (channel == "phone")
    )
    noisy = logit + rng.logistic(0, 0.6, n)
    label = np.where(noisy > np.quantile(noisy, 0.6), "churn", "stay")
    frame = pd.DataFrame({f"x{i}": x[:, i] for i in range(8)})
    frame["region"] = pd.Categorical(region)
    frame["product"] = pd.Series(product, dtype=object)
    frame["channel"] = pd.Categorical(channel)
    frame["tier"] = pd.Series(tier, dtype=object)
    frame = _with_missing(frame, rng, {"x0": 0.1, "x3": 0.15, "x5": 0.05, "x7": 0.1, "product": 0.05,
                                       "tier": 0.08})
    frame["label"] = label
    return frame, "label", "binary"


def housing_frame(n_rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, str, str]:
    """A California-housing-like regression: location, income, rooms, a categorical proximity, missing values.

    The target (a house value in 100k units) depends on income through a
    saturating curve, on location through two price centres, on the proximity
    category and on interactions between rooms and occupancy.

    Returns
    -------
    frame, target, task
    """
    rng = np.random.default_rng(seed)
    n = n_rows
    lat = rng.uniform(32.5, 42.0, n)
    lon = rng.uniform(-124.3, -114.3, n)
    income = np.clip(rng.lognormal(1.2, 0.5, n), 0.5, 15)
    age = rng.integers(1, 53, n).astype(float)
    rooms = np.clip(rng.normal(5.3, 1.5, n), 1, 20)
    bedrooms = rooms * np.clip(rng.normal(0.21, 0.04, n), 0.1, 0.5)
    population = rng.lognormal(7, 0.7, n)
    occupancy = np.clip(rng.lognormal(1.05, 0.3, n), 1, 12)
    near = np.hypot(lat - 34.05, lon + 118.25) < 1.0
    proximity = np.where(lon < -122.0, "near_ocean", np.where(near, "city", np.where(lat > 39, "inland_north",
                                                                                       "inland")))
    proximity = np.where(rng.random(n) < 0.02, "island", proximity)
    centres = (1.8 * np.exp(-np.hypot(lat - 37.8, lon + 122.4) / 0.8)
               + 1.5 * np.exp(-np.hypot(lat - 34.05, lon + 118.25) / 1.0))
    value = (
        0.9 + 1.6 * np.tanh(income / 5.0) * (1 + centres)
        + pd.Series(proximity).map({"near_ocean": 0.6, "city": 0.3, "inland": -0.3, "inland_north": -0.5,
                                    "island": 1.5}).to_numpy()
        + 0.008 * age * (age > 40)
        + 0.15 * np.log(rooms) * (income > 4)
        - 0.25 * np.log(occupancy) ** 2
        + rng.normal(0, 0.35, n)
    )
    frame = pd.DataFrame({"latitude": lat.round(2), "longitude": lon.round(2), "median_income": income.round(4),
                          "house_age": age, "rooms": rooms.round(3), "bedrooms": bedrooms.round(3),
                          "population": population.round(0), "occupancy": occupancy.round(3),
                          "proximity": pd.Series(proximity, dtype=object)})
    frame = _with_missing(frame, rng, {"bedrooms": 0.05, "median_income": 0.03, "house_age": 0.05,
                                       "proximity": 0.03})
    frame["value"] = np.clip(value, 0.15, 5.0).round(4)  # capped like the census data
    return frame, "value", "regression"


# name -> loader; the order is the table's order.
DATASETS: dict[str, Callable[[], tuple[pd.DataFrame, str, str]]] = {
    "breast_cancer": _shipped("breast_cancer"),
    "wine": _shipped("wine"),
    "diabetes": _shipped("diabetes"),
    "digits": _shipped("digits"),
    "housing_20k": lambda: housing_frame(20_000),
    "churn_1k": lambda: classification_frame(1_000),
    "churn_20k": lambda: classification_frame(20_000),
    "churn_200k": lambda: classification_frame(200_000),
}
# Small sets for --quick smoke runs.
QUICK = ["breast_cancer", "wine", "diabetes", "churn_1k"]


def load(name: str) -> tuple[pd.DataFrame, str, str]:
    """``frame, target, task`` for the benchmark data set ``name``."""
    if name not in DATASETS:
        raise KeyError(f"unknown data set {name!r}; choose from {list(DATASETS)}")
    return DATASETS[name]()
