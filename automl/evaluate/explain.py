"""Explanations as data: per-row contributions, global importance and partial dependence.

Every function returns a DataFrame on the user's own columns; figures only read them.

Contributions are SHAP values: ``base_value + sum(contributions) == model output`` for every explained
row (up to float rounding). Which output is explained, and how, depends on the model:

=======================  ====================  ==============================================================
model                    output (``auto``)     method
=======================  ====================  ==============================================================
random forest            probability / value   ``tree_path_dependent`` (exact TreeSHAP, shap.TreeExplainer)
gradient boosting,       log-odds / value      ``tree_path_dependent`` (exact TreeSHAP on the raw margin)
LightGBM, XGBoost,
CatBoost
linear                   log-odds / value      ``linear`` (exact, shap.LinearExplainer, independent features)
ensemble, bagged model   probability / value   the members' own explanations in probability, weighted as
                                               the ensemble weighs them (a bag: its k fold models, equally;
                                               exactly additive)
network, anything else   probability / value   ``permutation``: interventional Shapley values estimated by
                                               antithetic permutations over a background sample
=======================  ====================  ==============================================================

``output="probability"`` works for every classifier (gradient boosting then uses interventional
TreeSHAP, still exact); ``output="log_odds"`` for every single model. Probabilities are the model's own,
before any calibration (``result.info["calibration"]``): calibration is a monotone map of the whole
output and carries no per-column share.

Tree and linear explainers see the prepared matrix; their contributions of one-hot levels, missing-value
indicators and datetime parts are summed onto the input column they come from
(:func:`automl.preprocess.feature_sources`). The permutation estimator moves each input column's prepared
columns together, so a one-hot column is never half switched.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..data.checks import read_table
from ..errors import AutomlWarning, InputError, warn

__all__ = ["explain", "shap_importance", "partial_dependence", "OUTPUTS"]

OUTPUTS = ("auto", "probability", "log_odds", "value")
# Probabilities are clipped this far from 0 and 1 before taking log-odds.
_EPS = 1e-12
# Permutations (each also run reversed) per row for the permutation estimator.
_PERMUTATIONS = 5
# Largest matrix of masked rows the permutation estimator builds for one model call.
_STACK_BYTES = 64 * 2**20


def _require_shap():
    try:
        import shap
    except ImportError as exc:  # pragma: no cover - shap is a dependency
        raise ImportError("Explanations need the `shap` package: pip install shap") from exc
    return shap


@dataclass
class _Part:
    """One additive explainer: ``explain(X) -> contributions (n, groups, k)`` and the base values ``(k,)``."""

    method: str
    weight: float
    explain: Callable[[np.ndarray], np.ndarray]
    base: np.ndarray
    on_groups: bool  # True: columns are already the input columns; False: prepared features, to be folded


def _output_fn(predictor, task: str, space: str, classes: list[int]) -> Callable[[np.ndarray], np.ndarray]:
    """The explained output of ``predictor`` on the prepared matrix, shape (n, len(classes))."""
    if task == "regression":
        return lambda X: np.asarray(predictor.predict(X), dtype=float).reshape(len(X), 1)

    def proba(X):
        return np.asarray(predictor.predict_proba(X), dtype=float)

    if space == "probability":
        return lambda X: proba(X)[:, classes]
    if len(classes) == 1:  # binary: log-odds of the positive class
        def log_odds(X):
            p = np.clip(proba(X)[:, 1], _EPS, 1 - _EPS)
            return (np.log(p) - np.log1p(-p)).reshape(-1, 1)
        return log_odds
    # multiclass: centred log-probabilities (the softmax logits up to a per-row constant)
    def logits(X):
        lp = np.log(np.clip(proba(X), _EPS, 1.0))
        return (lp - lp.mean(axis=1, keepdims=True))[:, classes]
    return logits


def _pick(values: np.ndarray, base, classes: list[int], n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """shap's values/base values as (n, f, k) and (k,) for the explained ``classes``."""
    values = np.asarray(values, dtype=float)
    base = np.atleast_1d(np.asarray(base, dtype=float))
    if values.ndim == 2:
        values = values[:, :, None]
    if base.ndim == 2:  # per-row base values (constant for these explainers)
        base = base[0]
    if values.shape[2] > 1 and values.shape[2] == n_out:
        values, base = values[:, :, classes], base[classes]
    elif values.shape[2] == 1 and len(base) > 1:
        base = base[:1]
    return values, base


def _tree_part(predictor, task, space, classes, n_out, background, shap) -> _Part | None:
    """Exact TreeSHAP when ``predictor`` is a tree model shap knows, else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            explainer = shap.TreeExplainer(predictor)
    except Exception:  # noqa: BLE001 - shap raises many kinds for models it does not know
        return None
    native = {"log_odds": "log_odds", "probability": "probability", "raw_value": "value"}.get(
        getattr(explainer.model, "tree_output", None))
    if native == ("value" if task == "regression" else space):
        method = "tree_path_dependent"
    elif task == "binary" and space == "probability" and native == "log_odds":
        # the logistic link is not additive: interventional TreeSHAP explains the probability exactly
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                explainer = shap.TreeExplainer(predictor, data=background, feature_perturbation="interventional",
                                               model_output="probability")
        except Exception:  # noqa: BLE001
            return None
        method = "tree_interventional"
    else:
        return None

    center = task == "multiclass" and space == "log_odds"

    def run(X):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = explainer(X, check_additivity=False)
        values, base = np.asarray(out.values, dtype=float), np.asarray(out.base_values, dtype=float)
        if center:  # per-class margins -> centred logits, as _output_fn defines them
            values = values - values.mean(axis=2, keepdims=True)
            base = base - base.mean(axis=-1, keepdims=True)
        return _pick(values, base, classes, n_out)

    # the base value comes from the first call; keep it on the part
    part = _Part(method, 1.0, lambda X: run(X)[0], np.zeros(len(classes)), on_groups=False)
    part.base = run(background[:1])[1]
    return part


def _linear_part(predictor, task, space, classes, n_out, background, shap) -> _Part | None:
    """Exact contributions of a linear model in its additive space (log-odds / logits / value)."""
    if not _is_linear(predictor) or space == "probability":
        return None
    if task == "multiclass" and space == "log_odds":
        # softmax logits are defined up to a per-row constant: centre them so they match _output_fn
        coef = np.asarray(predictor.coef_, dtype=float)
        intercept = np.asarray(predictor.intercept_, dtype=float)
        coef, intercept = coef - coef.mean(axis=0), intercept - intercept.mean()
        mean = background.mean(axis=0)

        def run(X):
            return ((X - mean)[:, :, None] * coef.T[None, :, :])[:, :, classes]
        return _Part("linear", 1.0, run, (intercept + coef @ mean)[classes], on_groups=False)
    explainer = shap.LinearExplainer(predictor, background)

    def run(X):
        return _pick(explainer(X).values, explainer.expected_value, classes, n_out)[0]
    return _Part("linear", 1.0, run, np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))[:1],
                 on_groups=False)


def _permutation_part(fn, background, groups, rng) -> _Part:
    """Interventional Shapley values of ``fn`` over input-column ``groups``, by antithetic permutations.

    The estimator of shap's PermutationExplainer, with the prepared columns of each input column moved
    together. For each permutation the row's columns replace the background's one group at a time; the
    steps telescope, so ``base + sum(contributions) == fn(row)`` exactly, whatever the permutations.
    """
    base = fn(background).mean(axis=0)
    n_groups, b = len(groups), len(background)

    # permutations evaluated in one model call: as many as fit in _STACK_BYTES (one at least)
    per_order = (n_groups + 1) * b * background.shape[1] * 8
    batch = int(max(1, min(2 * _PERMUTATIONS, _STACK_BYTES // max(per_order, 1))))

    def run(X):
        out = np.zeros((len(X), n_groups, len(base)))
        for i, x in enumerate(X):
            orders = [rng.permutation(n_groups) for _ in range(_PERMUTATIONS)]
            orders += [o[::-1] for o in orders]
            for first in range(0, len(orders), batch):
                some = orders[first:first + batch]
                stack = np.empty((len(some), n_groups + 1, b, X.shape[1]), dtype=background.dtype)
                for p, order in enumerate(some):
                    current = background.copy()
                    stack[p, 0] = current
                    for step, g in enumerate(order, start=1):
                        current[:, groups[g]] = x[groups[g]]
                        stack[p, step] = current
                values = fn(stack.reshape(-1, X.shape[1])).reshape(len(some), n_groups + 1, b, -1).mean(axis=2)
                values[:, 0] = base  # the all-background state is the base, exactly
                gains = np.diff(values, axis=1)
                for p, order in enumerate(some):
                    out[i, order] += gains[p]
            out[i] /= len(orders)
        return out
    return _Part("permutation", 1.0, run, base, on_groups=True)


def _unwrap(predictor):
    """The library estimator inside automl's boosting wrapper, when it gives the same outputs (else itself)."""
    from ..models.boosting import BoostedModel

    if isinstance(predictor, BoostedModel) and not getattr(predictor, "category_blocks", None) and (
            predictor.classes is None or np.array_equal(predictor.classes, np.arange(predictor.n_classes))):
        return predictor.estimator
    return predictor


def _parts(predictor, task, space, classes, n_out, background, groups, rng, shap) -> list[_Part]:
    """Additive explainers whose weighted sum explains ``predictor`` in ``space``."""
    from .ensemble import BaggedPredictor, EnsemblePredictor

    if isinstance(predictor, (EnsemblePredictor, BaggedPredictor)) and space in ("probability", "value"):
        # the ensemble (or the bag of fold models) averages probabilities (or values): so do the members' explanations
        parts = []
        for _, member, weight in predictor.members:
            for part in _parts(member, task, space, classes, n_out, background, groups, rng, shap):
                part.weight *= float(weight)
                parts.append(part)
        return parts
    codes = _codes_part(predictor, task, space, classes, n_out, background, shap)
    if codes is not None:
        return [codes]
    for build in (_tree_part, _linear_part):
        part = build(_unwrap(predictor), task, space, classes, n_out, background, shap)
        if part is not None:
            return [part]
    return [_permutation_part(_output_fn(predictor, task, space, classes), background, groups, rng)]


def _codes_part(predictor, task, space, classes, n_out, background, shap) -> _Part | None:
    """TreeSHAP of a boosted model that reads category codes besides the matrix (None for any other model).

    The tree explainer sees what the trees read, ``predictor.features(X)``; each code's
    contribution is then added to the first column of its one-hot block, so folding the
    prepared features onto input columns gives the category all of its share.
    """
    from ..models.boosting import BoostedModel

    blocks = getattr(predictor, "category_blocks", None) if isinstance(predictor, BoostedModel) else None
    if not blocks:
        return None
    plain = BoostedModel(predictor.estimator, predictor.task, predictor.n_classes, predictor.classes, predictor.params)
    part = _tree_part(_unwrap(plain), task, space, classes, n_out, predictor.features(background), shap)
    if part is None:
        return None
    width, explain = background.shape[1], part.explain

    def run(X):
        values = explain(predictor.features(X))
        folded = values[:, :width].copy()
        for j, block in enumerate(blocks):
            folded[:, block[0]] += values[:, width + j]
        return folded
    part.explain = run
    return part


def _is_linear(predictor) -> bool:
    """A fitted scikit-learn linear model (logistic regression, ridge, ...): output = X @ coef + intercept."""
    return type(predictor).__module__.startswith("sklearn.linear_model") and hasattr(predictor, "coef_") \
        and hasattr(predictor, "intercept_")


def _auto_space(predictor, task: str) -> str:
    """Where ``predictor`` is additive: log-odds for linear and boosted classifiers, else probability."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from ..models.boosting import BoostedModel

    if task == "regression":
        return "value"
    if isinstance(predictor, BoostedModel) and getattr(predictor, "category_blocks", None):
        # _unwrap keeps a model that reads category codes wrapped (its trees read more columns than the
        # matrix); its library estimator is what says whether it is additive in log-odds
        predictor = predictor.estimator
    additive_in_log_odds = _is_linear(predictor) or isinstance(predictor, HistGradientBoostingClassifier) or \
        type(predictor).__module__.split(".")[0] in ("lightgbm", "xgboost", "catboost")
    return "log_odds" if additive_in_log_odds else "probability"


def explain(result, rows, *, model: str | None = None, output: str = "auto", max_seconds: float = 60.0,
            background: int = 100, seed: int = 0) -> pd.DataFrame:
    """Per-row contributions of each input column to the model's output (see the module notes).

    Parameters
    ----------
    result : FitResult
    rows : DataFrame or path
        Rows with the training columns (the target may be present; it is ignored).
    model : str, optional
        Leaderboard name; default the best model, as ``predict`` uses it (refit when refit).
    output : {'auto', 'probability', 'log_odds', 'value'}, default='auto'
        What is explained: the positive-class probability or log-odds (binary), every class's
        probability or centred logit (multiclass), the value (regression).
    max_seconds : float, default=60
        Time bound. When explaining every row would take longer, a random subset of the rows is
        explained (with a warning); ``attrs["rows_explained"]`` says how many.
    background : int, default=100
        Reference rows (sampled from the held-out test rows) that "absent" columns take their values
        from, for the interventional and permutation methods.
    seed : int, default=0

    Returns
    -------
    DataFrame
        One column per used input column, in the schema's order. Binary and regression: one row per
        explained row, indexed like ``rows``. Multiclass: a long frame indexed by ``(row, class)``.
        ``attrs``: ``base_value`` (float; dict by class for multiclass), ``output``, ``method``,
        ``model``, ``class`` (binary: the explained class), ``prediction`` (the explained output per
        row, same order), ``rows_requested``, ``rows_explained``, ``seconds``.

    Examples
    --------
    >>> contrib = result.explain(df.head(5))                              # doctest: +SKIP
    >>> contrib.sum(axis=1) + contrib.attrs["base_value"]                 # the explained outputs
    """
    from ..preprocess import feature_sources

    shap = _require_shap()
    if output not in OUTPUTS:
        raise InputError(f"`output`={output!r} is not one of {list(OUTPUTS)}.")
    if not (isinstance(max_seconds, (int, float)) and max_seconds > 0):
        raise InputError(f"`max_seconds` must be a positive number of seconds; got {max_seconds!r}.")
    if not (isinstance(background, (int, np.integer)) and background >= 1):
        raise InputError(f"`background` must be a positive number of rows; got {background!r}.")
    started = time.monotonic()
    fitted = result.model(model)
    task = result.task
    if task == "regression" and output in ("probability", "log_odds"):
        raise InputError(f"`output`={output!r} needs a classification result; regression explains 'value'.")
    if task != "regression" and output == "value":
        raise InputError("`output`='value' is for regression; use 'probability' or 'log_odds'.")
    frame = read_table(rows, argument="rows")
    if len(frame) == 0:
        raise InputError("`rows` is empty; pass at least one row to explain.")
    X = np.asarray(fitted.transform(frame, argument="rows"), dtype=np.float64)
    rng = np.random.default_rng(seed)
    reference = result.test.get("X") if isinstance(result.test, dict) else None
    reference = frame if reference is None or len(reference) == 0 else reference
    picked = rng.choice(len(reference), min(background, len(reference)), replace=False)
    bg = np.asarray(fitted.transform(reference.iloc[np.sort(picked)], argument="rows"), dtype=np.float64)

    columns = list(result.schema.used)
    sources = list(feature_sources(fitted.preprocessor).values())
    position = {c: i for i, c in enumerate(columns)}
    feature_group = np.array([position[s] for s in sources])
    groups = [np.flatnonzero(feature_group == g) for g in range(len(columns))]
    n_out = 1 if task == "regression" else len(result.classes)
    classes = [0] if task == "regression" else ([1] if task == "binary" else list(range(n_out)))
    space = _auto_space(_unwrap(fitted.predictor), task) if output == "auto" else output
    parts = _parts(fitted.predictor, task, space, classes, n_out, bg, groups, rng, shap)

    def contributions(Xc):
        total = np.zeros((len(Xc), len(columns), len(classes)))
        for part in parts:
            values = part.explain(Xc)
            if not part.on_groups:  # fold prepared features onto their input columns
                folded = np.zeros_like(total)
                np.add.at(folded, (slice(None), feature_group), values)
                values = folded
            total += part.weight * values
        return total

    order = rng.permutation(len(X))
    done, chunks = 0, []
    # a small first chunk measures the cost per row; later chunks grow (at most 4x) to fill what is left
    size = 1 if any(p.method == "permutation" for p in parts) else min(8, len(X))
    while done < len(X):
        tick = time.monotonic()
        chunk = order[done:done + size]
        chunks.append((chunk, contributions(X[chunk])))
        done += len(chunk)
        per_row = (time.monotonic() - tick) / len(chunk)
        # a tenth of the bound stays for predicting the explained rows; per-row cost varies between chunks
        left = 0.9 * max_seconds - (time.monotonic() - started)
        if left <= 1.5 * per_row:
            break
        size = int(max(1, min(4 * size, 0.6 * left / max(per_row, 1e-9))))
    explained = np.sort(np.concatenate([c for c, _ in chunks]))
    values = np.empty((len(X), len(columns), len(classes)))
    for chunk, v in chunks:
        values[chunk] = v
    values = values[explained]
    base = sum(p.weight * np.asarray(p.base, dtype=float) for p in parts)
    if len(explained) < len(X):
        warn(f"explain: {len(explained)} of {len(X)} rows explained within max_seconds={max_seconds:g} "
             f"(the others were left out at random); raise `max_seconds` to explain them all.",
             AutomlWarning)
    prediction = _output_fn(fitted.predictor, task, "value" if task == "regression" else space, classes)(
        X[explained])
    index = frame.index[explained]
    attrs = {"output": space, "model": fitted.name,
             "method": "+".join(sorted({p.method for p in parts})) if len(parts) > 1 else parts[0].method,
             "rows_requested": int(len(X)), "rows_explained": int(len(explained)),
             "seconds": round(time.monotonic() - started, 3)}
    if task == "multiclass":
        labels = [result.classes[k] for k in classes]
        long = values.transpose(0, 2, 1).reshape(-1, len(columns))
        out = pd.DataFrame(long, columns=columns,
                           index=pd.MultiIndex.from_product([index, labels], names=["row", "class"]))
        attrs["base_value"] = {_plain(lab): float(b) for lab, b in zip(labels, base)}
        attrs["prediction"] = [float(v) for v in prediction.ravel()]
    else:
        out = pd.DataFrame(values[:, :, 0], columns=columns, index=index)
        attrs["base_value"] = float(base[0])
        attrs["prediction"] = [float(v) for v in prediction[:, 0]]
        if task == "binary":
            attrs["class"] = _plain(result.classes[1])
    out.columns.name = "column"
    out.attrs.update(attrs)
    return out


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def shap_importance(result, *, model: str | None = None, rows: int = 500, max_seconds: float = 60.0,
                    seed: int = 0) -> pd.DataFrame:
    """Mean absolute contribution of each input column over (a sample of) the test rows.

    Returns
    -------
    DataFrame
        ``feature``, ``importance`` (mean |contribution|, in the explained output's units; averaged
        over classes for multiclass) and ``std``, largest first; ``attrs["method"]`` names the method.
    """
    X = result.test.get("X")
    if X is None or len(X) == 0:
        raise InputError("This result keeps no test rows to measure importance on; use method='permutation'.")
    rng = np.random.default_rng(seed)
    sample = X.iloc[np.sort(rng.choice(len(X), min(rows, len(X)), replace=False))]
    contrib = explain(result, sample, model=model, max_seconds=max_seconds, seed=seed)
    magnitude = contrib.abs()
    if isinstance(magnitude.index, pd.MultiIndex):
        magnitude = magnitude.groupby(level="row").mean()
    board = pd.DataFrame({"feature": list(magnitude.columns), "importance": magnitude.mean().to_numpy(),
                          "std": magnitude.std(ddof=0).to_numpy()})
    board = board.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    board.attrs.update({"method": f"shap ({contrib.attrs['method']}, mean |contribution| to the "
                                  f"{contrib.attrs['output']})", "rows": int(contrib.attrs["rows_explained"])})
    return board


class _WholePipeline:
    """Raw rows -> model output, shaped as scikit-learn's ``inspection`` module expects of an estimator."""

    def __init__(self, fitted, classes):
        self.fitted = fitted
        self.classes_ = np.asarray(classes) if classes is not None else None
        self._estimator_type = "regressor" if classes is None else "classifier"
        self.fitted_ = True

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        tags = Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=True))
        if self.classes_ is None:
            tags.regressor_tags = RegressorTags()
        else:
            tags.classifier_tags = ClassifierTags()
        return tags

    def fit(self, X, y=None):  # pragma: no cover - never refitted
        return self

    def predict(self, X):
        return self.fitted.predict(X)

    def predict_proba(self, X):
        return self.fitted.predict_proba(X).to_numpy()


def partial_dependence(result, column: str, *, model: str | None = None, grid: int = 20, rows: int = 200,
                       ice: bool = True, seed: int = 0) -> pd.DataFrame:
    """Partial dependence (PDP) and individual conditional expectation (ICE) of one input column.

    Computed by :func:`sklearn.inspection.partial_dependence` (brute force) on the whole pipeline --
    preprocessing plus model, with calibration when the result has one -- over a sample of the test rows.

    Parameters
    ----------
    result : FitResult
    column : str
        A used input column.
    model : str, optional
    grid : int, default=20
        Grid points (percentiles 5-95 of numeric columns; the levels of categorical ones).
    rows : int, default=200
        Test rows sampled for the averages and the ICE curves.
    ice : bool, default=True
        Also return one curve per sampled row.
    seed : int, default=0

    Returns
    -------
    DataFrame
        Long form: ``value`` (grid value of ``column``), ``kind`` ('average' or 'individual'), ``row``
        (position of the sampled row, -1 for the average), ``class`` (classification: the class whose
        probability is shown; binary shows the positive class only) and ``prediction``.
    """
    from sklearn.inspection import partial_dependence as sk_partial_dependence

    if column not in result.schema.used:
        raise InputError(f"`column`={column!r} is not a used input column; choose one of "
                         f"{list(result.schema.used)[:20]}.")
    role = {d.name: d.role for d in result.schema.columns}.get(column)
    if role == "datetime":
        raise InputError(f"`column`={column!r} is a datetime column; partial dependence needs a numeric, "
                         "boolean or categorical column.")
    X = result.test.get("X")
    if X is None or len(X) == 0:
        raise InputError("This result keeps no test rows to compute partial dependence on.")
    rng = np.random.default_rng(seed)
    sample = X.iloc[np.sort(rng.choice(len(X), min(rows, len(X)), replace=False))].reset_index(drop=True)
    sample = sample[list(result.schema.used)]
    categorical = role in ("categorical", "boolean") or not pd.api.types.is_numeric_dtype(sample[column])
    # the grid comes from the sample's values of the column: give scikit-learn values it can sort
    if categorical:
        values = sample[column].astype(object)
        if values.isna().any():
            # a missing level is the preprocessor's "(missing)" level; a boolean's missing value is just dropped
            fill = "(missing)" if role != "boolean" else values.mode(dropna=True).iloc[0]
            values = values.where(values.notna(), fill)
        sample[column] = values.map(lambda v: v if isinstance(v, (bool, np.bool_)) else str(v)) \
            if role != "boolean" else values
    else:  # integers would be rounded on a float grid
        sample[column] = pd.to_numeric(sample[column], errors="coerce").astype(float)
    estimator = _WholePipeline(result.model(model), None if result.task == "regression" else result.classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bunch = sk_partial_dependence(
            estimator, sample, [column], categorical_features=[column] if categorical else None,
            grid_resolution=grid, percentiles=(0.05, 0.95), kind="both" if ice else "average", method="brute",
            response_method="auto")
    values = bunch["grid_values"][0]
    average = np.asarray(bunch["average"])  # (n_outputs, n_grid)
    labels = [None] if result.task == "regression" else (
        [result.classes[1]] if result.task == "binary" else list(result.classes))
    frames = []
    for k, label in enumerate(labels):
        frames.append(pd.DataFrame({"value": values, "kind": "average", "row": -1, "class": label,
                                    "prediction": average[k]}))
        if ice:
            individual = np.asarray(bunch["individual"])[k]  # (n_rows, n_grid)
            n_rows = individual.shape[0]
            frames.append(pd.DataFrame({"value": np.tile(values, n_rows), "kind": "individual",
                                        "row": np.repeat(np.arange(n_rows), len(values)), "class": label,
                                        "prediction": individual.ravel()}))
    out = pd.concat(frames, ignore_index=True)
    if result.task == "regression":
        out = out.drop(columns="class")
    out.attrs.update({"column": column, "model": estimator.fitted.name, "rows": int(len(sample))})
    return out
