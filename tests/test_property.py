"""Property-based test of bad input: random frames through ``fit`` and ``predict``.

The same frames go through ``cluster`` (on the preprocessed features: the
autoencoder search is tested elsewhere and is too slow for many examples).
Every call must either succeed with sane output or raise :class:`automl.InputError`
naming the problem; never an internal traceback from pandas or scikit-learn,
never a hang. The frames mix every column kind automl reads (floats with
NaN/inf, ints, nullable ints, pandas ``str``, categories, booleans, naive and
timezone-aware datetimes, durations, mixed object columns), empty and constant
columns, duplicated rows, odd column names and small, imbalanced or partly
missing targets.

Profiles (``HYPOTHESIS_PROFILE`` environment variable):

- ``ci`` (default): 72 derandomised examples for ``fit`` (8 per target kind) and 12 for
  ``cluster``, about two minutes on two busy cores.
- ``long``: 400 random examples (44 per target kind; 66 for ``cluster``), for a run by
  hand; failures are replayed from the ``.hypothesis`` example database.

Every failure found so far is a fixed regression test in ``test_reliability.py``
(``test_regression_*``) with the minimal frame hypothesis reported.
"""

from __future__ import annotations

import os
import signal
import string
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import automl
from automl.errors import AutomlWarning, InputError

settings.register_profile(
    # no shrinking in CI: a failure prints its reproduce blob at once; shrink it by hand with "long"
    "ci", max_examples=72, deadline=None, derandomize=True, database=None, print_blob=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile(
    "long", max_examples=400, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# A single fit on these tiny frames takes a second or two; anything near this is a hang.
HANG_S = 90
FAMILIES = ["linear", "gradient_boosting"]

COLUMN_KINDS = (
    "float", "float_inf", "float_huge", "int", "Int64", "str", "category", "bool", "boolean", "datetime",
    "datetime_tz", "timedelta", "mixed", "numeric_text", "date_text", "empty", "constant", "id",
)
ODD_NAMES = (
    "a b", " leading", "trailing ", "ünïcødé", "日本語の列", "🙂", "x" * 300, "1", "2.5", "NaN", "None", "",
    "col,with,commas", "quote'\"", "new\nline", "tab\tname", "<script>alert(1)</script>", "__index_level_0__",
)


@contextmanager
def no_hang(seconds: int = HANG_S):
    """Fail (instead of blocking CI) when the body runs longer than ``seconds``."""
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - Windows
        yield
        return

    def _alarm(signum, frame):
        raise TimeoutError(f"call did not finish within {seconds}s (hang)")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- column generators (values from a seeded numpy generator; structure from hypothesis) --
def make_column(kind: str, n: int, rng: np.random.Generator, missing: float) -> pd.Series:
    """One column of ``kind`` with about ``missing`` share of missing values."""
    holes = rng.random(n) < missing
    if kind == "float":
        values = rng.normal(size=n)
        values[holes] = np.nan
        return pd.Series(values)
    if kind == "float_inf":
        values = rng.normal(size=n) * 100
        values[holes] = rng.choice([np.nan, np.inf, -np.inf], size=int(holes.sum()))
        return pd.Series(values)
    if kind == "float_huge":
        values = rng.choice([1e308, -1e308, 1e-308, 0.0, 1.7e308, 3.0], size=n)
        values[holes] = np.nan
        return pd.Series(values)
    if kind == "int":
        return pd.Series(rng.integers(-3, 4, size=n), dtype="int64")
    if kind == "Int64":
        return pd.Series(pd.array([None if h else int(v) for h, v in zip(holes, rng.integers(0, 10, n))],
                                  dtype="Int64"))
    levels = ["red", "green", "blue", "ünï", "", " "]
    if kind == "str":
        return pd.Series([None if h else str(rng.choice(levels)) for h in holes], dtype="str")
    if kind == "category":
        return pd.Series(pd.Categorical([None if h else str(rng.choice(levels[:3])) for h in holes]))
    if kind == "bool":
        return pd.Series(rng.random(n) < 0.5)
    if kind == "boolean":
        return pd.Series(pd.array([None if h else bool(v) for h, v in zip(holes, rng.random(n) < 0.5)],
                                  dtype="boolean"))
    if kind in ("datetime", "datetime_tz"):
        stamps = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10_000, n), unit="h")
        series = pd.Series(stamps).where(~holes)
        return series.dt.tz_localize("Europe/Paris", ambiguous="NaT", nonexistent="NaT") \
            if kind == "datetime_tz" else series
    if kind == "timedelta":
        return pd.Series(pd.to_timedelta(rng.integers(0, 1000, n), unit="s")).where(~holes)
    if kind == "mixed":
        pool = [1, 2.5, "a", "b", None, 3, "7", True, np.nan]
        return pd.Series([pool[i] for i in rng.integers(0, len(pool), n)], dtype=object)
    if kind == "numeric_text":
        values = [f"{v:.2f}" for v in rng.normal(size=n)]
        return pd.Series([None if h else (v if rng.random() > 0.03 else "n/a") for h, v in zip(holes, values)],
                         dtype=object)
    if kind == "date_text":
        return pd.Series([None if h else f"2021-{rng.integers(1, 13):02d}-{rng.integers(1, 28):02d}"
                          for h in holes], dtype=object)
    if kind == "empty":
        return pd.Series([np.nan] * n, dtype=rng.choice(["float64", "object"]))
    if kind == "constant":
        return pd.Series(["same"] * n, dtype="str")
    if kind == "id":
        return pd.Series(np.arange(n) + 1000, dtype="int64")
    raise AssertionError(kind)


def make_target(kind: str, n: int, rng: np.random.Generator, minority: int) -> pd.Series:
    """A target of ``kind`` with ``minority`` rows in its rarest class (classification)."""
    minority = max(1, min(minority, n // 2 if n >= 2 else 1))
    if kind == "regression":
        return pd.Series(rng.normal(size=n) * 10 + 3)
    if kind == "regression_nan":
        values = rng.normal(size=n)
        values[rng.random(n) < 0.2] = np.nan
        return pd.Series(values)
    if kind == "constant":
        return pd.Series(["only"] * n, dtype="str")
    if kind in ("binary_str", "binary_int", "binary_bool", "binary_nan"):
        codes = np.zeros(n, dtype=int)
        codes[rng.choice(n, minority, replace=False)] = 1
        if kind == "binary_str":
            return pd.Series(np.where(codes == 1, "yes", "no"), dtype="str")
        if kind == "binary_bool":
            return pd.Series(codes == 1)
        if kind == "binary_nan":
            values = codes.astype(float)
            values[rng.random(n) < 0.15] = np.nan
            return pd.Series(values)
        return pd.Series(codes)
    # multiclass: one rare class, the rest spread over four others
    codes = rng.integers(0, 4, n)
    codes[rng.choice(n, minority, replace=False)] = 4
    if kind == "multiclass_category":
        return pd.Series(pd.Categorical(np.array(["a", "b", "c", "d", "rare"])[codes]))
    return pd.Series(codes)


TARGET_KINDS = ("binary_str", "regression", "multiclass_int", "binary_int", "regression_nan", "binary_bool",
                "binary_nan", "multiclass_category", "constant")


@st.composite
def frames(draw, target_kinds=TARGET_KINDS):
    """A random frame and its target name (a target of one of ``target_kinds``)."""
    # mostly frames big enough to fit, sometimes too small to split
    n = draw(st.sampled_from(["tiny", "fit", "fit", "fit"]).flatmap(
        lambda size: st.integers(0, 22) if size == "tiny" else st.integers(20, 90)))
    # now and then no feature column at all
    n_columns = draw(st.sampled_from([1, 2, 3, 4, 5, 6] * 3 + [0]))
    kinds = draw(st.lists(st.sampled_from(COLUMN_KINDS), min_size=n_columns, max_size=n_columns))
    name_pool = st.one_of(st.sampled_from(ODD_NAMES), st.text(string.printable + "éß中🙂", max_size=12),
                          st.integers(-3, 3))
    names = draw(st.lists(name_pool, min_size=len(kinds) + 1, max_size=len(kinds) + 1,
                          unique_by=lambda v: (type(v), v)))
    target_kind = draw(st.sampled_from(target_kinds))
    minority = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**16))
    missing = draw(st.sampled_from([0.0, 0.1, 0.5, 0.95]))
    duplicate = draw(st.booleans())
    rng = np.random.default_rng(seed)
    columns = {name: make_column(kind, n, rng, missing) for name, kind in zip(names[1:], kinds)}
    columns[names[0]] = make_target(target_kind, n, rng, minority) if n else pd.Series([], dtype=float)
    frame = pd.DataFrame(columns)
    if duplicate and n:
        frame = pd.concat([frame, frame.iloc[: max(1, n // 3)]], ignore_index=True)
    return frame, names[0]


def drift(frame: pd.DataFrame, how: str, rng: np.random.Generator) -> pd.DataFrame:
    """Rows as they might arrive at predict time, changed in one way."""
    out = frame.copy()
    if how == "reorder":
        return out[list(rng.permutation(out.columns))]
    if how == "extra":
        out["never seen"] = 1.0
        return out
    if how == "strings":  # text in every column
        for c in out.columns:
            out[c] = out[c].astype(object).where(rng.random(len(out)) < 0.5, "???")
        return out
    if how == "new_levels":
        for c in out.columns:
            if not pd.api.types.is_numeric_dtype(out[c].dtype):
                out[c] = pd.Series(["brand new level"] * len(out), index=out.index, dtype="str")
        return out
    if how == "as_text":
        return out.astype(str)
    if how == "all_missing":
        return pd.DataFrame({c: [np.nan] * len(out) for c in out.columns}, index=out.index)
    return out


def check_predictions(result, rows: pd.DataFrame) -> None:
    """Predictions on ``rows`` have the right length and values; probabilities are distributions."""
    pred = result.predict(rows)
    assert len(pred) == len(rows)
    if result.task == "regression":
        assert np.all(np.isfinite(np.asarray(pred, dtype=float))), pred
    else:
        known = set(map(str, result.classes))
        assert set(map(str, pred)) <= known, (set(pred), known)
        proba = result.predict_proba(rows)
        assert proba.shape == (len(rows), len(result.classes))
        assert np.allclose(proba.to_numpy().sum(axis=1), 1.0, atol=1e-5)
        assert np.all(np.isfinite(proba.to_numpy()))


def assert_named_error(exc: InputError) -> None:
    """An InputError carries a readable message, not an empty or internal one."""
    message = str(exc)
    assert len(message) > 20, message
    assert "Traceback" not in message


# One test per target kind, so that even the short derandomised CI run covers every kind.
@pytest.mark.parametrize("target_kind", TARGET_KINDS)
@settings(PROFILE, max_examples=max(3, PROFILE.max_examples // len(TARGET_KINDS)))
@given(data=st.data(), ensemble=st.booleans(), how=st.sampled_from(
    ["same", "reorder", "extra", "strings", "new_levels", "as_text", "all_missing", "drop"]),
    n_predict=st.integers(1, 7))
def test_fit_and_predict_never_crash(target_kind, data, ensemble, how, n_predict):
    frame, target = data.draw(frames((target_kind,)), label="frame")
    with no_hang(), warnings.catch_warnings():
        warnings.simplefilter("ignore", AutomlWarning)
        started = time.monotonic()
        try:
            result = automl.fit(frame, target, families=FAMILIES, time_budget=1, verbose=0, ensemble=ensemble)
        except InputError as exc:
            event(f"fit refused: {str(exc)[:40]}")
            assert_named_error(exc)
            # a usable frame must give at least one model: this refusal would be the library's fault
            assert "No model could be fitted" not in str(exc), str(exc)
            return
        event(f"fit ok: {result.task}")
        event(f"fit took {min(int(time.monotonic() - started), 5)}+ s")
        assert len(result.leaderboard) >= 1
        assert result.leaderboard["val_score"].notna().any() or result.task != "regression"
        features = frame.drop(columns=[target])
        rows = features.iloc[:n_predict]
        check_predictions(result, rows)
        check_predictions(result, frame.iloc[:n_predict])  # the target column may be passed along
        rng = np.random.default_rng(n_predict)
        if how == "drop":
            if features.shape[1] < 1:
                return
            gone = str(features.columns[0])
            try:
                check_predictions(result, features.drop(columns=[features.columns[0]]).iloc[:n_predict])
            except InputError as exc:  # named, or the frame has no column left at all
                assert repr(gone) in str(exc) or "has no columns" in str(exc), (gone, str(exc))
                assert gone in result.schema.used
            else:
                assert gone not in result.schema.used
            return
        drifted = drift(rows, how, rng)
        check_predictions(result, drifted)


# Clustering pays a one-off start-up cost (TensorFlow import, numba compilation), then about a
# second per call on these frames; fewer examples keep it inside the CI allowance.
CLUSTER_PROFILE = settings(PROFILE, max_examples=max(8, PROFILE.max_examples // 6))


@CLUSTER_PROFILE
@given(case=frames(), method=st.sampled_from(["kmeans", "gmm", "agglomerative", "umap_gmm", "hdbscan"]),
       k=st.sampled_from(["auto", 2, 3, 7]), use_labels=st.booleans(), n_predict=st.integers(1, 7))
def test_cluster_never_crashes(case, method, k, use_labels, n_predict):
    frame, target = case
    if not use_labels:
        frame = frame.drop(columns=[target]) if target in frame.columns else frame
    with no_hang(), warnings.catch_warnings():
        warnings.simplefilter("ignore", AutomlWarning)
        try:
            result = automl.cluster(frame, n_clusters=k, method=method, labels=target if use_labels else None,
                                    autoencoder=False, time_budget=1, k_max=4, verbose=0)
        except InputError as exc:
            event(f"cluster refused: {str(exc)[:40]}")
            assert_named_error(exc)
            return
        event(f"cluster ok: {method}")
        labels = np.asarray(result.labels)
        assert labels.shape == (len(frame),)
        n_found = len(set(labels[labels >= 0]))
        assert n_found >= 1 and labels.min() >= -1
        if k != "auto" and method != "hdbscan":
            assert n_found <= k
        assert result.map2d.shape == (len(frame), 2) and np.isfinite(result.map2d).all()
        rows = frame.iloc[:n_predict]
        predicted = np.asarray(result.predict(rows))
        assert predicted.shape == (len(rows),)
        assert set(predicted[predicted >= 0]) <= set(labels) | set(range(result.info["n_clusters"]))
