"""Bad input raises automl.InputError naming the column or argument and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import automl


def fit(df, target="y", **kw):
    kw.setdefault("families", ["linear"])
    kw.setdefault("time_budget", 5)
    kw.setdefault("verbose", 0)
    return automl.fit(df, target, **kw)


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=60), "b": rng.choice(["u", "v"], 60), "y": rng.integers(0, 2, 60)})


def test_empty_frame():
    with pytest.raises(automl.InputError, match="empty"):
        fit(pd.DataFrame({"a": [], "y": []}))


def test_no_columns():
    with pytest.raises(automl.InputError, match="no columns"):
        fit(pd.DataFrame(index=range(5)))


def test_unknown_target_suggests_close_name(small):
    with pytest.raises(automl.InputError, match=r"'Y' is not in the data.*Did you mean \['y'\]"):
        fit(small, "Y")


def test_target_with_one_class(small):
    small["y"] = "same"
    with pytest.raises(automl.InputError, match="'y' has only one class"):
        fit(small)


def test_target_all_missing(small):
    small["y"] = np.nan
    with pytest.raises(automl.InputError, match="'y' is missing in every row"):
        fit(small)


def test_too_few_rows(small):
    with pytest.raises(automl.InputError, match="Only 10 rows"):
        fit(small.head(10))


def test_duplicate_column_names(small):
    df = small.copy()
    df.columns = ["a", "a", "y"]
    with pytest.raises(automl.InputError, match=r"duplicate column names \['a'\]"):
        fit(df)


def test_names_that_collide_after_str_conversion():
    df = pd.DataFrame([[1, 2, 0]] * 30, columns=[1, "1", "y"])
    with pytest.raises(automl.InputError, match="duplicate column names"):
        fit(df)


def test_unsupported_column_types_are_dropped_or_refused(small):
    df = small.copy()
    df["nested"] = [[1, 2]] * len(df)
    result = fit(df)
    assert "unhashable" in result.schema.dropped["nested"]
    only_bad = pd.DataFrame({"nested": [[1]] * 40, "y": [0, 1] * 20})
    with pytest.raises(automl.InputError, match="No usable feature columns.*nested"):
        fit(only_bad)


def test_not_a_dataframe():
    with pytest.raises(automl.InputError, match="must be a pandas DataFrame"):
        fit(np.zeros((30, 3)))


def test_missing_file(tmp_path):
    with pytest.raises(automl.InputError, match="does not exist"):
        fit(tmp_path / "nope.csv")


def test_bad_extension(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_text("a,y\n1,0\n")
    with pytest.raises(automl.InputError, match="unsupported extension '.xyz'"):
        fit(path)


@pytest.mark.parametrize("argument, value, message", [
    ("time_budget", -1, "`time_budget` must be >= 1"),
    ("time_budget", "fast", "`time_budget` must be a number"),
    ("test_size", 0.9, "`test_size` must be <= 0.5"),
    ("metric", "rmse", "`metric`='rmse' is not available for a binary task"),
    ("task", "ranking", "`task` must be one of"),
    ("families", ["linear", "quantum_forest"], "Unknown model family 'quantum_forest'"),
    ("families", [], "`families` is empty"),
    ("seed", 1.5, "`seed` must be an integer"),
])
def test_bad_arguments_are_named(small, argument, value, message):
    with pytest.raises(automl.InputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        fit(small, **{argument: value})


def test_regression_task_on_text_target(small):
    small["y"] = small["b"]
    with pytest.raises(automl.InputError, match="task='regression' needs a numeric target"):
        fit(small, task="regression")


def test_binary_override_with_three_classes(small):
    small["y"] = np.arange(len(small)) % 3
    with pytest.raises(automl.InputError, match="use task='multiclass'"):
        fit(small, task="binary")


def test_input_error_is_value_error():
    assert issubclass(automl.InputError, ValueError)
    assert issubclass(automl.IntegrityError, automl.InputError)
