"""Predict-time drift: new rows that differ from the training rows, handled as documented
in docs/reliability.md (missing, reordered, extra columns; new levels; wrong dtypes)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import automl
from automl.errors import AutomlWarning, DataWarning, InputError


@pytest.fixture(scope="module")
def fitted(messy_df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AutomlWarning)
        result = automl.fit(messy_df, "target", families=["linear", "gradient_boosting"], time_budget=3, verbose=0)
    return result, messy_df.drop(columns=["target"]).iloc[:60].reset_index(drop=True)


def predict_quietly(result, rows):
    """Predictions and probabilities, failing on any automl warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutomlWarning)
        return result.predict(rows), result.predict_proba(rows).to_numpy()


def assert_same(result, rows, other):
    pred, proba = predict_quietly(result, rows)
    other_pred, other_proba = predict_quietly(result, other)
    assert list(pred) == list(other_pred)
    np.testing.assert_allclose(proba, other_proba, atol=1e-6)


def test_schema_uses_every_kind_of_column(fitted):
    result, _ = fitted
    roles = dict(zip(result.schema.to_frame()["name"], result.schema.to_frame()["role"]))
    assert {roles["age"], roles["city"], roles["member"], roles["signup"]} == {
        "numeric", "categorical", "boolean", "datetime"}
    assert roles["customer_id"] == "dropped"


def test_missing_column_is_named(fitted):
    result, rows = fitted
    with pytest.raises(InputError, match=r"missing column\(s\) \['income', 'city'\].*NaN is accepted"):
        result.predict(rows.drop(columns=["income", "city"]))


def test_missing_dropped_column_is_fine(fitted):
    result, rows = fitted
    assert "customer_id" not in result.schema.used
    assert_same(result, rows, rows.drop(columns=["customer_id", "notes"]))


def test_reordered_columns_give_the_same_predictions(fitted):
    result, rows = fitted
    assert_same(result, rows, rows[list(reversed(rows.columns))])


def test_extra_columns_warn_and_are_ignored(fitted):
    result, rows = fitted
    extra = rows.assign(brand_new=1.0, another="x")
    with pytest.warns(DataWarning, match=r"Ignoring column\(s\) \['brand_new', 'another'\]"):
        pred = result.predict(extra)
    assert list(pred) == list(result.predict(rows))


def test_target_column_may_be_passed_along(fitted, messy_df):
    result, rows = fitted
    assert_same(result, rows, messy_df.iloc[:60].reset_index(drop=True))


def test_new_category_levels_do_not_crash(fitted):
    result, rows = fitted
    drifted = rows.assign(city="Atlantis", plan=pd.Categorical(["platinum"] * len(rows)))
    pred, proba = predict_quietly(result, drifted)
    assert len(pred) == len(rows) and set(pred) <= set(result.classes)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1)


def test_strings_in_a_numeric_column_become_missing_with_a_warning(fitted):
    result, rows = fitted
    drifted = rows.astype({"income": object})
    drifted.loc[[0, 3, 7], "income"] = ["unknown", "lots", "12k"]
    with pytest.warns(DataWarning, match=r"Column 'income': 3 value\(s\) could not be read as numeric"):
        pred = result.predict(drifted)
    expected = rows.copy()
    expected.loc[[0, 3, 7], "income"] = np.nan
    assert list(pred) == list(result.predict(expected))


def test_numbers_as_text_read_like_numbers(fitted):
    result, rows = fitted
    as_text = rows.assign(age=rows["age"].map(lambda v: "" if pd.isna(v) else f" {v!r} "),
                          visits=rows["visits"].astype(str))
    assert_same(result, rows, as_text)


def test_every_column_as_text_reads_like_the_original(fitted):
    result, rows = fitted
    assert_same(result, rows, rows.astype(str))


def test_booleans_as_words_read_like_booleans(fitted):
    result, rows = fitted
    words = rows["member"].map({True: "yes", False: "no"}).astype(object)
    assert_same(result, rows, rows.assign(member=words))


def test_timezone_aware_and_text_dates_read_like_naive_utc(fitted):
    result, rows = fitted
    aware = rows.assign(signup=rows["signup"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo"))
    assert_same(result, rows, aware)
    assert_same(result, rows, rows.assign(signup=rows["signup"].dt.strftime("%Y-%m-%dT%H:%M:%S")))


def test_csv_round_trip_gives_the_same_predictions(fitted, tmp_path):
    result, rows = fitted
    path = tmp_path / "new rows.csv"
    rows.to_csv(path, index=False)
    assert_same(result, rows, path)


def test_unreadable_dates_become_missing_with_a_warning(fitted):
    result, rows = fitted
    drifted = rows.astype({"signup": object})
    drifted.loc[[1, 2], "signup"] = ["not a date", "soon"]
    with pytest.warns(DataWarning, match=r"Column 'signup': 2 value\(s\) could not be read as datetime"):
        assert len(result.predict(drifted)) == len(rows)


def test_rows_with_every_value_missing_get_predictions(fitted):
    result, rows = fitted
    empty = pd.DataFrame({c: [np.nan] * 5 for c in rows.columns})
    pred, proba = predict_quietly(result, empty)
    assert len(pred) == 5 and set(pred) <= set(result.classes)
    assert np.allclose(proba.sum(axis=1), 1)


def test_categorical_column_given_numbers(fitted):
    result, rows = fitted
    pred, _ = predict_quietly(result, rows.assign(city=np.arange(len(rows))))
    assert len(pred) == len(rows)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((3, 3)), "must be a pandas DataFrame"),
    (pd.DataFrame(), "has no columns"),
    ("no_such_file.csv", "does not exist"),
])
def test_unusable_input_is_an_input_error(fitted, bad, message):
    result, _ = fitted
    with pytest.raises(InputError, match=message):
        result.predict(bad)


def test_zero_rows_is_an_input_error(fitted):
    result, rows = fitted
    with pytest.raises(InputError, match=r"empty \(0 rows\)"):
        result.predict(rows.iloc[:0])


def test_duplicate_column_names_are_an_input_error(fitted):
    result, rows = fitted
    doubled = pd.concat([rows, rows[["age"]]], axis=1)
    with pytest.raises(InputError, match=r"duplicate column names \['age'\]"):
        result.predict(doubled)


def test_drift_survives_save_and_load(fitted, tmp_path):
    result, rows = fitted
    result.save(tmp_path / "m")
    loaded = automl.load(tmp_path / "m")
    assert_same(loaded, rows, rows[list(reversed(rows.columns))].astype(str))
    with pytest.raises(InputError, match="'city'"):
        loaded.predict(rows.drop(columns=["city"]))
