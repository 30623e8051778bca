"""The scikit-learn style estimators."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression

import automl


def test_auto_classifier_on_arrays():
    X, y = make_classification(200, 6, random_state=0)
    model = automl.AutoClassifier(time_budget=5, families=["linear", "gradient_boosting"])
    assert model.fit(X, y) is model
    assert list(model.classes_) == [0, 1]
    assert model.predict_proba(X[:5]).shape == (5, 2)
    assert model.score(X, y) > 0.85
    assert clone(model).get_params()["time_budget"] == 5


def test_auto_regressor_on_arrays():
    X, y = make_regression(200, 5, noise=1.0, random_state=0)
    model = automl.AutoRegressor(time_budget=5, families=["linear"]).fit(X, y)
    assert model.score(X, y) > 0.95
    assert model.leaderboard_.iloc[0]["family"] == "linear"


def test_unfitted_and_mismatched_input():
    model = automl.AutoClassifier()
    with pytest.raises(automl.InputError, match="not fitted"):
        model.predict(np.zeros((2, 2)))
    with pytest.raises(automl.InputError, match="`y` has 3 values but `X` has 2 rows"):
        model.fit(np.zeros((2, 2)), [0, 1, 0])
