"""Small data sets that ship with the library (no download), for demos and tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["breast_cancer", "wine", "diabetes", "digits", "messy", "load"]


def breast_cancer() -> pd.DataFrame:
    """scikit-learn's breast cancer data (569 rows, binary ``target``)."""
    from sklearn.datasets import load_breast_cancer
    return load_breast_cancer(as_frame=True).frame


def wine() -> pd.DataFrame:
    """scikit-learn's wine data (178 rows, 3 classes in ``target``)."""
    from sklearn.datasets import load_wine
    return load_wine(as_frame=True).frame


def diabetes() -> pd.DataFrame:
    """scikit-learn's diabetes data (442 rows, regression ``target``)."""
    from sklearn.datasets import load_diabetes
    return load_diabetes(as_frame=True).frame


def digits() -> pd.DataFrame:
    """scikit-learn's 8x8 digits (1,797 rows, 64 pixel columns ``pixel_0..63``, label ``digit``)."""
    from sklearn.datasets import load_digits
    bunch = load_digits()
    frame = pd.DataFrame(bunch.data, columns=[f"pixel_{i}" for i in range(bunch.data.shape[1])])
    frame["digit"] = bunch.target
    return frame


def messy(n_rows: int = 1000, *, task: str = "binary", seed: int = 0) -> pd.DataFrame:
    """A generated frame with every column kind automl handles, and missing values.

    Columns: ``age`` (float with NaN), ``income`` (heavy-tailed float), ``visits``
    (nullable ``Int64``), ``city`` (``str`` with NaN, rare levels), ``plan``
    (``category``), ``member`` (nullable ``boolean``), ``signup`` (datetime),
    ``customer_id`` (an ID, dropped), ``constant`` (dropped), ``notes`` (free
    text, dropped) and ``target``: binary labels ``"yes"``/``"no"``, three
    classes, or a float for ``task="regression"``.
    """
    rng = np.random.default_rng(seed)
    n = n_rows
    age = rng.normal(45, 12, n)
    income = np.exp(rng.normal(10, 0.7, n))
    visits = rng.poisson(3, n)
    cities = np.array(["Paris", "Lyon", "Nice", "Lille", "Metz", "Brest", "Dijon"])
    city = cities[np.minimum(rng.geometric(0.35, n) - 1, len(cities) - 1)]
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    member = rng.random(n) < 0.4
    signup = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    signal = (0.04 * (age - 45) + 0.8 * (plan == "pro") - 0.5 * (plan == "basic") + 0.6 * member
              + 0.3 * (city == "Paris") + 0.15 * (visits - 3) + 0.4 * np.log(income / 20000)
              + 0.3 * np.sin(signup.dayofyear.to_numpy() / 58.0))
    noisy = signal + rng.normal(0, 0.5, n)
    frame = pd.DataFrame({
        "age": age.round(1),
        "income": income.round(2),
        "visits": pd.array(visits, dtype="Int64"),
        "city": pd.Series(city, dtype="str"),
        "plan": pd.Categorical(plan),
        "member": pd.array(member, dtype="boolean"),
        "signup": signup,
        "customer_id": np.arange(100000, 100000 + n),
        "constant": "same",
        "notes": [f"customer wrote note number {i} about the service" for i in range(n)],
    })
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    frame.loc[rng.random(n) < 0.05, "city"] = None
    frame.loc[rng.random(n) < 0.05, "member"] = pd.NA
    frame.loc[rng.random(n) < 0.05, "visits"] = pd.NA
    if task == "regression":
        frame["target"] = (noisy * 10 + 50).round(3)
    elif task == "multiclass":
        frame["target"] = pd.Series(np.digitize(noisy, np.quantile(noisy, [1 / 3, 2 / 3])), dtype="int64").map(
            {0: "low", 1: "mid", 2: "high"}).astype("str")
    else:
        frame["target"] = pd.Series(np.where(noisy > np.median(noisy), "yes", "no"), dtype="str")
    return frame


_LOADERS = {"breast_cancer": (breast_cancer, "target"), "wine": (wine, "target"),
            "diabetes": (diabetes, "target"), "digits": (digits, "digit"), "messy": (messy, "target")}


def load(name: str) -> tuple[pd.DataFrame, str]:
    """A shipped data set by name, with its target column: ``frame, target = load("wine")``."""
    from .errors import InputError
    if name not in _LOADERS:
        raise InputError(f"Unknown data set {name!r}; choose from {sorted(_LOADERS)}.")
    loader, target = _LOADERS[name]
    return loader(), target
