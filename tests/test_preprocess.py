"""prepare_rows: statistics fitted on (a sample of) the training rows, rows prepared in chunks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import automl.preprocess as preprocess
from automl.data import infer_schema
from automl.errors import DataWarning


def _frame(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "amount": rng.lognormal(size=n),
        "score": rng.normal(size=n),
        "city": pd.Series(rng.choice(["oslo", "rome", "lima", "pune"], n), dtype="str"),
        "flag": pd.Series(rng.random(n) < 0.3, dtype="boolean"),
    })
    frame.loc[rng.random(n) < 0.1, "score"] = np.nan
    return frame


def test_chunks_give_the_same_matrix_as_one_pass(monkeypatch):
    frame = _frame()
    schema = infer_schema(frame)
    rows = np.random.default_rng(1).permutation(len(frame))
    train = np.sort(rows[:600])
    whole = preprocess.build_preprocessor(schema, 600).fit(frame.iloc[train]).transform(frame.iloc[rows])
    monkeypatch.setattr(preprocess, "CHUNK_ROWS", 64)
    chunked = preprocess.prepare_rows(preprocess.build_preprocessor(schema, 600), frame, rows, fit_rows=train)
    assert chunked.dtype == np.float32 and chunked.flags.c_contiguous
    np.testing.assert_array_equal(chunked, whole)


def test_statistics_come_from_a_sample_of_large_training_sets(monkeypatch):
    frame = _frame(4000)
    schema = infer_schema(frame)
    every = np.arange(len(frame))
    monkeypatch.setattr(preprocess, "FIT_ROWS", 500)
    pipeline = preprocess.build_preprocessor(schema, len(frame))
    X = preprocess.prepare_rows(pipeline, frame, every, fit_rows=every, seed=3)
    scaler = pipeline.named_steps["columns"].named_transformers_["numeric"].named_steps["scale"]
    assert scaler.n_samples_seen_.max() == 500
    # a sample's mean and spread are close to the whole column's: the prepared column is near-standard
    amount = X[:, 0]
    assert abs(amount.mean()) < 0.15 and 0.8 < amount.std() < 1.2


def test_unreadable_values_warn_once_per_column_with_the_total(monkeypatch):
    frame = _frame(400)
    schema = infer_schema(frame)
    broken = frame.assign(amount=frame["amount"].astype(object))
    broken.loc[[5, 150, 390], "amount"] = "n/a?"
    every = np.arange(len(frame))
    monkeypatch.setattr(preprocess, "CHUNK_ROWS", 100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X = preprocess.prepare_rows(preprocess.build_preprocessor(schema, 400), broken, every, fit_rows=every[:100])
    messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert messages == ["Column 'amount': 3 value(s) could not be read as numeric and were treated as missing."]
    assert np.isfinite(X).all()


def test_no_rows_gives_an_empty_matrix_of_the_right_width():
    frame = _frame(200)
    schema = infer_schema(frame)
    pipeline = preprocess.build_preprocessor(schema, 200)
    X = preprocess.prepare_rows(pipeline, frame, np.arange(0), fit_rows=np.arange(200))
    assert X.shape == (0, len(pipeline.get_feature_names_out()))


def test_schema_is_typed_on_a_sample(monkeypatch):
    from automl.data import dataset

    seen = []
    monkeypatch.setattr(dataset, "SCHEMA_ROWS", 300)
    monkeypatch.setattr(dataset, "infer_schema",
                        lambda rows, **kw: seen.append((len(rows), kw)) or infer_schema(rows, **kw))
    # a row counter without an ID-like name is still recognised from a sample of the rows
    frame = _frame(1000).assign(row=np.arange(1000) + 5000, target=np.arange(1000) % 2)
    data = dataset.make_dataset(frame, "target", "binary", test_size=0.2, val_size=0.2)
    assert seen == [(300, {"target": "target", "population": 1000})]
    assert "ID-like" in data.schema.dropped["row"]
    assert data.schema.names("numeric") == ["amount", "score"]
    assert data.schema.names("categorical") == ["city"]


def test_an_id_whose_order_follows_the_target_is_kept_and_a_shuffled_one_dropped():
    rng = np.random.default_rng(0)
    n = 600
    issued = np.arange(n) + 20_000  # IDs handed out over time; the target drifts with time
    frame = pd.DataFrame({"record_id": issued, "shuffled_id": rng.permutation(n) + 1,
                          "x": rng.normal(size=n), "year": 1990 + issued // 40 - 500 + rng.integers(0, 3, n)})
    schema = infer_schema(frame, target="year")
    roles = dict(zip(schema.to_frame()["name"], schema.to_frame()["role"]))
    reasons = schema.to_frame().set_index("name")["reason"]
    assert roles["record_id"] == "numeric" and "order follows the target" in reasons["record_id"]
    assert roles["shuffled_id"] == "dropped" and "ID-like" in reasons["shuffled_id"]


def test_a_value_or_its_absence_is_a_feature_and_lower_case_none_is_a_level():
    # NASS crash data: seatbelt is 'belted' or 'none'; a reader that took 'none' for missing left one value
    # and dropped the column as constant, losing the strongest predictor of death
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame({
        "seatbelt": pd.Series(np.where(y == 1, "none", "belted"), dtype="str"),
        "airbag": pd.Series(np.where(y == 1, "airbag", None), dtype="str"),   # one value, or missing
        "dose": np.where(y == 1, 3.0, np.nan),
        "rare": pd.Series(np.where(np.arange(n) < 2, None, "x"), dtype="str"),  # two holes: not a signal
        "noted": pd.Series(np.where(y == 1, "NA", "yes"), dtype="str"),          # pandas' NA text stays missing
        "y": y})
    table = infer_schema(frame, target="y").to_frame().set_index("name")
    assert table.loc["seatbelt", "role"] == "categorical" and table.loc["seatbelt", "n_unique"] == 2
    assert table.loc["airbag", "role"] == "categorical" and "missing rows form their own level" in table.loc[
        "airbag", "reason"]
    assert table.loc["dose", "role"] == "numeric"
    assert table.loc["rare", "role"] == "dropped" and "constant" in table.loc["rare", "reason"]
    assert table.loc["noted", "n_unique"] == 1 and table.loc["noted", "missing_fraction"] > 0.3
    schema = infer_schema(frame, target="y")
    matrix = preprocess.build_preprocessor(schema, n, task="binary").fit_transform(frame.drop(columns="y"))
    names = list(preprocess.build_preprocessor(schema, n, task="binary").fit(frame.drop(columns="y"))
                 .get_feature_names_out())
    # the presence of 'airbag' and of 'dose' reaches the matrix and separates the classes exactly
    airbag = matrix[:, names.index("categorical__airbag_airbag")]
    dose = matrix[:, names.index("numeric__missingindicator_dose")]
    for feature in (airbag, dose):  # one value on every positive row, another on every negative one
        assert len(np.unique(feature[y == 1])) == 1 and len(np.unique(feature[y == 0])) == 1
        assert feature[y == 1][0] != feature[y == 0][0]
