"""Columns that carry signal are used: free text, date strings, many-level categoricals, pandas 3 dtypes."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import automl
import automl.preprocess as preprocess
from automl.data import infer_schema

WORDS = ("late delivery broken refund great fast friendly rude cheap price quality support package damaged "
         "excellent slow helpful return order missing").split()


def _reviews(rng, n, good):
    """Short reviews whose words depend on ``good`` (a boolean per row)."""
    positive, negative = WORDS[4:7] + ["excellent", "helpful"], ["broken", "rude", "damaged", "missing", "slow"]
    out = []
    for flag in good:
        words = list(rng.choice(WORDS, rng.integers(3, 9)))
        words += list(rng.choice(positive if flag else negative, 2))
        rng.shuffle(words)
        out.append(" ".join(words))
    return out


def _roles(frame, **kw):
    schema = infer_schema(frame, **kw)
    return {c.name: c.role for c in schema.columns}, {c.name: c.reason for c in schema.columns}


# -- schema rules ------------------------------------------------------------------------------------------------
def test_text_ids_templates_and_many_levels_are_told_apart():
    rng = np.random.default_rng(0)
    n = 2500
    titles = ["registered nurse", "teacher", "sales manager", "software engineer", "truck driver", "nurse",
              "store manager", "project manager", "office clerk", "police officer", "senior software engineer"]
    frame = pd.DataFrame({
        "review": _reviews(rng, n, rng.random(n) < 0.5),
        # short multi-word titles, many of them one-offs: text (their words are shared), not levels
        "job": [f"{rng.choice(titles)} {rng.choice(['ii', 'lead', 'assistant', ''])} {i % 97}".strip()
                if i % 3 == 0 else str(rng.choice(titles)) + f" {rng.choice(['', 'rn', 'lpn'])}" + f" unit {i}"
                for i in range(n)],
        "uuid": [f"{rng.integers(16**8):08x}-{rng.integers(16**4):04x}-4{rng.integers(16**3):03x}" for _ in range(n)],
        "invoice": [f"INV-{i:06d}" for i in range(n)],
        "template": [f"customer wrote note number {i} about the service" for i in range(n)],
        "shop": [f"shop_{v}" for v in rng.integers(0, 500, n)],
        "zone": rng.choice(["north", "south", "east"], n),
    })
    roles, reasons = _roles(frame)
    assert roles["review"] == "text" and "TF-IDF" in reasons["review"]
    assert roles["job"] == "text"
    assert roles["uuid"] == "dropped" and "ID-like" in reasons["uuid"]
    assert roles["invoice"] == "dropped" and "ID-like" in reasons["invoice"]
    assert roles["template"] == "dropped" and "free text" in reasons["template"]
    assert roles["shop"] == "categorical" and "target encoding instead of one-hot" in reasons["shop"]
    assert roles["zone"] == "categorical" and reasons["zone"].endswith("one-hot")


@pytest.mark.parametrize("values", [
    ["2021-03-04", "2020-12-31", None, "2019-07-14", "2021-01-02"],
    ["03/04/2021 10:22", "12/31/2020 23:05", "", "07/14/2019 08:00", "01/02/2021 12:30"],
    ["2021-03-04T10:22:00+02:00", "2020-12-31T23:05:00-05:00", "n/a", "2019-07-14T08:00:00Z",
     "2021-01-02T12:30:00+01:00"],
])
def test_date_strings_are_dates(values):
    frame = pd.DataFrame({"when": pd.Series(values * 20, dtype="str"), "x": np.arange(100.0) % 7})
    roles, reasons = _roles(frame)
    assert roles["when"] == "datetime" and "days since the earliest" in reasons["when"]


# -- preprocessing -----------------------------------------------------------------------------------------------
def _prepare(frame, y, task, n_train):
    schema = infer_schema(frame)
    pipeline = preprocess.build_preprocessor(schema, n_train, task=task)
    every = np.arange(len(frame))
    X = preprocess.prepare_rows(pipeline, frame, every, fit_rows=every[:n_train], y=y)
    names = [str(f) for f in pipeline.get_feature_names_out()]
    return schema, pipeline, X, names


def test_a_500_level_column_is_frequency_and_out_of_fold_target_encoded():
    rng = np.random.default_rng(1)
    n, n_train = 3000, 2000
    effect = rng.normal(size=500)
    noise_level = rng.integers(0, 500, n)
    signal_level = rng.integers(0, 500, n)
    y = (effect[signal_level] + 0.5 * rng.normal(size=n) > 0).astype(int)
    frame = pd.DataFrame({"noise": [f"n{v}" for v in noise_level], "signal": [f"s{v}" for v in signal_level],
                          "x": rng.normal(size=n)})
    schema, pipeline, X, names = _prepare(frame, y, "binary", n_train)
    assert not any(name.startswith("categorical__") for name in names), "no one-hot block"
    assert X.shape[1] == 1 + 2 + 2  # x, then a frequency and a target encoding per many-level column
    column = {name: X[:, i] for i, name in enumerate(names)}

    def corr(a, b):
        return abs(np.corrcoef(a, b)[0, 1])

    # Training rows carry their cross-fitted encodings: a pure-noise column does not look predictive...
    assert corr(column["many_levels__noise_target"][:n_train], y[:n_train]) < 0.1
    # ... whereas encoding them with the encoder that saw their own targets would leak
    refit = pipeline.transform(frame.iloc[:n_train])
    assert corr(refit[:, names.index("many_levels__noise_target")], y[:n_train]) > 0.3
    # a real signal generalises to rows the encoder never saw
    assert corr(column["many_levels__signal_target"][n_train:], y[n_train:]) > 0.4
    # the state used to find the training rows is gone: a saved pipeline transforms by value only
    encoder = pipeline.named_steps["columns"].named_transformers_["many_levels"].named_steps["encode"]
    assert encoder.oof_ is None and not encoder.use_out_of_fold
    np.testing.assert_allclose(pickle.loads(pickle.dumps(pipeline)).transform(frame.iloc[n_train:]), X[n_train:],
                               atol=1e-6)


def test_cross_fitted_rows_are_found_in_any_chunk_and_any_order(monkeypatch):
    rng = np.random.default_rng(7)
    n = 1200
    good = rng.random(n) < 0.5
    frame = pd.DataFrame({"shop": [f"s{v}" for v in rng.integers(0, 200, n)],
                          "review": _reviews(rng, n, good), "x": rng.normal(size=n)})
    y = good.astype(int)
    schema = infer_schema(frame)
    order = rng.permutation(n)  # training rows scattered among the others, as fit's train | val | test order is not
    fit_rows = np.sort(order[:700])

    def prepared():
        pipeline = preprocess.build_preprocessor(schema, 700, task="binary")
        return preprocess.prepare_rows(pipeline, frame, order, fit_rows=fit_rows, y=y)

    whole = prepared()
    monkeypatch.setattr(preprocess, "CHUNK_ROWS", 97)
    np.testing.assert_array_equal(prepared(), whole)


def test_multiclass_target_encoding_gives_one_column_per_class():
    rng = np.random.default_rng(2)
    n = 900
    level = rng.integers(0, 60, n)
    y = level % 3
    frame = pd.DataFrame({"shop": pd.Categorical([f"s{v}" for v in level]), "x": rng.normal(size=n)})
    schema, _, X, names = _prepare(frame, y, "multiclass", 600)
    assert X.shape[1] <= preprocess.estimate_width(schema, n_classes=3)  # the memory guard's bound holds
    assert [n for n in names if "shop" in n] == ["many_levels__shop_frequency"] + [
        f"many_levels__shop_target_{c}" for c in range(3)]
    target = X[600:, [names.index(f"many_levels__shop_target_{c}") for c in range(3)]]
    assert (target.argmax(axis=1) == y[600:]).mean() > 0.9
    assert "out-of-fold target encoding" in schema.columns[0].reason


def test_without_a_target_many_levels_are_one_hot_and_the_reason_says_so():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"shop": [f"s{v}" for v in rng.integers(0, 80, 800)], "x": rng.normal(size=800)})
    schema = infer_schema(frame)
    pipeline = preprocess.build_preprocessor(schema, 800)
    X = preprocess.prepare_rows(pipeline, frame, np.arange(800), fit_rows=np.arange(800))
    assert X.shape[1] <= 1 + preprocess.MAX_CATEGORIES
    assert "one-hot of the 31 most frequent levels" in schema.columns[0].reason


def test_dates_give_parts_elapsed_days_and_one_missing_indicator():
    rng = np.random.default_rng(4)
    n = 400
    stamps = pd.Timestamp("2020-01-01 00:00") + pd.to_timedelta(rng.integers(0, 700 * 24, n), unit="h")
    frame = pd.DataFrame({
        "day": pd.Series(stamps.strftime("%Y-%m-%d"), dtype="str").where(rng.random(n) > 0.1),
        "local": pd.Series(stamps).dt.tz_localize("America/New_York", ambiguous="NaT", nonexistent="NaT"),
    })
    schema, _, X, names = _prepare(frame, (rng.random(n) < 0.5).astype(int), "binary", 300)
    assert {c.name: c.role for c in schema.columns} == {"day": "datetime", "local": "datetime"}
    day = [name.split("__")[1] for name in names if name.startswith("datetime__day_")]
    assert day == ["day_year", "day_month", "day_day", "day_dayofweek", "day_dayofyear", "day_elapsed_days",
                   "day_missing"], "no hour for pure dates; one indicator, not one per part"
    assert "datetime__local_hour" in names
    # a timezone-aware column is read in UTC, as new rows from any zone will be
    parts = preprocess.DatetimeFeatures().fit(pd.DataFrame({"t": schema.coerce(frame)["local"]}))
    hours = parts.transform(pd.DataFrame({"t": schema.coerce(frame)["local"]}))[:, parts.parts_["t"].index("hour")]
    expected = frame["local"].dt.tz_convert("UTC").dt.hour.to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_array_equal(np.isnan(hours), np.isnan(expected))
    np.testing.assert_array_equal(hours[~np.isnan(hours)], expected[~np.isnan(expected)])
    elapsed = parts.transform(pd.DataFrame({"t": schema.coerce(frame)["local"]}))[:, parts.parts_["t"].index(
        "elapsed_days")]
    assert np.nanmin(elapsed) == 0.0 and 600 < np.nanmax(elapsed) < 700


def test_text_features_carry_the_words_signal():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    n, n_train = 1200, 800
    good = rng.random(n) < 0.5
    frame = pd.DataFrame({"review": pd.Series(_reviews(rng, n, good), dtype="str").where(rng.random(n) > 0.05),
                          "x": rng.normal(size=n)})
    schema, pipeline, X, names = _prepare(frame, good.astype(int), "binary", n_train)
    text = [i for i, name in enumerate(names) if name.startswith("text__review_svd")]
    assert len(text) == preprocess.text_components(n_train) == 9
    assert {"text__review_model", "text__review_words", "text__review_missing"} <= set(names)
    assert f"SVD to {len(text)} components" in dict((c.name, c.reason) for c in schema.columns)["review"]
    # the SVD components alone carry the words' signal (unsupervised, so networks and linear models get it)...
    model = LogisticRegression(max_iter=1000).fit(X[:n_train][:, text], good[:n_train])
    assert model.score(X[n_train:][:, text], good[n_train:]) > 0.75  # chance: 0.5
    # ... and so does the text's own model, cross-fitted on the training rows and honest on the others
    predicted = X[:, names.index("text__review_model")]
    for rows in (slice(0, n_train), slice(n_train, None)):
        assert ((predicted[rows] > 0) == good[rows]).mean() > 0.8


def test_text_that_does_not_predict_the_target_adds_no_svd_columns():
    rng = np.random.default_rng(8)
    n = 800
    frame = pd.DataFrame({"note": _reviews(rng, n, rng.random(n) < 0.5), "x": rng.normal(size=n)})
    y = rng.normal(size=n) + frame["x"].to_numpy()  # the words are unrelated to the target
    schema, _, X, names = _prepare(frame, y, "regression", 600)
    assert [name for name in names if name.startswith("text__")] == ["text__note_model", "text__note_words"]
    assert "too little to add SVD components" in schema.columns[0].reason
    # without a target (clustering) the same words keep their SVD directions
    unsupervised = preprocess.build_preprocessor(schema, 600)
    preprocess.prepare_rows(unsupervised, frame, np.arange(n), fit_rows=np.arange(600))
    assert any("_svd" in str(name) for name in unsupervised.get_feature_names_out())


# -- end to end --------------------------------------------------------------------------------------------------
def _pandas3_frame(n=500, seed=6):
    """Every pandas 3 dtype automl reads, with holes everywhere, and a target that needs the new features."""
    rng = np.random.default_rng(seed)
    good = rng.random(n) < 0.5
    level = rng.integers(0, 300, n)
    holes = lambda: rng.random(n) < 0.1  # noqa: E731
    frame = pd.DataFrame({
        "review": pd.Series(_reviews(rng, n, good), dtype="str"),
        "shop": pd.Series([f"shop {v}" for v in level], dtype="category"),
        "city": pd.Series(rng.choice(["oslo", "rome", "lima"], n), dtype="object"),
        "count": pd.array(rng.integers(0, 9, n), dtype="Int64"),
        "ratio": pd.array(rng.random(n), dtype="Float64"),
        "member": pd.array(rng.random(n) < 0.5, dtype="boolean"),
        "signup": pd.Series(pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"))
        .dt.strftime("%d/%m/%Y %H:%M").astype("str"),
        "seen": pd.Series(pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, n),
                                                                                 unit="min")),
    })
    for name in frame.columns:
        frame.loc[holes(), name] = None
    frame["target"] = np.where(good, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def pandas3_fit(tmp_path_factory):
    frame = _pandas3_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = automl.fit(frame, "target", time_budget=10, families=["linear"], verbose=0, seed=0)
    path = tmp_path_factory.mktemp("pandas3") / "model"
    result.save(path)
    return frame, result, automl.load(path)


def test_pandas3_dtypes_with_holes_fit_predict_save_and_load(pandas3_fit):
    frame, result, loaded = pandas3_fit
    roles = {c.name: c.role for c in result.schema.columns}
    assert roles == {"review": "text", "shop": "categorical", "city": "categorical", "count": "numeric",
                     "ratio": "numeric", "member": "boolean", "signup": "datetime", "seen": "datetime"}
    assert result.info["features"] <= preprocess.estimate_width(result.schema, n_classes=2)
    reasons = {c.name: c.reason for c in result.schema.columns}
    assert "SVD to" in reasons["review"] and "target encoding" in reasons["shop"]
    # the label lives in the words of the review: only a model that reads the text scores this well
    assert result.leaderboard.iloc[0]["test_score"] > 0.75  # chance: 0.5
    rows = frame.drop(columns=["target"]).sample(50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, again = result.predict_proba(rows), loaded.predict_proba(rows)
        assert set(result.predict(rows)) <= {"yes", "no"}
    np.testing.assert_allclose(expected.to_numpy(), again.to_numpy(), atol=1e-6)
    assert {c.name: c.reason for c in loaded.schema.columns} == reasons
    # every prepared column is traced back to the input column it comes from (explanations fold them back)
    from automl.preprocess import feature_sources

    sources = feature_sources(result.preprocessor)
    assert set(sources.values()) == set(result.schema.used)
    assert sources["text__review_model"] == "review" and sources["datetime__signup_missing"] == "signup"


def test_new_rows_with_unseen_levels_text_and_unreadable_dates_predict(pandas3_fit):
    frame, result, _ = pandas3_fit
    rows = frame.drop(columns=["target"]).head(5).copy()
    rows["shop"] = pd.Series(["never seen"] * 5, dtype="category").to_numpy()
    rows["review"] = ["completely new words here", "", None, "great", "refund"]
    rows["signup"] = ["not a date", None, "01/02/2023 10:00", "2023-02-01", ""]
    with pytest.warns(automl.DataWarning, match="'signup': 1 value"):
        proba = result.predict_proba(rows)
    assert np.isfinite(proba.to_numpy()).all() and np.allclose(proba.sum(axis=1), 1.0)
